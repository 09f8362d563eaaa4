"""Stress from breathing: labelled respiration windows derived from Stress-Predict's E4 BVP.

No labelled data set here has a respiration belt. The E4's BVP carries the breathing's modulation of
the pulse, so :func:`pipeline.ppg_resp.bvp_resp_offline` turns each recording's BVP into a breathing
waveform at :data:`RESP_FS_HZ`, and the *live* RESP path windows it (``pipeline.stream.stream_offline``
with ``default_config("resp", ...)``: the 0.05-1 Hz causal filter, 60 s windows every 5 s, the
``RESP_*`` features of ``pipeline.features.resp`` and the RESP quality of ``pipeline.quality``). A head
trained on these windows reads a belt's RESP windows live (same feature names; rates in breaths/min and
variability in ms are the same quantities; the amplitude's units differ, which the personal baseline's
z-score removes). What is measured is the PPG-derived path; the belt path is not evaluated on labelled data.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import sosfilt

from models import stress_data as sd

log = logging.getLogger(__name__)

#: rate of the derived respiration waveform (Hz); the live RESP path accepts any rate >= 5 Hz
RESP_FS_HZ = 8.0
#: bump when the derivation or the RESP quality changes (part of the window cache's key)
DERIVATION_VERSION = "1"
#: what the card says about where its training windows came from
DERIVATION = (
    "PPG-derived respiration: per E4 BVP beat the pulse rate (RIFV) and pulse amplitude (RIAV), "
    f"interpolated to {RESP_FS_HZ:g} Hz, z(rate) - z(amplitude) (pipeline.ppg_resp.bvp_resp_offline); "
    "then the live RESP path: pipeline.stream default_config('resp') (0.05-1 Hz causal band-pass, 60 s windows "
    "every 5 s), pipeline.features.resp, pipeline.quality"
)


def resp_spec() -> Any:
    """The respiration head's input: the ``RESP_*`` features and the stress models' personal baseline."""
    from models.preprocess import PreprocessSpec
    from models.stress import DEFAULT_BASELINES
    from pipeline.features import feature_names

    return PreprocessSpec(feature_names("resp"), DEFAULT_BASELINES)


def derived_resp_signal(rec: sd.Recording) -> tuple[int, np.ndarray]:
    """``(t0_ns, waveform (n,))`` of one recording's PPG-derived respiration at :data:`RESP_FS_HZ`.

    The BVP is band-passed with the live stream's causal BVP filter and its beats found with the live
    detector (``pipeline.features.bvp.bvp_peaks``) over the whole recording.
    """
    from pipeline.features.bvp import bvp_peaks
    from pipeline.filters import default_filter_config, design_sos
    from pipeline.ppg_resp import bvp_resp_offline

    t0_ns, fs_hz, x = rec.signals["bvp"]
    sos = design_sos(default_filter_config("bvp", fs_hz))
    bvp = np.asarray(sosfilt(sos, x[0]) if sos is not None else x[0], dtype=np.float64)
    peaks = bvp_peaks(bvp, fs_hz)
    return t0_ns, bvp_resp_offline(bvp, peaks if peaks is not None else np.zeros(0, np.int64), fs_hz, RESP_FS_HZ)


def resp_subject_windows(rec: sd.Recording) -> sd.SubjectWindows:
    """One subject's derived-respiration windows from the live RESP path, as :class:`SubjectWindows`.

    ``quality`` has one column (RESP); ``raw`` is a (W, 4, 1) zero placeholder (no raw-window model here).
    """
    from pipeline.stream import default_config, stream_offline

    t0_ns, y = derived_resp_signal(rec)
    ws = stream_offline(default_config("resp", RESP_FS_HZ), t0_ns, y[None, :])
    return sd.SubjectWindows(
        subject=rec.subject,
        end_ns=np.asarray([w.end_ns for w in ws], np.int64),
        start_ns=np.asarray([w.start_ns for w in ws], np.int64),
        features=[dict(w.features) for w in ws],
        quality=np.asarray([[w.quality] for w in ws], np.float64).reshape(len(ws), 1),
        raw=np.zeros((len(ws), len(sd.RAW_CHANNELS), 1), np.float32),
    )


def load_resp_windows(
    data_dir: Path, subjects: Sequence[int], cache_dir: Path | None = None, progress: bool = True
) -> dict[int, sd.SubjectWindows]:
    """Derived-respiration windows of every subject, cached per FEATURE_VERSION and derivation version."""
    from tqdm.auto import tqdm

    from pipeline.features import FEATURE_VERSION

    out: dict[int, sd.SubjectWindows] = {}
    for s in tqdm(subjects, desc="PPG-derived respiration windows", disable=not progress):
        key = f"resp_S{s:02d}_f{FEATURE_VERSION}_d{DERIVATION_VERSION}.pkl"
        path = None if cache_dir is None else Path(cache_dir) / key
        if path is not None and path.is_file():
            with path.open("rb") as fh:
                out[s] = pickle.load(fh)  # noqa: S301 - our own cache file
            continue
        out[s] = resp_subject_windows(sd.load_recording(data_dir, s))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                pickle.dump(out[s], fh)
    return out


def resp_arrays(
    data_dir: Path, cache_dir: Path | None, subjects: list[int] | None = None, progress: bool = True
) -> tuple[Any, dict[int, sd.SubjectWindows], dict[int, Any]]:
    """Spec, derived-respiration windows and labels of the labelled subjects (as ``build.stress_arrays``)."""
    subs = subjects or sd.labelled_subjects(data_dir)
    return resp_spec(), load_resp_windows(data_dir, subs, cache_dir, progress), sd.load_labels(data_dir)


def window_summary(windows: dict[int, sd.SubjectWindows]) -> dict[str, Any]:
    """What the derived windows look like: count, quality and breathing rate (for the card)."""
    q = np.concatenate([w.quality[:, 0] for w in windows.values()])
    rate = np.asarray([f.get("RESP_Rate_Mean", np.nan) for w in windows.values() for f in w.features])
    return {
        "n_windows": int(q.shape[0]),
        "quality_mean": round(float(q.mean()), 3),
        "quality_share_below_0_5": round(float(np.mean(q < 0.5)), 3),
        "rate_bpm_median": round(float(np.nanmedian(rate)), 2),
        "rate_missing_share": round(float(np.mean(~np.isfinite(rate))), 3),
    }
