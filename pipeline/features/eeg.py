"""EEG window features: absolute and relative band powers per channel, frontal alpha asymmetry.

Welch periodogram per channel (Hann, 2-s segments or the window if shorter, 50 % overlap). Bands:
delta 1-4, theta 4-8, alpha 8-13, beta 13-30, gamma 30-45 Hz (the stream's band-pass is 1-45 Hz).
``EEG_{ch}_{Band}_Abs`` is the band power in (input units)^2 (uV^2 for uV input);
``EEG_{ch}_{Band}_Rel`` is its share of the 1-45 Hz power. ``EEG_FAA`` = ln(alpha F4) - ln(alpha F3),
present only when channels named F3 and F4 exist (Davidson's frontal alpha asymmetry).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from pipeline.exceptions import SignalError
from pipeline.features._common import FloatArray

BANDS: tuple[tuple[str, float, float], ...] = (
    ("Delta", 1.0, 4.0),
    ("Theta", 4.0, 8.0),
    ("Alpha", 8.0, 13.0),
    ("Beta", 13.0, 30.0),
    ("Gamma", 30.0, 45.0),
)


def eeg_names(channels: tuple[str, ...]) -> tuple[str, ...]:
    """Ordered feature names for EEG ``channels`` (one block per channel, then ``EEG_FAA``)."""
    if not channels:
        msg = "eeg features need channel names (e.g. ('F3', 'F4', ...))"
        raise SignalError(msg)
    names = [f"EEG_{ch}_{band}_{kind}" for ch in channels for kind in ("Abs", "Rel") for band, _, _ in BANDS]
    if "F3" in channels and "F4" in channels:
        names.append("EEG_FAA")
    return tuple(names)


def eeg_features(samples: FloatArray, fs_hz: float, channels: tuple[str, ...]) -> dict[str, float]:
    """Features of one filtered EEG window ``samples`` (shape ``(channels, n)``), keys :func:`eeg_names`."""
    nperseg = min(samples.shape[1], int(2 * fs_hz))
    f, pxx = signal.welch(samples, fs=fs_hz, window="hann", nperseg=nperseg, axis=-1)
    df = float(f[1] - f[0]) if f.shape[0] > 1 else 1.0
    total = pxx[:, (f >= 1.0) & (f < 45.0)].sum(axis=1) * df
    out: dict[str, float] = {}
    alpha: dict[str, float] = {}
    for i, ch in enumerate(channels):
        for band, lo, hi in BANDS:
            sel = (f >= lo) & (f < hi)
            p = float(pxx[i, sel].sum() * df) if np.any(sel) else float("nan")
            out[f"EEG_{ch}_{band}_Abs"] = p
            out[f"EEG_{ch}_{band}_Rel"] = p / float(total[i]) if total[i] > 0 else float("nan")
            if band == "Alpha":
                alpha[ch] = p
    if "F3" in alpha and "F4" in alpha:
        ok = alpha["F3"] > 0 and alpha["F4"] > 0
        out["EEG_FAA"] = float(np.log(alpha["F4"]) - np.log(alpha["F3"])) if ok else float("nan")
    return out
