"""BVP (PPG) window features: heart rate, HRV and pulse amplitude.

Adaptation of NeuroKit: ``nk.ppg_process`` cleans with a zero-phase Butterworth (``filtfilt``), which
cannot run live. The stream path filters causally (0.5-8 Hz, the same band as NeuroKit's "elgendi"
cleaning) and this module calls ``nk.ppg_findpeaks(method="elgendi")`` on the already-filtered
window. The causal filter delays the waveform by a near-constant group delay, so beat-to-beat
intervals (and hence HR/HRV) are unaffected.
"""

from __future__ import annotations

import neurokit2 as nk
import numpy as np
from numpy.typing import NDArray

from pipeline.features._common import FloatArray, safe_call
from pipeline.features.cardiac import cardiac_features, cardiac_names

NAMES: tuple[str, ...] = (*cardiac_names("BVP"), "BVP_PeakAmp_Mean", "BVP_PeakAmp_Std")


def bvp_peaks(x: FloatArray, fs_hz: float) -> NDArray[np.int64] | None:
    """Systolic peak indices of one filtered BVP window ``x`` (shape ``(n,)``), or None on failure."""
    info = safe_call(lambda: nk.ppg_findpeaks(x, sampling_rate=fs_hz, method="elgendi"), "ppg_findpeaks")
    if info is None:
        return None
    return np.asarray(info["PPG_Peaks"], dtype=np.int64)


def bvp_features(
    samples: FloatArray, fs_hz: float, channels: tuple[str, ...], peaks: NDArray[np.int64] | None = None
) -> dict[str, float]:
    """Features of one filtered BVP window ``samples`` (shape ``(1, n)``, E4 units), keys :data:`NAMES`."""
    del channels
    x = samples[0]
    if peaks is None:
        peaks = bvp_peaks(x, fs_hz)
    if peaks is None:
        peaks = np.zeros(0, dtype=np.int64)
    out = cardiac_features("BVP", peaks, fs_hz, x.shape[0] / fs_hz)
    amp = x[peaks] if peaks.shape[0] else np.zeros(0)
    out["BVP_PeakAmp_Mean"] = float(amp.mean()) if amp.shape[0] else float("nan")
    out["BVP_PeakAmp_Std"] = float(amp.std()) if amp.shape[0] else float("nan")
    return out
