"""Respiration window features: breathing rate and its variability, breath amplitude.

Adaptation of NeuroKit: ``nk.rsp_process`` cleans with a zero-phase filter; the stream filters
causally (0.05-1 Hz) and this module calls ``nk.rsp_findpeaks(method="khodadad2018")`` on the
already-filtered window. Breath-to-breath intervals outside 1.5..15 s (40..4 breaths/min) are
dropped. Units: breaths/min for rates, ms for variability, signal units for amplitude.
"""

from __future__ import annotations

import neurokit2 as nk
import numpy as np
from numpy.typing import NDArray

from pipeline.features._common import FloatArray, nan_features, safe_call

BB_MIN_S, BB_MAX_S = 1.5, 15.0

NAMES: tuple[str, ...] = (
    "RESP_Rate_Mean",
    "RESP_Rate_Std",
    "RESP_RRV_SDBB",
    "RESP_RRV_RMSSD",
    "RESP_Amplitude_Mean",
    "RESP_Breaths_N",
)


def resp_breaths(x: FloatArray, fs_hz: float) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    """Breath peaks and troughs (sample indices) of one filtered respiration window ``x`` (shape ``(n,)``).

    ``nk.rsp_findpeaks(method="khodadad2018")``; None when detection fails.
    """
    info = safe_call(lambda: nk.rsp_findpeaks(x, sampling_rate=fs_hz, method="khodadad2018"), "rsp_findpeaks")
    if info is None:
        return None
    return np.asarray(info["RSP_Peaks"], dtype=np.int64), np.asarray(info["RSP_Troughs"], dtype=np.int64)


def resp_features(samples: FloatArray, fs_hz: float, channels: tuple[str, ...]) -> dict[str, float]:
    """Features of one filtered respiration window ``samples`` (shape ``(1, n)``), keys :data:`NAMES`."""
    del channels
    x = samples[0]
    out = nan_features(NAMES)
    found = resp_breaths(x, fs_hz)
    if found is None:
        out["RESP_Breaths_N"] = 0.0
        return out
    peaks, troughs = found
    out["RESP_Breaths_N"] = float(peaks.shape[0])
    if peaks.shape[0] >= 2 and troughs.shape[0] >= 1:
        m = min(peaks.shape[0], troughs.shape[0])
        out["RESP_Amplitude_Mean"] = float(np.mean(np.abs(x[peaks[:m]] - x[troughs[:m]])))
    bb_s = np.diff(peaks) / fs_hz
    ok = (bb_s >= BB_MIN_S) & (bb_s <= BB_MAX_S)
    if np.count_nonzero(ok) < 2:
        return out
    out["RESP_Rate_Mean"] = float(60.0 / bb_s[ok].mean())
    out["RESP_Rate_Std"] = float(np.std(60.0 / bb_s[ok]))
    out["RESP_RRV_SDBB"] = float(np.std(bb_s[ok] * 1000.0, ddof=1))
    d = np.diff(bb_s * 1000.0)[ok[1:] & ok[:-1]]
    if d.shape[0] >= 1:
        out["RESP_RRV_RMSSD"] = float(np.sqrt(np.mean(d**2)))
    return out
