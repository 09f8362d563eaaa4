"""Stress-Predict (Empatica E4) data: recordings, per-second labels and windows for training.

Windows and their features come from the *same* code the live worker runs
(:func:`pipeline.stream.stream_offline` per modality), passed in as a ``windower``
callable so that training can never drift from production.  Per-subject personal
baselines (:mod:`pipeline.baseline`) are applied afterwards in time order, exactly as
the live worker does.

Labels: task ``stress_binary`` (0 non-stress, 1 stress) is the majority of the labelled
seconds inside a window; task ``phase`` numbers the three stress runs of each subject in
time order (1 Stroop, 2 interview, 3 hyperventilation; 0 non-stress), as documented in
the data set's PROVENANCE.md.  No window ever carries its time or position as a feature.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from models.exceptions import DataNotFoundError

log = logging.getLogger(__name__)

#: E4 files used as modalities -> (file name, scale applied to raw values)
E4_FILES: dict[str, tuple[str, float]] = {
    "eda": ("EDA.csv", 1.0),
    "bvp": ("BVP.csv", 1.0),
    "temp": ("TEMP.csv", 1.0),
    "acc": ("ACC.csv", 1.0 / 64.0),  # E4 ACC is in 1/64 g -> g
}
STRESS_MODALITIES: tuple[str, ...] = tuple(E4_FILES)
PHASE_CLASSES: tuple[str, ...] = ("non-stress", "stroop", "interview", "hyperventilation")
BINARY_CLASSES: tuple[str, ...] = ("non-stress", "stress")
#: raw-window network input: common rate and channel order
RAW_FS_HZ = 4.0
RAW_CHANNELS: tuple[str, ...] = ("eda", "temp", "bvp_rms", "acc_mag")


class WindowLike(Protocol):
    """What the windower returns (``pipeline.stream.Window`` satisfies it)."""

    start_ns: int
    end_ns: int
    fs_hz: float
    samples: NDArray[np.float64]
    quality: float
    features: dict[str, float]


Windower = Callable[[str, float, int, NDArray[np.float64]], Sequence[WindowLike]]


@dataclass(frozen=True)
class Recording:
    """One subject's E4 signals: modality -> (t0_ns, fs_hz, samples (channels, n))."""

    subject: int
    signals: dict[str, tuple[int, float, NDArray[np.float64]]]


@dataclass(frozen=True)
class SubjectWindows:
    """Aligned multimodal windows of one subject, in time order.

    Attributes
    ----------
    subject : int
    end_ns : ndarray int64, shape (W,)
        Window end times (used only for labels and the start-cut leak check, never as input).
    features : list of dict
        Union of every modality's window features, one dict per window.
    quality : ndarray float64, shape (W, M)
        Per-modality quality in 0..1 (0 where the modality has no window).
    raw : ndarray float32, shape (W, len(RAW_CHANNELS), T)
        Causally filtered signals at ``RAW_FS_HZ`` for the raw-window networks.
    """

    subject: int
    end_ns: NDArray[np.int64]
    start_ns: NDArray[np.int64]
    features: list[dict[str, float]]
    quality: NDArray[np.float64]
    raw: NDArray[np.float32]


def read_e4_csv(text: str) -> tuple[float, float, NDArray[np.float64]]:
    """Parse an E4 CSV export: row 1 start (unix s), row 2 rate (Hz), then samples.

    Returns
    -------
    t0_s, fs_hz, samples : float, float, ndarray shape (channels, n)
    """
    lines = text.splitlines()
    t0_s = float(lines[0].split(",")[0])
    fs_hz = float(lines[1].split(",")[0])
    body = np.loadtxt(lines[2:], delimiter=",", ndmin=2, dtype=np.float64)
    return t0_s, fs_hz, np.ascontiguousarray(body.T)


def stress_dir(data_dir: Path) -> Path:
    """``<data_dir>/stress-predict``, or :class:`DataNotFoundError`."""
    d = Path(data_dir) / "stress-predict"
    if not (d / "Raw_data").is_dir():
        msg = (
            f"Stress-Predict data not found at {d}: set EMOPIPE_DATA_DIR (or --data-dir) to the folder that "
            "holds stress-predict/, not to stress-predict/ itself"
        )
        raise DataNotFoundError(msg)
    return d


