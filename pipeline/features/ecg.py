"""ECG window features: heart rate and HRV from R peaks.

Adaptation of NeuroKit: ``nk.ecg_process`` cleans with a zero-phase filter; the stream path filters
causally (0.5-40 Hz) and this module calls ``nk.ecg_peaks(method="neurokit")`` on the
already-filtered window (its QRS detector works on gradients, unaffected by the causal filter's
near-constant delay), so R-R intervals match NeuroKit's offline ones.
"""

from __future__ import annotations

import neurokit2 as nk
import numpy as np
from numpy.typing import NDArray

from pipeline.features._common import FloatArray, safe_call
from pipeline.features.cardiac import cardiac_features, cardiac_names

NAMES: tuple[str, ...] = cardiac_names("ECG")


def ecg_peaks(x: FloatArray, fs_hz: float) -> NDArray[np.int64] | None:
    """R-peak indices of one filtered ECG window ``x`` (shape ``(n,)``), or None on failure."""
    res = safe_call(lambda: nk.ecg_peaks(x, sampling_rate=fs_hz, method="neurokit"), "ecg_peaks")
    if res is None:
        return None
    return np.asarray(res[1]["ECG_R_Peaks"], dtype=np.int64)


def ecg_features(
    samples: FloatArray, fs_hz: float, channels: tuple[str, ...], peaks: NDArray[np.int64] | None = None
) -> dict[str, float]:
    """Features of one filtered ECG window ``samples`` (shape ``(1, n)``), keys :data:`NAMES`."""
    del channels
    x = samples[0]
    if peaks is None:
        peaks = ecg_peaks(x, fs_hz)
    if peaks is None:
        peaks = np.zeros(0, dtype=np.int64)
    return cardiac_features("ECG", peaks, fs_hz, x.shape[0] / fs_hz)
