"""EDA window features: level, tonic level and slope, phasic skin-conductance responses (SCR).

Decomposition (documented adaptation of NeuroKit's "highpass" ``eda_phasic``, which is zero-phase):
the tonic component is a causal 2nd-order Butterworth low-pass at 0.05 Hz run over the window and
started in steady state at the window's first sample; phasic = signal - tonic. This is causal within
the window and works at the E4's 4 Hz. SCRs are found with ``nk.eda_peaks(method="neurokit")`` on
the phasic component; NeuroKit's threshold is relative to the window's largest response, so we also
require an absolute amplitude of at least ``SCR_MIN_AMPLITUDE_US`` (0.01 uS, the usual SCR criterion)
so that a quiet window does not count noise wiggles as responses.
Units: uS for levels and amplitudes, uS/s for slopes, s for rise times, responses per minute for rate.
"""

from __future__ import annotations

import neurokit2 as nk
import numpy as np
from scipy import signal

from pipeline.features._common import FloatArray, safe_call, slope_per_s, stats

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


def _scr_features(phasic: FloatArray, fs_hz: float) -> dict[str, float]:
    duration_min = phasic.shape[0] / fs_hz / 60.0
    res = safe_call(lambda: nk.eda_peaks(phasic, sampling_rate=fs_hz, method="neurokit"), "eda_peaks")
    amp = np.zeros(0)
    rise = np.zeros(0)
    if res is not None:
        info = res[1]
        amp = np.asarray(info["SCR_Amplitude"], dtype=np.float64)
        rise = np.asarray(info["SCR_RiseTime"], dtype=np.float64)
        keep = np.isfinite(amp) & (amp >= SCR_MIN_AMPLITUDE_US)
        amp, rise = amp[keep], rise[keep]
    n = float(amp.shape[0])
    return {
        "EDA_SCR_N": n,
        "EDA_SCR_Rate": n / duration_min,
        "EDA_SCR_Amplitude_Mean": float(amp.mean()) if n else 0.0,
        "EDA_SCR_Amplitude_Max": float(amp.max()) if n else 0.0,
        "EDA_SCR_RiseTime_Mean": float(np.nanmean(rise)) if n and np.any(np.isfinite(rise)) else float("nan"),
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
