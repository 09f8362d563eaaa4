"""EDA window features: level, tonic level and slope, phasic skin-conductance responses (SCR).

Decomposition (documented adaptation of NeuroKit's "highpass" ``eda_phasic``, which is zero-phase):
the tonic component is a causal 2nd-order Butterworth low-pass at 0.05 Hz run over the window and
started in steady state at the window's first sample; phasic = signal - tonic. This is causal within
the window and works at the E4's 4 Hz. SCRs follow NeuroKit's "neurokit" method (peak of the phasic
component, onset = preceding trough, amplitude = peak - onset) reimplemented with
``scipy.signal.find_peaks``: ``nk.eda_peaks`` costs ~75 ms per 60-s window on real E4 data (pandas
look-ups), 100x the rest of the window. NeuroKit's threshold is relative to the window's largest
response; we use an absolute amplitude of at least ``SCR_MIN_AMPLITUDE_US`` (0.01 uS, the usual SCR
criterion) so that a quiet window does not count noise wiggles as responses.
Units: uS for levels and amplitudes, uS/s for slopes, s for rise times, responses per minute for rate.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from pipeline.features._common import FloatArray, slope_per_s, stats

TONIC_CUTOFF_HZ = 0.05
SCR_MIN_AMPLITUDE_US = 0.01

NAMES: tuple[str, ...] = (
    "EDA_Mean",
    "EDA_Std",
    "EDA_Min",
    "EDA_Max",
    "EDA_Tonic_Mean",
    "EDA_Tonic_Slope",
    "EDA_Phasic_Std",
    "EDA_SCR_N",
    "EDA_SCR_Rate",
    "EDA_SCR_Amplitude_Mean",
    "EDA_SCR_Amplitude_Max",
    "EDA_SCR_RiseTime_Mean",
)


def eda_decompose(x: FloatArray, fs_hz: float) -> tuple[FloatArray, FloatArray]:
    """Split one EDA window ``x`` (shape ``(n,)``, uS) into causal (tonic, phasic), each ``(n,)``."""
    sos = signal.butter(2, TONIC_CUTOFF_HZ, btype="lowpass", fs=fs_hz, output="sos")
    zi = signal.sosfilt_zi(sos) * x[0]
    tonic, _ = signal.sosfilt(sos, x, zi=zi)
    tonic = np.asarray(tonic, dtype=np.float64)
    return tonic, x - tonic


def scr_detect(phasic: FloatArray, fs_hz: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """SCR (onset, peak) indices in one phasic window ``phasic`` (shape ``(n,)``, uS).

    Every local maximum of the phasic component is a candidate; its onset is the nearest local
    minimum before it (NeuroKit's "base"); the SCR amplitude (peak minus onset value) must be at
    least :data:`SCR_MIN_AMPLITUDE_US`. Peaks without a preceding minimum in the window are skipped.
    """
    del fs_hz
    peaks, _ = signal.find_peaks(phasic)
    troughs, _ = signal.find_peaks(-phasic)
    pos = np.searchsorted(troughs, peaks) - 1
    has_onset = pos >= 0
    peaks = peaks[has_onset]
    onsets = troughs[pos[has_onset]]
    keep = phasic[peaks] - phasic[onsets] >= SCR_MIN_AMPLITUDE_US
    return onsets[keep].astype(np.int64), peaks[keep].astype(np.int64)


def _scr_features(phasic: FloatArray, fs_hz: float) -> dict[str, float]:
    duration_min = phasic.shape[0] / fs_hz / 60.0
    onsets, peaks = scr_detect(phasic, fs_hz)
    amp = phasic[peaks] - phasic[onsets]
    rise = (peaks - onsets) / fs_hz
    n = float(peaks.shape[0])
    return {
        "EDA_SCR_N": n,
        "EDA_SCR_Rate": n / duration_min,
        "EDA_SCR_Amplitude_Mean": float(amp.mean()) if n else 0.0,
        "EDA_SCR_Amplitude_Max": float(amp.max()) if n else 0.0,
        "EDA_SCR_RiseTime_Mean": float(rise.mean()) if n else float("nan"),
    }


def eda_features(samples: FloatArray, fs_hz: float, channels: tuple[str, ...]) -> dict[str, float]:
    """Features of one filtered EDA window ``samples`` (shape ``(1, n)``, uS), keys :data:`NAMES`."""
    del channels
    x = samples[0]
    tonic, phasic = eda_decompose(x, fs_hz)
    out = stats("EDA", x)
    out["EDA_Tonic_Mean"] = float(tonic.mean())
    out["EDA_Tonic_Slope"] = slope_per_s(tonic, fs_hz)
    out["EDA_Phasic_Std"] = float(phasic.std())
    out.update(_scr_features(phasic, fs_hz))
    return out
