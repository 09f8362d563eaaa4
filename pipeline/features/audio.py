"""Audio window features: functionals of eGeMAPS low-level descriptors (``audio_features`` stream).

The stream carries openSMILE eGeMAPS LLD frames at 100 frames/s, one channel per LLD. For each LLD
the window gives ``AUDIO_{lld}_{Mean,Std,P20,P50,P80}``; LLDs whose name ends in ``nz`` (F0, jitter,
shimmer, HNR, formants: zero when unvoiced) are summarised over voiced (non-zero) frames only, as
eGeMAPS does. ``AUDIO_Voiced_Fraction`` is the share of non-zero frames of the first F0 channel
(NaN without one).
"""

from __future__ import annotations

import numpy as np

from pipeline.exceptions import SignalError
from pipeline.features._common import FloatArray

FUNCTIONALS = ("Mean", "Std", "P20", "P50", "P80")


def audio_names(channels: tuple[str, ...]) -> tuple[str, ...]:
    """Ordered feature names for the LLD ``channels``."""
    if not channels:
        msg = "audio_features need the LLD channel names"
        raise SignalError(msg)
    return (*(f"AUDIO_{ch}_{fn}" for ch in channels for fn in FUNCTIONALS), "AUDIO_Voiced_Fraction")


def _functionals(v: FloatArray) -> list[float]:
    if v.shape[0] == 0:
        return [float("nan")] * len(FUNCTIONALS)
    p20, p50, p80 = np.percentile(v, [20, 50, 80])
    return [float(v.mean()), float(v.std()), float(p20), float(p50), float(p80)]


def audio_features(samples: FloatArray, fs_hz: float, channels: tuple[str, ...]) -> dict[str, float]:
    """Features of one window of LLD frames ``samples`` (shape ``(lld, frames)``), keys :func:`audio_names`."""
    del fs_hz
    out: dict[str, float] = {}
    for i, ch in enumerate(channels):
        v = samples[i]
        if ch.endswith("nz"):
            v = v[v != 0]
        out.update(zip((f"AUDIO_{ch}_{fn}" for fn in FUNCTIONALS), _functionals(v), strict=True))
    f0 = [i for i, ch in enumerate(channels) if ch.startswith("F0")]
    out["AUDIO_Voiced_Fraction"] = float(np.mean(samples[f0[0]] != 0)) if f0 else float("nan")
    return out
