"""Chunked streaming == one-shot offline, bitwise (tolerance 0), on synthetic signals (labelled SYNTHETIC).

Properties (hypothesis): any chunking, any start time, timestamp jitter below half a sample
period, and pickling the state mid-stream give exactly the same windows and features as
``stream_offline``; inputs are never modified.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import neurokit2 as nk
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.stream import default_config, stream_init, stream_offline, stream_step
from tests.unit._stream_helpers import assert_same_windows, feed_chunked

T0_BASE_NS = 1_644_226_061_000_000_000


@cache
def _recording(modality: str) -> tuple[float, np.ndarray]:
    """SYNTHETIC recordings (neurokit2 simulators / seeded noise), 100 s."""
    if modality == "bvp":
        return 64.0, nk.ppg_simulate(duration=100, sampling_rate=64, heart_rate=75, random_state=1)[None, :]
    if modality == "eda":
        return 4.0, nk.eda_simulate(duration=100, sampling_rate=4, scr_number=6, random_state=2)[None, :]
    if modality == "temp":
        return 4.0, (32.0 + np.cumsum(np.random.default_rng(3).normal(0, 0.01, 400)))[None, :]
    rng = np.random.default_rng(4)
    return 32.0, np.round(rng.normal([[0.0], [0.0], [64.0]], 5.0, (3, 3200)))  # E4 ACC, 1/64 g


@settings(max_examples=12, deadline=None)
@given(
    modality=st.sampled_from(["bvp", "eda", "temp", "acc"]),
    sizes=st.lists(st.integers(1, 700), min_size=1, max_size=6),
    offset_ns=st.integers(0, 10**10),
    pickle_at=st.frozensets(st.integers(0, 40), max_size=3),
)
def test_chunked_equals_offline(modality: str, sizes: list[int], offset_ns: int, pickle_at: frozenset[int]) -> None:
    fs_hz, x = _recording(modality)
    before = x.copy()
    cfg = default_config(modality, fs_hz, units="1/64 g")
    cfg = replace(cfg, window_s=20.0, hop_s=5.0)
    t0 = T0_BASE_NS + offset_ns
    want = stream_offline(cfg, t0, x)
    _, got = feed_chunked(stream_init(cfg), t0, x, sizes, pickle_at=pickle_at)
    assert len(want) >= 14
    assert_same_windows(got, want)
    assert np.array_equal(x, before)


@settings(max_examples=8, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 300), min_size=1, max_size=4),
    jitter=st.lists(st.integers(-7_000_000, 7_000_000), min_size=1, max_size=5),
)
def test_timestamp_jitter_below_half_period_changes_nothing(sizes: list[int], jitter: list[int]) -> None:
    fs_hz, x = _recording("bvp")  # period 15.6 ms, jitter up to 7 ms
    cfg = replace(default_config("bvp", fs_hz), window_s=20.0)
    want = stream_offline(cfg, T0_BASE_NS, x)
    _, got = feed_chunked(stream_init(cfg), T0_BASE_NS, x, sizes, jitter_ns=[0, *jitter])
    assert_same_windows(got, want)


def test_real_ecg_chunked_equals_offline(shared_data) -> None:  # type: ignore[no-untyped-def]
    """REAL 1000 Hz ECG (systole), 150 s, fed in 1 s and odd-sized chunks."""
    ecg = np.load(shared_data / "systole-ecg" / "task1_1000hz.npz")["ecg"][:150_000].astype(np.float64)[None, :]
    cfg = replace(default_config("ecg", 1000.0), window_s=30.0, hop_s=10.0)
    want = stream_offline(cfg, T0_BASE_NS, ecg)
    _, got = feed_chunked(stream_init(cfg), T0_BASE_NS, ecg, [1000, 1, 4999], pickle_at=frozenset({3}))
    assert len(want) >= 10
    assert_same_windows(got, want)


@settings(max_examples=8, deadline=None)
@given(
    sizes_a=st.lists(st.integers(1, 400), min_size=1, max_size=4),
    sizes_b=st.lists(st.integers(1, 400), min_size=1, max_size=4),
)
def test_gappy_recording_same_windows_for_any_chunking(sizes_a: list[int], sizes_b: list[int]) -> None:
    """SYNTHETIC PPG with a 0.5 s hole (interpolated) and a 30 s hole (reset): chunking is irrelevant."""
    fs_hz, x = _recording("bvp")
    cfg = replace(default_config("bvp", fs_hz), window_s=20.0)
    period_ns = 10**9 / fs_hz
    keep = np.ones(x.shape[1], dtype=bool)
    keep[2000:2032] = False  # 0.5 s
    keep[4000:5920] = False  # 30 s
    times = T0_BASE_NS + np.round(np.arange(x.shape[1]) * period_ns).astype(np.int64)
    segments = np.split(np.nonzero(keep)[0], np.nonzero(np.diff(np.nonzero(keep)[0]) > 1)[0] + 1)

    def run(sizes: list[int]) -> list:  # type: ignore[type-arg]
        state, out = stream_init(cfg), []
        k = 0
        for seg in segments:
            i = 0
            while i < seg.shape[0]:
                idx = seg[i : i + sizes[k % len(sizes)]]
                state, w = stream_step(state, int(times[idx[0]]), x[:, idx], seq=k)
                out.extend(w)
                i += idx.shape[0]
                k += 1
        assert state.n_resets == 1
        return out

    a, b = run(sizes_a), run(sizes_b)
    assert any(w.gap_fraction > 0 for w in a)
    assert_same_windows(a, b)
