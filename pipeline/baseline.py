"""Personal baselines: a causal, per-subject running normaliser of window features.

The same code runs in training, in evaluation and in the live worker, so a model sees
features normalised exactly as it will in production.  For every feature the state keeps
an exponentially weighted mean and variance of that subject's *past* windows; a new
window is normalised with the statistics *before* it is folded in, so a window never
influences its own value and future windows never change past outputs.

Normalisation of feature ``k`` for a window with value ``x``::

    z = clip((x - m_k) / max(sd_k, rel_floor * |m_k|, abs_floor), -clip_z, clip_z)

where ``m_k`` and ``sd_k`` are the weighted mean and standard deviation of the subject's
earlier finite values of ``k`` with weights ``0.5 ** (age_in_windows / halflife_windows)``.
Until ``min_windows`` finite values have been seen, or when ``x`` is missing or not finite,
``z = 0.0`` ("at the subject's baseline") and a missing value does not update the state.

An optional calibration period (for example a few minutes of rest recorded when the
user starts) can seed the statistics with :func:`baseline_calibrate`.

Examples
--------
>>> import math
>>> st = baseline_init(("EDA_Mean",), BaselineConfig(halflife_windows=math.inf, min_windows=2))
>>> for v in (1.0, 3.0, 4.0):
...     st, z = baseline_step(st, {"EDA_Mean": v})
>>> round(z["EDA_Mean"], 3)   # (4 - mean(1, 3)) / sd(1, 3)
2.0
>>> st.n_seen
3
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from pipeline.exceptions import ContractError

__all__ = [
    "BaselineConfig",
    "BaselineState",
    "baseline_calibrate",
    "baseline_init",
    "baseline_moments",
    "baseline_step",
]


@dataclass(frozen=True)
class BaselineConfig:
    """Parameters of the running normaliser.

    Attributes
    ----------
    halflife_windows : float
        Half-life of the exponential weights, in windows (with a 10 s hop, 60 = 10 minutes).
        ``math.inf`` gives an expanding (equal-weight) mean over all past windows.
    min_windows : int
        Past finite values needed before a feature is normalised (output 0.0 before).
    rel_floor : float
        Lower bound of the standard deviation as a fraction of ``|mean|``.
    abs_floor : float
        Absolute lower bound of the standard deviation (feature units).
    clip_z : float
        Normalised values are clipped to ``[-clip_z, clip_z]``.
    """

    halflife_windows: float = 60.0
    min_windows: int = 6
    rel_floor: float = 0.05
    abs_floor: float = 1e-3
    clip_z: float = 6.0

    def to_dict(self) -> dict[str, float]:
        """Plain dict for model cards (JSON)."""
        return {
            "halflife_windows": self.halflife_windows,
            "min_windows": self.min_windows,
            "rel_floor": self.rel_floor,
            "abs_floor": self.abs_floor,
            "clip_z": self.clip_z,
        }


@dataclass(frozen=True)
class BaselineState:
    """Picklable state of one subject's normaliser (arrays are never mutated in place).

    Attributes
    ----------
    names : tuple of str
        Feature names, in order; shape ``(F,)`` for every array below.
    weight, mean, m2 : ndarray of float64, shape (F,)
        Sum of weights, weighted mean and weighted sum of squared deviations.
    count : ndarray of int64, shape (F,)
        Number of finite values folded in.
    n_seen : int
        Windows passed through :func:`baseline_step` (including calibration).
    cfg : BaselineConfig
    """

    names: tuple[str, ...]
    weight: NDArray[np.float64]
    mean: NDArray[np.float64]
    m2: NDArray[np.float64]
    count: NDArray[np.int64]
    n_seen: int
    cfg: BaselineConfig


def baseline_init(feature_names: Iterable[str], cfg: BaselineConfig | None = None) -> BaselineState:
    """Empty normaliser for one subject.

    Parameters
    ----------
    feature_names : iterable of str
        Names of the features to normalise; other keys in a window are ignored.
    cfg : BaselineConfig, optional
        Defaults to ``BaselineConfig()``.
    """
    names = tuple(feature_names)
    if len(set(names)) != len(names):
        msg = "feature_names contains duplicates"
        raise ContractError(msg)
    cfg = cfg if cfg is not None else BaselineConfig()
    if not cfg.halflife_windows > 0 or cfg.min_windows < 1:
        msg = f"invalid BaselineConfig {cfg}"
        raise ContractError(msg)
    n = len(names)
    zeros = np.zeros(n, dtype=np.float64)
    return BaselineState(names, zeros, zeros.copy(), zeros.copy(), np.zeros(n, dtype=np.int64), 0, cfg)


def _vector(state: BaselineState, features: Mapping[str, float]) -> NDArray[np.float64]:
    x = np.array([features.get(k, math.nan) for k in state.names], dtype=np.float64)
    x[~np.isfinite(x)] = np.nan
    return x


def baseline_moments(
    state: BaselineState,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Current statistics per feature: mean, floored standard deviation, ready flag; each shape (F,)."""
    cfg = state.cfg
    var = np.divide(state.m2, state.weight, out=np.zeros_like(state.m2), where=state.weight > 0)
    sd = np.maximum(np.sqrt(np.maximum(var, 0.0)), np.maximum(cfg.rel_floor * np.abs(state.mean), cfg.abs_floor))
    return state.mean.copy(), sd, state.count >= cfg.min_windows


def _normalise(state: BaselineState, x: NDArray[np.float64]) -> NDArray[np.float64]:
    cfg = state.cfg
    mean, sd, ready = baseline_moments(state)
    ready = ready & np.isfinite(x)
    z = np.where(ready, (np.nan_to_num(x) - mean) / sd, 0.0)
    return np.clip(z, -cfg.clip_z, cfg.clip_z)


def _update(state: BaselineState, x: NDArray[np.float64]) -> BaselineState:
    decay = 1.0 if math.isinf(state.cfg.halflife_windows) else 0.5 ** (1.0 / state.cfg.halflife_windows)
    ok = np.isfinite(x)
    xv = np.where(ok, x, 0.0)
    # Missing values do not age the statistics of that feature: age counts that feature's own values.
    w_old = np.where(ok, state.weight * decay, state.weight)
    w_new = np.where(ok, w_old + 1.0, w_old)
    delta = xv - state.mean
    mean = np.where(ok, state.mean + delta / np.where(w_new > 0, w_new, 1.0), state.mean)
    m2 = np.where(ok, state.m2 * decay + delta * (xv - mean), state.m2)
    count = state.count + ok.astype(np.int64)
    return replace(state, weight=w_new, mean=mean, m2=m2, count=count, n_seen=state.n_seen + 1)


def baseline_step(state: BaselineState, features: Mapping[str, float]) -> tuple[BaselineState, dict[str, float]]:
    """Normalise one window with the past statistics, then fold it in.

    Parameters
    ----------
    state : BaselineState
    features : mapping of str to float
        One window's features; missing keys and non-finite values count as missing.

    Returns
    -------
    state : BaselineState
        New state (the input state is unchanged).
    normalised : dict of str to float
        One finite value per ``state.names`` entry.
    """
    x = _vector(state, features)
    z = _normalise(state, x)
    return _update(state, x), dict(zip(state.names, z.tolist(), strict=True))


def baseline_calibrate(state: BaselineState, windows: Iterable[Mapping[str, float]]) -> BaselineState:
    """Seed the statistics with calibration windows (for example a rest period), in time order."""
    for features in windows:
        state = _update(state, _vector(state, features))
    return state
