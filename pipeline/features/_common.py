"""Small helpers shared by the per-modality feature modules."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

T = TypeVar("T")

FloatArray = NDArray[np.float64]


def nan_features(names: tuple[str, ...]) -> dict[str, float]:
    """Return ``{name: nan}`` for every name, in order."""
    return dict.fromkeys(names, float("nan"))


def slope_per_s(x: FloatArray, fs_hz: float) -> float:
    """Least-squares slope of ``x`` (shape ``(n,)``) against time, in units of ``x`` per second."""
    n = x.shape[0]
    if n < 2:
        return float("nan")
    t_s = np.arange(n, dtype=np.float64) / fs_hz
    t_c = t_s - t_s.mean()
    return float(np.dot(t_c, x - x.mean()) / np.dot(t_c, t_c))


def safe_call(fn: Callable[[], T], what: str) -> T | None:
    """Call ``fn``; return None (and log at debug) when a third-party routine rejects the data.

    NeuroKit raises a variety of exceptions (ValueError, IndexError, ...) on windows with too few
    peaks or degenerate values. Such windows are valid data whose features are NaN, so we never
    let those escape.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn()
    except Exception as exc:  # third-party code: any failure means "cannot compute"
        logger.debug("%s failed on this window: %s", what, exc)
        return None


def stats(prefix: str, x: FloatArray) -> dict[str, float]:
    """Mean, Std, Min, Max of ``x`` (shape ``(n,)``) keyed ``{prefix}_Mean`` ...; NaN when empty."""
    if x.shape[0] == 0:
        return nan_features((f"{prefix}_Mean", f"{prefix}_Std", f"{prefix}_Min", f"{prefix}_Max"))
    return {
        f"{prefix}_Mean": float(np.mean(x)),
        f"{prefix}_Std": float(np.std(x)),
        f"{prefix}_Min": float(np.min(x)),
        f"{prefix}_Max": float(np.max(x)),
    }