def load_recording(data_dir: Path, subject: int) -> Recording:
    """Read the four E4 modalities of subject ``subject`` (e.g. 2 for ``S02``)."""
    sdir = stress_dir(data_dir) / "Raw_data" / f"S{subject:02d}"
    signals: dict[str, tuple[int, float, NDArray[np.float64]]] = {}
    for modality, (fname, scale) in E4_FILES.items():
        t0_s, fs_hz, x = read_e4_csv((sdir / fname).read_text())
        signals[modality] = (round(t0_s * 1e9), fs_hz, x * scale)
    return Recording(subject, signals)


def load_labels(data_dir: Path) -> dict[int, tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]]:
    """Per-second labels: subject -> (unix seconds, binary label, phase label)."""
    import pandas as pd

    path = stress_dir(data_dir) / "Processed_data" / "Improved_All_Combined_hr_rsp_binary.csv"
    df = pd.read_csv(path, usecols=["Participant", "Time(sec)", "Label"])
    out = {}
    for subject, g in df.groupby("Participant"):
        g = g.sort_values("Time(sec)")
        t = g["Time(sec)"].to_numpy(np.int64)
        y = g["Label"].to_numpy(np.int64)
        out[int(subject)] = (t, y, phase_from_binary(y))
    return out


def phase_from_binary(y: NDArray[np.int64]) -> NDArray[np.int64]:
    """Number the stress runs of a per-second 0/1 label sequence: k-th run -> k (max 3)."""
    onsets = np.r_[int(y[0] == 1), (np.diff(y) == 1).astype(np.int64)]
    run = np.cumsum(onsets)
    return np.where(y == 1, np.minimum(run, 3), 0).astype(np.int64)


def labelled_subjects(data_dir: Path) -> list[int]:
    """Subjects with both raw data and per-second labels (27 of 28)."""
    raw = {int(p.name[1:]) for p in (stress_dir(data_dir) / "Raw_data").glob("S[0-9][0-9]")}
    return sorted(raw & set(load_labels(data_dir)))


