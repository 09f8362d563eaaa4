"""Causal filter folds: chunking invariance, pickling, frequency response, steady-state start."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import signal

from pipeline.exceptions import SignalError
from pipeline.filters import (
    FilterConfig,
    default_filter_config,
    design_sos,
    filter_init,
    filter_offline,
    filter_step,
)

MODS = [("ecg", 1000.0), ("bvp", 64.0), ("eda", 4.0), ("eeg", 256.0), ("resp", 100.0), ("temp", 4.0), ("acc", 32.0)]


@pytest.mark.parametrize(("modality", "fs_hz"), MODS)
def test_chunked_equals_whole_and_pickles(modality: str, fs_hz: float) -> None:
    cfg = default_filter_config(modality, fs_hz)
    x = np.random.default_rng(0).normal(size=(2, 3000)) + 5.0
    before = x.copy()
    _, whole = filter_step(filter_init(cfg), x)
    state = filter_init(cfg)
    parts = []
    for a, b in [(0, 1), (1, 700), (700, 701), (701, 3000)]:
        state, y = filter_step(state, x[:, a:b])
        state = pickle.loads(pickle.dumps(state))
        parts.append(y)
    assert np.array_equal(np.concatenate(parts, axis=1), whole)
    assert np.array_equal(x, before)


def _gain(cfg: FilterConfig, f_hz: float) -> float:
    sos = design_sos(cfg)
    assert sos is not None
    _, h = signal.sosfreqz(sos, worN=[f_hz], fs=cfg.fs_hz)
    return float(np.abs(h[0]))


def test_passbands_and_stopbands() -> None:
    bvp = default_filter_config("bvp", 64.0)
    assert _gain(bvp, 1.5) > 0.95 and _gain(bvp, 0.05) < 0.01 and _gain(bvp, 20.0) < 0.05
    eeg = default_filter_config("eeg", 256.0, mains_hz=50.0)
    assert _gain(eeg, 10.0) > 0.95 and _gain(eeg, 50.0) < 0.01
    eeg60 = default_filter_config("eeg", 256.0, mains_hz=60.0)
    assert _gain(eeg60, 60.0) < 0.01 and _gain(eeg60, 50.0) > 0.5
    ecg = default_filter_config("ecg", 1000.0)
    assert _gain(ecg, 10.0) > 0.95 and _gain(ecg, 0.05) < 0.02
    assert design_sos(default_filter_config("acc", 32.0)) is None


def test_corner_above_nyquist_is_clamped() -> None:
    # ECG band 0.5-40 Hz at 50 Hz sampling: the 40 Hz corner is above 0.45*fs -> high-pass only
    cfg = default_filter_config("ecg", 50.0)
    assert _gain(cfg, 10.0) > 0.95


def test_band_pass_starts_at_zero_from_steady_state() -> None:
    cfg = default_filter_config("bvp", 64.0)
    x = np.full((1, 200), 1000.0)
    _, y = filter_step(filter_init(cfg), x)
    assert np.max(np.abs(y)) < 1e-6
    lp = default_filter_config("eda", 4.0)
    _, y_lp = filter_step(filter_init(lp), np.full((1, 50), 3.0))
    assert np.allclose(y_lp, 3.0)


def test_offline_is_zero_phase_and_causal_is_delayed() -> None:
    fs_hz = 64.0
    t_s = np.arange(int(60 * fs_hz)) / fs_hz
    x = np.sin(2 * np.pi * 1.2 * t_s)[None, :]
    cfg = default_filter_config("bvp", fs_hz)
    y_off = filter_offline(cfg, x)
    _, y_live = filter_step(filter_init(cfg), x)
    mid = slice(1000, 3000)
    assert np.corrcoef(y_off[0, mid], x[0, mid])[0, 1] > 0.999
    assert np.corrcoef(y_live[0, mid], x[0, mid])[0, 1] < 0.99  # causal: phase lag


def test_wrong_shape_raises() -> None:
    with pytest.raises(SignalError):
        filter_step(filter_init(default_filter_config("bvp", 64.0)), np.zeros(10))
    state, _ = filter_step(filter_init(default_filter_config("bvp", 64.0)), np.zeros((1, 10)))
    with pytest.raises(SignalError):
        filter_step(state, np.zeros((2, 10)))
