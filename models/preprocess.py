"""Model input preprocessing shared by training, evaluation and the live worker.

A :class:`PreprocessSpec` (stored in every feature model's card under ``"input"``) turns one
window's feature dict into the model's input vector with personal baselines from
:mod:`pipeline.baseline`: for each baseline configuration ``i`` and feature ``k`` in
order, the value ``z_i(k)`` (causal running z-score over the subject's past windows).
Input names are ``"<feature>@b<i>"``; vector order is baseline-major.

Raw-window networks use :func:`raw_normalise`: each channel of a window is z-scored with
the running mean and standard deviation of that subject's past *window means* of the
channel (same :mod:`pipeline.baseline` code, feature names ``RAW_<channel>``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.baseline import (
    BaselineConfig,
    BaselineState,
    baseline_calibrate,
    baseline_init,
    baseline_moments,
    baseline_step,
)

__all__ = ["PreprocessSpec", "preprocess_calibrate", "preprocess_init", "preprocess_step", "raw_init", "raw_normalise"]


@dataclass(frozen=True)
class PreprocessSpec:
    """Feature names and baseline configurations of a feature model's input."""

    feature_names: tuple[str, ...]
    baselines: tuple[BaselineConfig, ...] = (BaselineConfig(),)

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of the input vector's entries, in order."""
        return tuple(f"{k}@b{i}" for i in range(len(self.baselines)) for k in self.feature_names)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the model card."""
        return {
            "feature_names": list(self.feature_names),
            "baselines": [b.to_dict() for b in self.baselines],
            "input_names": list(self.input_names),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PreprocessSpec:
        """Inverse of :meth:`to_dict`."""
        bl = tuple(BaselineConfig(**{k: v for k, v in b.items()}) for b in d["baselines"])
        return cls(tuple(d["feature_names"]), bl)


def preprocess_init(spec: PreprocessSpec) -> tuple[BaselineState, ...]:
    """Fresh per-subject state (one :class:`BaselineState` per baseline); picklable."""
    return tuple(baseline_init(spec.feature_names, cfg) for cfg in spec.baselines)


def preprocess_step(
    states: Sequence[BaselineState], features: Mapping[str, float]
) -> tuple[tuple[BaselineState, ...], NDArray[np.float32]]:
    """Normalise one window (in time order) -> new states and input vector shape ``(len(input_names),)``."""
    new: list[BaselineState] = []
    parts: list[list[float]] = []
    for st in states:
        st2, z = baseline_step(st, features)
        new.append(st2)
        parts.append([z[k] for k in st.names])
    return tuple(new), np.asarray([v for p in parts for v in p], dtype=np.float32)


def preprocess_calibrate(
    states: Sequence[BaselineState], windows: Sequence[Mapping[str, float]]
) -> tuple[BaselineState, ...]:
    """Seed every baseline with calibration windows (e.g. a few minutes of rest), in time order.

    Equivalent to passing the windows through :func:`preprocess_step` and discarding the outputs.
    """
    return tuple(baseline_calibrate(st, windows) for st in states)


def raw_init(channels: Sequence[str], cfg: BaselineConfig) -> BaselineState:
    """Per-subject state for raw-window normalisation of ``channels``."""
    return baseline_init([f"RAW_{c}" for c in channels], cfg)


def raw_normalise(state: BaselineState, window: NDArray[np.float64]) -> tuple[BaselineState, NDArray[np.float32]]:
    """Z-score a raw window ``(channels, T)`` with past window-mean statistics; NaN stays NaN.

    Channels whose baseline is not ready yet are centred on the window's own mean (scale 1).
    """
    mean, sd, ready = baseline_moments(state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        own_raw = np.nanmean(window, axis=1) if window.size else np.full(len(mean), np.nan)
    own = np.where(np.isfinite(own_raw), own_raw, 0.0)
    centre = np.where(ready, mean, own)
    scale = np.where(ready, sd, 1.0)
    z = (window - centre[:, None]) / scale[:, None]
    new, _ = baseline_step(state, {n: float(v) for n, v in zip(state.names, own_raw, strict=True)})
    return new, np.clip(z, -state.cfg.clip_z, state.cfg.clip_z).astype(np.float32)
