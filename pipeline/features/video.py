"""Video window features from OpenFace action units (``video_features`` stream).

Channels are ``AUxx_r`` (intensity 0-5) and ``AUxx_c`` (presence 0/1). Per AU the window gives
``VIDEO_{AUxx}_Intensity_Mean`` (from ``_r``) and ``VIDEO_{AUxx}_Activation_Rate`` (share of frames with
``_c`` = 1, from ``_c``). Other channels are ignored.
"""

from __future__ import annotations

import numpy as np

from pipeline.exceptions import SignalError
from pipeline.features._common import FloatArray


def _name(ch: str) -> str | None:
    if ch.startswith("AU") and ch.endswith("_r"):
        return f"VIDEO_{ch[:-2]}_Intensity_Mean"
    if ch.startswith("AU") and ch.endswith("_c"):
        return f"VIDEO_{ch[:-2]}_Activation_Rate"
    return None


def video_names(channels: tuple[str, ...]) -> tuple[str, ...]:
    """Ordered feature names for the OpenFace ``channels`` (in channel order)."""
    names = tuple(n for n in (_name(ch) for ch in channels) if n is not None)
    if not names:
        msg = f"video_features need OpenFace AUxx_r / AUxx_c channels, got {channels}"
        raise SignalError(msg)
    return names


def video_features(samples: FloatArray, fs_hz: float, channels: tuple[str, ...]) -> dict[str, float]:
    """Features of one window of AU frames ``samples`` (shape ``(channels, frames)``)."""
    del fs_hz
    out: dict[str, float] = {}
    for i, ch in enumerate(channels):
        name = _name(ch)
        if name is None:
            continue
        v = samples[i]
        out[name] = float(v.mean()) if ch.endswith("_r") else float(np.mean(v >= 0.5))
    return out
