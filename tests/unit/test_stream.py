"""Stream behaviour: grid alignment, gaps, overlaps, duplicates, NaN, resets (synthetic signals)."""

from __future__ import annotations

import itertools
import pickle
from dataclasses import replace

import numpy as np
import pytest

from pipeline.exceptions import SignalError
from pipeline.stream import default_config, stream_init, stream_offline, stream_step
from pipeline.windowing import sample_time_ns

T0 = 1_700_000_000_123_456_789  # deliberately off-grid
FS = 4.0


def _temp(n: int, seed: int = 0) -> np.ndarray:
    """SYNTHETIC skin temperature random walk, (1, n)."""
    return (33.0 + np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n)))[None, :]


def _cfg():  # type: ignore[no-untyped-def]
    return replace(default_config("temp", FS), window_s=10.0, hop_s=5.0, max_gap_s=1.0)


def test_windows_on_global_grid_with_fixed_length() -> None:
    wins = stream_offline(_cfg(), T0, _temp(400))
    hop_ns = 5 * 10**9
    assert wins, "expected windows"
    assert all(w.start_ns % hop_ns == 0 for w in wins)
    assert wins[0].start_ns >= T0 and wins[0].start_ns - T0 < hop_ns
    assert all(w.end_ns - w.start_ns == 10 * 10**9 for w in wins)
    assert all(w.samples.shape == (1, 40) for w in wins)
    assert [b.start_ns - a.start_ns for a, b in itertools.pairwise(wins)] == [hop_ns] * (len(wins) - 1)
    # 100 s of data: every complete window on the grid is emitted
    last_end = wins[-1].end_ns
    assert last_end <= sample_time_ns(T0, 400, FS) < last_end + hop_ns


def test_window_samples_are_filtered_stream_at_the_right_offset() -> None:
    x = _temp(400)
    cfg = replace(_cfg(), keep_raw=True)
    wins = stream_offline(cfg, T0, x)
    w = wins[2]
    i0 = int(np.ceil((w.start_ns - T0) * FS / 1e9))
    assert w.raw is not None
    assert np.array_equal(w.raw, x[:, i0 : i0 + 40])


def test_short_gap_is_interpolated_and_flagged() -> None:
    x = _temp(400)
    state = stream_init(_cfg())
    state, w1 = stream_step(state, T0, x[:, :100], seq=0)
    # drop 3 samples (0.75 s < max_gap_s)
    state, w2 = stream_step(state, sample_time_ns(T0, 103, FS), x[:, 103:], seq=1)
    wins = w1 + w2
    gapped = [w for w in wins if w.gap_fraction > 0]
    assert gapped and all("gap" in w.quality_reasons for w in gapped)
    assert all(w.gap_fraction == pytest.approx(3 / 40) for w in gapped)
    assert all(w.quality < 1.0 for w in gapped)
    assert len(wins) == len(stream_offline(_cfg(), T0, x))


def test_long_gap_resets_and_never_spans_the_hole() -> None:
    x = _temp(400)
    state = stream_init(_cfg())
    state, w1 = stream_step(state, T0, x[:, :100])
    t_resume = sample_time_ns(T0, 100, FS) + 30 * 10**9  # 30 s hole
    state, w2 = stream_step(state, t_resume, x[:, 100:])
    assert state.n_resets == 1
    hole = (sample_time_ns(T0, 100, FS), t_resume)
    assert all(w.end_ns <= hole[0] + 10**9 or w.start_ns >= hole[1] for w in w1 + w2)
    assert all(w.start_ns >= t_resume for w in w2)
    assert all(w.gap_fraction == 0 for w in w1 + w2)


def test_overlap_and_duplicates_are_dropped() -> None:
    x = _temp(400)
    state = stream_init(_cfg())
    state, a = stream_step(state, T0, x[:, :200], seq=0)
    state, dup = stream_step(state, T0, x[:, :200], seq=0)  # duplicate seq
    assert dup == [] and state.n_dropped_chunks == 1
    # overlapping resend (new seq) of samples 150..300: first 50 dropped
    state, b = stream_step(state, sample_time_ns(T0, 150, FS), x[:, 150:300], seq=1)
    state, c = stream_step(state, sample_time_ns(T0, 300, FS), x[:, 300:], seq=2)
    assert state.n_dropped_samples == 50
    want = stream_offline(_cfg(), T0, x)
    got = a + b + c
    assert [w.start_ns for w in got] == [w.start_ns for w in want]
    assert all(np.array_equal(g.samples, w.samples) for g, w in zip(got, want, strict=True))


def test_nan_input_is_held_and_flagged_never_poisons_filter() -> None:
    x = _temp(400)
    x_nan = x.copy()
    x_nan[0, 150:153] = np.nan
    before = x_nan.copy()
    wins = stream_offline(_cfg(), T0, x_nan)
    assert np.array_equal(before, x_nan, equal_nan=True)
    assert all(np.all(np.isfinite(w.samples)) for w in wins)
    flagged = [w for w in wins if "nan" in w.quality_reasons]
    assert flagged and all(w.gap_fraction == pytest.approx(3 / 40) for w in flagged)
    assert all(np.isfinite(w.features["TEMP_Mean"]) for w in wins)


def test_wrong_channel_count_raises_and_state_pickles() -> None:
    cfg = default_config("acc", 32.0, units="1/64 g")
    state, _ = stream_step(stream_init(cfg), T0, np.zeros((3, 64)))
    state = pickle.loads(pickle.dumps(state))
    with pytest.raises(SignalError):
        stream_step(state, T0 + 2 * 10**9, np.zeros((2, 64)))


def test_e4_acc_scaled_to_g() -> None:
    cfg = replace(default_config("acc", 32.0, units="1/64 g"), window_s=10.0)
    x = np.zeros((3, 32 * 30))
    x[2] = 64.0
    wins = stream_offline(cfg, T0, x)
    assert wins and wins[0].features["ACC_Mag_Mean"] == pytest.approx(1.0)


def test_warmup_flagged_only_at_start() -> None:
    cfg = replace(default_config("bvp", 64.0), window_s=10.0)
    x = np.sin(2 * np.pi * 1.2 * np.arange(64 * 60) / 64.0)[None, :]
    t0 = 1_700_000_004_500_000_000  # first grid start 0.5 s later, inside the 4 s settling time
    wins = stream_offline(cfg, t0, x)
    assert wins[0].start_ns - t0 == 500_000_000
    assert "filter_warmup" in wins[0].quality_reasons
    assert all("filter_warmup" not in w.quality_reasons for w in wins[2:])
