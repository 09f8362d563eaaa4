"""Helpers shared by the stream tests: chunked feeding and exact window comparison."""

from __future__ import annotations

import math
import pickle

import numpy as np

from pipeline.stream import StreamState, Window, stream_step
from pipeline.windowing import sample_time_ns


def feed_chunked(
    state: StreamState,
    t0_ns: int,
    x: np.ndarray,
    sizes: list[int],
    *,
    pickle_at: frozenset[int] = frozenset(),
    jitter_ns: list[int] | None = None,
) -> tuple[StreamState, list[Window]]:
    """Feed ``x`` (channels, n) in chunks of ``sizes`` (cycled), true timestamps (+ optional jitter)."""
    out: list[Window] = []
    i = 0
    k = 0
    while i < x.shape[1]:
        size = sizes[k % len(sizes)]
        jitter = jitter_ns[k % len(jitter_ns)] if jitter_ns else 0
        state, wins = stream_step(state, sample_time_ns(t0_ns, i, state.cfg.fs_hz) + jitter, x[:, i : i + size], seq=k)
        out.extend(wins)
        if k in pickle_at:
            state = pickle.loads(pickle.dumps(state))
        i += size
        k += 1
    return state, out


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_same_windows(got: list[Window], want: list[Window]) -> None:
    """Exact (bitwise) equality of two window lists, NaN == NaN in features."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (g.modality, g.start_ns, g.end_ns, g.fs_hz) == (w.modality, w.start_ns, w.end_ns, w.fs_hz)
        assert np.array_equal(g.samples, w.samples)
        assert g.gap_fraction == w.gap_fraction
        assert g.quality == w.quality and g.quality_reasons == w.quality_reasons
        assert list(g.features) == list(w.features)
        assert all(_same_float(g.features[k], w.features[k]) for k in g.features)
