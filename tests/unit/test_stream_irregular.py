"""Irregular streams (OpenFace-like frames with timestamps) on the nominal clock. SYNTHETIC frames."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.stream import StreamState, Window, default_config, stream_init, stream_step
from tests.unit._stream_helpers import assert_same_windows

T0 = 1_700_000_002_000_000_000
CH = ("AU12_r", "AU12_c")


def _frames(seconds: float = 40.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """SYNTHETIC ~30 fps frames with +-5 ms jitter, 5 % dropped, AU12 smile bursts."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 30)
    ts = T0 + np.round(np.arange(n) * 1e9 / 30 + rng.uniform(-5e6, 5e6, n)).astype(np.int64)
    keep = rng.random(n) > 0.05
    keep[0] = True
    intensity = np.clip(2.5 * np.sin(np.arange(n) / 40.0) + rng.normal(0, 0.2, n), 0, 5)
    x = np.stack([intensity, (intensity > 1.0).astype(np.float64)])
    return ts[keep], x[:, keep]


def _cfg():  # type: ignore[no-untyped-def]
    return replace(default_config("video_features", 30.0, channels=CH), window_s=5.0, hop_s=5.0)


def _feed(state: StreamState, ts: np.ndarray, x: np.ndarray, sizes: list[int]) -> tuple[StreamState, list[Window]]:
    out: list[Window] = []
    i, k = 0, 0
    while i < ts.shape[0]:
        j = i + sizes[k % len(sizes)]
        state, w = stream_step(state, int(ts[i]), x[:, i:j], seq=k, timestamps_ns=ts[i:j])
        state = pickle.loads(pickle.dumps(state))
        out.extend(w)
        i, k = j, k + 1
    return state, out


@settings(max_examples=10, deadline=None)
@given(sizes=st.lists(st.integers(1, 200), min_size=1, max_size=5))
def test_irregular_chunked_equals_one_shot(sizes: list[int]) -> None:
    ts, x = _frames()
    before = x.copy()
    _, want = stream_step(stream_init(_cfg()), int(ts[0]), x, timestamps_ns=ts)
    _, got = _feed(stream_init(_cfg()), ts, x, sizes)
    assert len(want) == 7
    assert_same_windows(got, want)
    assert np.array_equal(x, before)


def test_hold_is_causal_and_matches_last_frame() -> None:
    ts, x = _frames()
    _, wins = stream_step(stream_init(replace(_cfg(), keep_raw=True)), int(ts[0]), x, timestamps_ns=ts)
    w = wins[2]
    assert w.raw is not None
    anchor = int(ts[0])  # the nominal clock starts at the first frame
    i0 = int(np.ceil((w.start_ns - anchor) * 30 / 1e9))
    t_nominal = anchor + np.round((i0 + np.arange(w.raw.shape[1])) * 1e9 / 30).astype(np.int64)
    assert t_nominal[0] >= w.start_ns > t_nominal[0] - 1e9 / 30
    # independent check: the frame at or before each nominal time
    k = np.array([np.max(np.nonzero(ts <= t)[0]) for t in t_nominal])
    assert np.array_equal(w.raw, x[:, k])
    assert w.features["VIDEO_AU12_Intensity_Mean"] == np.mean(x[0, k])


def test_long_frame_dropout_is_flagged() -> None:
    ts, x = _frames()
    lost = (ts > T0 + 21 * 10**9) & (ts < T0 + 23 * 10**9)  # face lost for 2 s
    _, wins = stream_step(stream_init(_cfg()), int(ts[0]), x[:, ~lost], timestamps_ns=ts[~lost])
    hit = [w for w in wins if w.start_ns <= T0 + 22 * 10**9 < w.end_ns]
    assert hit and all(w.gap_fraction > 0.3 and "gap" in w.quality_reasons for w in hit)