def window_labels(
    start_ns: NDArray[np.int64], end_ns: NDArray[np.int64], t_s: NDArray[np.int64], y: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Majority label of the labelled seconds in each window; -1 where none is labelled."""
    t_ns = t_s * 1_000_000_000
    lo = np.searchsorted(t_ns, start_ns, side="left")
    hi = np.searchsorted(t_ns, end_ns, side="left")
    out = np.full(len(start_ns), -1, dtype=np.int64)
    n_cls = int(y.max()) + 1
    csum = np.vstack([np.zeros((1, n_cls), np.int64), np.cumsum(np.eye(n_cls, dtype=np.int64)[y], axis=0)])
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        if b - a >= 0.5 * (end_ns[i] - start_ns[i]) / 1e9:
            out[i] = int(np.argmax(csum[b] - csum[a]))
    return out


def _raw_channel(modality: str, w: WindowLike, n_out: int) -> list[NDArray[np.float64]]:
    """Resample one modality's filtered window to ``n_out`` samples (block mean / rms)."""
    x = np.asarray(w.samples, dtype=np.float64)

    def blocks(v: NDArray[np.float64], fn: Callable[[NDArray[np.float64]], Any]) -> NDArray[np.float64]:
        usable = (len(v) // n_out) * n_out
        if usable == 0:
            return np.full(n_out, np.nan)
        return np.asarray(fn(v[-usable:].reshape(n_out, -1)), dtype=np.float64)

    if modality == "bvp":
        return [blocks(x[0], lambda b: np.sqrt(np.mean(b * b, axis=1)))]
    if modality == "acc":
        mag = np.sqrt(np.sum(x * x, axis=0))
        return [blocks(mag, lambda b: np.mean(b, axis=1))]
    return [blocks(x[0], lambda b: np.mean(b, axis=1))]


def build_subject_windows(rec: Recording, windower: Windower) -> SubjectWindows:
    """Window every modality with ``windower`` and align the windows on their end time."""
    per_mod: dict[str, dict[int, WindowLike]] = {}
    for modality in STRESS_MODALITIES:
        t0_ns, fs_hz, x = rec.signals[modality]
        per_mod[modality] = {int(w.end_ns): w for w in windower(modality, fs_hz, t0_ns, x)}
    ends = sorted(set().union(*[set(d) for d in per_mod.values()]))
    eda_any = next(iter(per_mod["eda"].values()))
    win_s = (eda_any.end_ns - eda_any.start_ns) / 1e9
    n_raw = round(win_s * RAW_FS_HZ)
    feats: list[dict[str, float]] = []
    qual = np.zeros((len(ends), len(STRESS_MODALITIES)))
    raw = np.full((len(ends), len(RAW_CHANNELS), n_raw), np.nan, dtype=np.float32)
    starts = np.zeros(len(ends), dtype=np.int64)
    for i, e in enumerate(ends):
        row: dict[str, float] = {}
        chans: dict[str, NDArray[np.float64]] = {}
        for j, modality in enumerate(STRESS_MODALITIES):
            w = per_mod[modality].get(e)
            if w is None:
                continue
            row.update(w.features)
            qual[i, j] = float(w.quality)
            starts[i] = int(w.start_ns)
            key = {"bvp": "bvp_rms", "acc": "acc_mag"}.get(modality, modality)
            chans[key] = _raw_channel(modality, w, n_raw)[0]
        feats.append(row)
        for c, name in enumerate(RAW_CHANNELS):
            if name in chans:
                raw[i, c] = chans[name]
    return SubjectWindows(rec.subject, np.asarray(ends, np.int64), starts, feats, qual, raw)


def pipeline_windower(modality: str, fs_hz: float, t0_ns: int, samples: NDArray[np.float64]) -> list[WindowLike]:
    """The live worker's windowing: ``pipeline.stream.stream_offline`` with ``default_config``."""
    from pipeline.stream import default_config, stream_offline

    return list(stream_offline(default_config(modality, fs_hz), t0_ns, samples))  # type: ignore[arg-type]


def load_all_windows(
    data_dir: Path, subjects: Sequence[int], cache_dir: Path | None = None, progress: bool = True
) -> dict[int, SubjectWindows]:
    """Windows of every subject via :func:`pipeline_windower`, cached per FEATURE_VERSION in ``cache_dir``."""
    import pickle

    from tqdm.auto import tqdm

    from pipeline.features import FEATURE_VERSION

    out: dict[int, SubjectWindows] = {}
    for s in tqdm(subjects, desc="windows (pipeline.stream)", disable=not progress):
        path = None if cache_dir is None else Path(cache_dir) / f"stress_S{s:02d}_f{FEATURE_VERSION}.pkl"
        if path is not None and path.is_file():
            with path.open("rb") as fh:
                out[s] = pickle.load(fh)  # noqa: S301 - our own cache file
            continue
        out[s] = build_subject_windows(load_recording(data_dir, s), pipeline_windower)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                pickle.dump(out[s], fh)
    return out


def write_label_csv(data_dir: Path, subjects: Sequence[int], path: Path, task: str = "stress_binary") -> int:
    """Write Stress-Predict's per-second labels of ``subjects`` as an emopipe label CSV ``subject,t_s,label``.

    ``subject`` is the recording folder name (``S02``), ``label`` the class name of ``task``
    (:data:`BINARY_CLASSES` or :data:`PHASE_CLASSES`). Returns the number of rows written.
    """
    import csv

    classes = BINARY_CLASSES if task == "stress_binary" else PHASE_CLASSES
    labels = load_labels(data_dir)
    n = 0
    with Path(path).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "t_s", "label"])
        for s in subjects:
            if s not in labels:
                msg = f"Stress-Predict subject {s} has no per-second labels"
                raise DataNotFoundError(msg)
            t, y_bin, y_phase = labels[s]
            y = y_bin if task == "stress_binary" else y_phase
            for ti, yi in zip(t.tolist(), y.tolist(), strict=True):
                w.writerow([f"S{s:02d}", ti, classes[yi]])
                n += 1
    return n


def replace_modality(sw: SubjectWindows, modality: str, windows: Sequence[WindowLike]) -> SubjectWindows:
    """``sw`` with one modality's features, quality and raw channel taken from ``windows`` instead.

    Windows are matched on their end time; a window end of ``sw`` without a new window loses that
    modality (no features, quality 0), as on a live stream that delivered nothing for it.
    """
    j = STRESS_MODALITIES.index(modality)
    by_end = {int(w.end_ns): w for w in windows}
    prefix = modality.upper() + "_"
    feats: list[dict[str, float]] = []
    qual = sw.quality.copy()
    raw = sw.raw.copy()
    key = {"bvp": "bvp_rms", "acc": "acc_mag"}.get(modality, modality)
    c = RAW_CHANNELS.index(key)
    for i, e in enumerate(sw.end_ns):
        row = {k: v for k, v in sw.features[i].items() if not k.startswith(prefix)}
        w = by_end.get(int(e))
        raw[i, c] = np.nan
        qual[i, j] = 0.0
        if w is not None:
            row.update(w.features)
            qual[i, j] = float(w.quality)
            raw[i, c] = _raw_channel(modality, w, raw.shape[2])[0]
        feats.append(row)
    return SubjectWindows(sw.subject, sw.end_ns, sw.start_ns, feats, qual, raw)
