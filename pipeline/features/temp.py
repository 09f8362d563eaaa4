"""Skin temperature window features (degC; slope in degC/s)."""

from __future__ import annotations

from pipeline.features._common import FloatArray, slope_per_s, stats

NAMES: tuple[str, ...] = ("TEMP_Mean", "TEMP_Std", "TEMP_Min", "TEMP_Max", "TEMP_Slope")


def temp_features(samples: FloatArray, fs_hz: float, channels: tuple[str, ...]) -> dict[str, float]:
    """Features of one filtered TEMP window ``samples`` (shape ``(1, n)``, degC), keys :data:`NAMES`."""
    del channels
    x = samples[0]
    out = stats("TEMP", x)
    out["TEMP_Slope"] = slope_per_s(x, fs_hz)
    return out
