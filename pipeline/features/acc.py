"""Accelerometer window features: magnitude statistics, activity level, posture.

Input is in g (the stream converts the E4's 1/64 g units with ``StreamConfig.scale``).
- ``ACC_ENMO_Mean``: mean of max(|a| - 1 g, 0) (Euclidean norm minus one), in g.
- ``ACC_Activity``: mean over 1-s epochs of the summed per-axis standard deviation, in g.
- ``ACC_Moving_Fraction``: share of 1-s epochs whose summed per-axis std exceeds
  ``MOVING_THRESHOLD_G`` (0.05 g, about three E4 quantisation steps).
- ``ACC_Jerk_Mean``: mean |d|a|/dt| in g/s.
- ``ACC_{X,Y,Z}_Mean`` / ``_Std``: per-axis posture and movement, in g.
"""

from __future__ import annotations

import numpy as np

from pipeline.exceptions import SignalError
from pipeline.features._common import FloatArray, nan_features

MOVING_THRESHOLD_G = 0.05

NAMES: tuple[str, ...] = (
    "ACC_Mag_Mean",
    "ACC_Mag_Std",
    "ACC_Mag_P95",
    "ACC_ENMO_Mean",
    "ACC_Activity",
    "ACC_Moving_Fraction",
    "ACC_Jerk_Mean",
    "ACC_X_Mean",
    "ACC_Y_Mean",
    "ACC_Z_Mean",
    "ACC_X_Std",
    "ACC_Y_Std",
    "ACC_Z_Std",
)


def _epoch_activity(samples: FloatArray, fs_hz: float) -> FloatArray:
    """Summed per-axis std of each whole 1-s epoch, shape ``(epochs,)``."""
    per = max(round(fs_hz), 1)
    n_ep = samples.shape[1] // per
    if n_ep == 0:
        return np.zeros(0)
    ep = samples[:, : n_ep * per].reshape(samples.shape[0], n_ep, per)
    return np.asarray(ep.std(axis=2).sum(axis=0), dtype=np.float64)


def acc_features(samples: FloatArray, fs_hz: float, channels: tuple[str, ...]) -> dict[str, float]:
    """Features of one ACC window ``samples`` (shape ``(3, n)``: x, y, z in g), keys :data:`NAMES`."""
    del channels
    if samples.shape[0] != 3:
        msg = f"acc window must have 3 channels (x, y, z), got {samples.shape[0]}"
        raise SignalError(msg)
    if samples.shape[1] < 2:
        return nan_features(NAMES)
    mag = np.sqrt(np.sum(samples**2, axis=0))
    act = _epoch_activity(samples, fs_hz)
    out = {
        "ACC_Mag_Mean": float(mag.mean()),
        "ACC_Mag_Std": float(mag.std()),
        "ACC_Mag_P95": float(np.percentile(mag, 95)),
        "ACC_ENMO_Mean": float(np.maximum(mag - 1.0, 0.0).mean()),
        "ACC_Activity": float(act.mean()) if act.shape[0] else float("nan"),
        "ACC_Moving_Fraction": float(np.mean(act > MOVING_THRESHOLD_G)) if act.shape[0] else float("nan"),
        "ACC_Jerk_Mean": float(np.abs(np.diff(mag)).mean() * fs_hz),
    }
    for i, axis in enumerate("XYZ"):
        out[f"ACC_{axis}_Mean"] = float(samples[i].mean())
        out[f"ACC_{axis}_Std"] = float(samples[i].std())
    return out
