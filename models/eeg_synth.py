"""SYNTHETIC EEG for the EEG model: band-structured noise, generated locally. Not real data.

Each synthetic subject has its own random 1/f background and band gains; each labelled
state changes the relative band powers in the direction reported in the affective EEG
literature (caricatured, **not** validated on real EEG):

- ``relaxed``: strong alpha (8-13 Hz), weak beta;
- ``stressed``: weak alpha, strong beta (13-30 Hz) and some gamma-low (30-40 Hz);
- ``drowsy``: strong theta (4-8 Hz), weak beta.

A model trained on this learns band-power ratios only: the card says "synthetic, not for
real use".  Windows: ``EEG_CHANNELS`` x ``EEG_WINDOW_S`` s at ``EEG_FS_HZ``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

EEG_CLASSES: tuple[str, ...] = ("relaxed", "stressed", "drowsy")
EEG_CHANNELS: tuple[str, ...] = ("AF7", "AF8", "TP9", "TP10")  # Muse-like layout
EEG_FS_HZ = 64.0
EEG_WINDOW_S = 5.0
BANDS_HZ: dict[str, tuple[float, float]] = {
    "delta": (1, 4),
    "theta": (4, 8),
    "alpha": (8, 13),
    "beta": (13, 30),
    "gamma": (30, 31.9),
}
#: log2 gain of each band per state (added to the subject's own gains)
STATE_GAINS: dict[str, dict[str, float]] = {
    "relaxed": {"alpha": 1.5, "beta": -0.7},
    "stressed": {"alpha": -1.0, "beta": 1.0, "gamma": 0.7},
    "drowsy": {"theta": 1.5, "beta": -0.7, "alpha": -0.3},
}


def _band_noise(rng: np.random.Generator, n: int, fs_hz: float, gains: dict[str, float]) -> NDArray[np.float64]:
    spec = rng.normal(size=n // 2 + 1) + 1j * rng.normal(size=n // 2 + 1)
    f = np.fft.rfftfreq(n, 1.0 / fs_hz)
    amp = 1.0 / np.maximum(f, 1.0)  # 1/f background
    for band, (lo, hi) in BANDS_HZ.items():
        amp = np.where((f >= lo) & (f < hi), amp * 2.0 ** gains.get(band, 0.0), amp)
    x: NDArray[np.float64] = np.fft.irfft(spec * amp, n)
    out: NDArray[np.float64] = x / (float(x.std()) + 1e-12)
    return out


def simulate_subject(seed: int, n_per_class: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """SYNTHETIC windows of one simulated subject: ``(N, channels, T)`` float32 and labels ``(N,)``."""
    rng = np.random.default_rng(seed)
    n = int(EEG_WINDOW_S * EEG_FS_HZ)
    subj = {b: float(rng.normal(0.0, 0.5)) for b in BANDS_HZ}
    ch_gain = rng.uniform(0.5, 2.0, size=len(EEG_CHANNELS))
    xs, ys = [], []
    for k, state in enumerate(EEG_CLASSES):
        for _ in range(n_per_class):
            gains = {b: subj[b] + STATE_GAINS[state].get(b, 0.0) + float(rng.normal(0, 0.3)) for b in BANDS_HZ}
            w = np.stack([g * _band_noise(rng, n, EEG_FS_HZ, gains) for g in ch_gain])
            w += 0.3 * rng.normal(size=w.shape)  # sensor noise
            xs.append(w)
            ys.append(k)
    return np.asarray(xs, np.float32), np.asarray(ys, np.int64)


def normalise_windows(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Per-window, per-channel z-score (the model input); shape unchanged ``(N, C, T)``."""
    m = x.mean(axis=-1, keepdims=True)
    s = x.std(axis=-1, keepdims=True) + 1e-6
    out: NDArray[np.float32] = ((x - m) / s).astype(np.float32)
    return out
