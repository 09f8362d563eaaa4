"""Heart rate and HRV features from beat positions; shared by BVP (PPG) and ECG.

Beats come from a peak detector run on the causally filtered window. Inter-beat intervals (IBI)
outside 0.3..2.0 s (200..30 bpm) or more than 30 % away from the window's median IBI are treated
as artefacts and dropped (their neighbouring successive differences too). Time-domain HRV needs the
valid IBIs to cover at least ``MIN_COVERAGE`` of the window; frequency-domain HRV additionally needs
the window to be long enough: HF (0.15-0.4 Hz) from 60 s, LF (0.04-0.15 Hz) from 120 s
(Task Force 1996 recommends >= 1 min for HF and >= 2 min for LF). Band powers are computed from the
IBI series linearly interpolated at 4 Hz (Welch, Hann), in ms^2.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from pipeline.features._common import FloatArray, nan_features

IBI_MIN_S = 0.3
IBI_MAX_S = 2.0
MAX_REL_DEVIATION = 0.3
MIN_COVERAGE = 0.6
HF_MIN_WINDOW_S = 60.0
LF_MIN_WINDOW_S = 120.0
_INTERP_HZ = 4.0

_SUFFIXES = (
    "HR_Mean",
    "HR_Std",
    "HRV_MeanNN",
    "HRV_SDNN",
    "HRV_RMSSD",
    "HRV_pNN50",
    "HRV_LF",
    "HRV_HF",
    "HRV_LFHF",
    "Beats_N",
    "Beats_ValidFraction",
)


def cardiac_names(prefix: str) -> tuple[str, ...]:
    """Ordered feature names for ``prefix`` ("BVP" or "ECG")."""
    return tuple(f"{prefix}_{s}" for s in _SUFFIXES)


def valid_ibi_mask(ibi_s: FloatArray) -> NDArray[np.bool_]:
    """Boolean mask of physiologically plausible, non-outlying IBIs (shape ``(k,)``)."""
    ok = (ibi_s >= IBI_MIN_S) & (ibi_s <= IBI_MAX_S)
    if not np.any(ok):
        return ok
    med = float(np.median(ibi_s[ok]))
    return ok & (np.abs(ibi_s - med) <= MAX_REL_DEVIATION * med)


def _band_power(t_s: FloatArray, ibi_ms: FloatArray, lo_hz: float, hi_hz: float) -> float:
    grid = np.arange(t_s[0], t_s[-1], 1.0 / _INTERP_HZ)
    if grid.shape[0] < 16:
        return float("nan")
    y = np.interp(grid, t_s, ibi_ms)
    f, pxx = signal.welch(y - y.mean(), fs=_INTERP_HZ, window="hann", nperseg=grid.shape[0], detrend="linear")
    band = (f >= lo_hz) & (f < hi_hz)
    return float(np.trapezoid(pxx[band], f[band])) if np.count_nonzero(band) >= 2 else float("nan")


def cardiac_features(prefix: str, peaks: NDArray[np.int64], fs_hz: float, duration_s: float) -> dict[str, float]:
    """HR/HRV features from peak sample indices ``peaks`` (shape ``(k,)``, increasing) of one window.

    Returns keys :func:`cardiac_names` (``HR`` in bpm; ``HR_Mean`` is 60 / mean valid IBI, the
    time-average of the instantaneous rate as in NeuroKit's mean ``PPG_Rate``/``ECG_Rate``;
    NN statistics in ms, band powers in ms^2, ``pNN50`` in percent,
    ``Beats_ValidFraction`` = valid IBI time / window duration).
    """
    out = nan_features(cardiac_names(prefix))
    out[f"{prefix}_Beats_N"] = float(peaks.shape[0])
    if peaks.shape[0] < 4:
        out[f"{prefix}_Beats_ValidFraction"] = 0.0
        return out
    ibi_s = np.diff(peaks).astype(np.float64) / fs_hz
    ok = valid_ibi_mask(ibi_s)
    coverage = float(ibi_s[ok].sum() / duration_s)
    out[f"{prefix}_Beats_ValidFraction"] = min(coverage, 1.0)
    if np.count_nonzero(ok) < 3:
        return out
    hr = 60.0 / ibi_s[ok]
    out[f"{prefix}_HR_Mean"] = float(60.0 / ibi_s[ok].mean())  # time-weighted, as NeuroKit's mean *_Rate
    out[f"{prefix}_HR_Std"] = float(hr.std())
    if coverage < MIN_COVERAGE:
        return out
    nn_ms = ibi_s[ok] * 1000.0
    pair_ok = ok[1:] & ok[:-1]
    dnn = np.diff(ibi_s * 1000.0)[pair_ok]
    out[f"{prefix}_HRV_MeanNN"] = float(nn_ms.mean())
    out[f"{prefix}_HRV_SDNN"] = float(nn_ms.std(ddof=1))
    if dnn.shape[0] >= 2:
        out[f"{prefix}_HRV_RMSSD"] = float(np.sqrt(np.mean(dnn**2)))
        out[f"{prefix}_HRV_pNN50"] = float(100.0 * np.mean(np.abs(dnn) > 50.0))
    out.update(_frequency_features(prefix, peaks, ok, ibi_s, fs_hz, duration_s))
    return out


def _frequency_features(
    prefix: str,
    peaks: NDArray[np.int64],
    ok: NDArray[np.bool_],
    ibi_s: FloatArray,
    fs_hz: float,
    duration_s: float,
) -> dict[str, float]:
    out: dict[str, float] = {}
    t_s = (peaks[1:].astype(np.float64) / fs_hz)[ok]
    nn_ms = ibi_s[ok] * 1000.0
    if duration_s >= HF_MIN_WINDOW_S:
        out[f"{prefix}_HRV_HF"] = _band_power(t_s, nn_ms, 0.15, 0.4)
    if duration_s >= LF_MIN_WINDOW_S:
        lf = _band_power(t_s, nn_ms, 0.04, 0.15)
        out[f"{prefix}_HRV_LF"] = lf
        hf = out[f"{prefix}_HRV_HF"]
        out[f"{prefix}_HRV_LFHF"] = lf / hf if hf > 0 else float("nan")
    return out
