"""Realistic artefacts on raw E4 signals, for the robustness benchmark (``bench/fusion.py``).

The corrupted raw signals go through the live path again (``pipeline.stream.stream_offline``), so
windows, features and quality react as they would on a live stream. Two artefacts, each over random
stretches of the recording (:func:`stretches`):

- **EDA contact loss** (:func:`eda_contact_loss`): when the E4 strap loosens, the electrodes lose the
  skin and skin conductance falls to a flat line near 0 uS that flickers by one ADC step (0.001281 uS,
  the step of the Stress-Predict EDA files). Each stretch gets its own level in 0..0.01 uS.
- **BVP motion noise** (:func:`bvp_motion_noise`): arm movement adds large broadband noise to the PPG
  (white noise plus a 0.5-3 Hz motion component, together ``amplitude`` times the recording's robust
  sd), and the sensor saturates: the sum is clipped at ``clip`` robust sds.

Pure numpy; every draw comes from the ``rng`` passed in.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from models.exceptions import ModelError

__all__ = ["EDA_STEP_US", "bvp_motion_noise", "eda_contact_loss", "robust_sd", "stretches"]

#: one step of the E4 EDA converter in the Stress-Predict exports (uS)
EDA_STEP_US = 0.001281


def stretches(
    n: int, fs_hz: float, rng: np.random.Generator, coverage: float = 0.4, min_s: float = 120.0, max_s: float = 480.0
) -> NDArray[np.bool_]:
    """Random stretches of ``min_s..max_s`` seconds covering about ``coverage`` of ``n`` samples.

    Returns a mask of shape (n,). Stretches are drawn uniformly until the union covers ``coverage``.
    """
    if not 0.0 <= coverage < 1.0:
        msg = f"coverage must be in [0, 1), got {coverage}"
        raise ModelError(msg)
    mask = np.zeros(n, dtype=bool)
    lo, hi = round(min_s * fs_hz), round(max_s * fs_hz)
    if n <= lo:
        return mask
    while mask.mean() < coverage:
        length = int(rng.integers(lo, hi + 1))
        start = int(rng.integers(0, max(n - length, 1)))
        mask[start : start + length] = True
    return mask


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs of ``mask``."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def eda_contact_loss(
    x_us: NDArray[np.float64], mask: NDArray[np.bool_], rng: np.random.Generator
) -> NDArray[np.float64]:
    """EDA ``(1, n)`` in uS with contact loss where ``mask``: a flat level in 0..0.01 uS per stretch,
    flickering by one converter step, quantised to :data:`EDA_STEP_US`, never below 0."""
    out = np.array(x_us, dtype=np.float64, copy=True)
    for a, b in _runs(mask):
        level = rng.uniform(0.0, 0.01)
        flicker = rng.integers(-1, 2, size=b - a) * (rng.random(b - a) < 0.2)
        out[0, a:b] = np.maximum(np.round(level / EDA_STEP_US + flicker) * EDA_STEP_US, 0.0)
    return out


def robust_sd(x: NDArray[np.float64]) -> float:
    """1.4826 x median absolute deviation of ``x`` (any shape)."""
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def bvp_motion_noise(
    x: NDArray[np.float64],
    fs_hz: float,
    mask: NDArray[np.bool_],
    rng: np.random.Generator,
    amplitude: float = 4.0,
    clip: float = 3.0,
) -> NDArray[np.float64]:
    """BVP ``(1, n)`` with motion noise where ``mask``.

    Noise = white Gaussian + a 0.5-3 Hz band-limited Gaussian component (equal power), scaled to
    ``amplitude`` x :func:`robust_sd` of the clean signal; inside the stretches the sum is clipped at
    +-``clip`` robust sds around the median (sensor saturation).
    """
    from scipy.signal import butter, sosfilt

    out = np.array(x, dtype=np.float64, copy=True)
    sd = robust_sd(x[0])
    med = float(np.median(x[0]))
    sos = butter(2, [0.5, 3.0], btype="bandpass", fs=fs_hz, output="sos")
    for a, b in _runs(mask):
        white = rng.standard_normal(b - a)
        motion = sosfilt(sos, rng.standard_normal(b - a))
        motion = motion / max(float(np.std(motion)), 1e-12)
        noise = amplitude * sd * (white + motion) / np.sqrt(2.0)
        out[0, a:b] = np.clip(out[0, a:b] + noise, med - clip * sd, med + clip * sd)
    return out
