"""The bounded reorder step (pipeline/reorder.py) and the ingest step built on it (pipeline/steps.py).

Chunks are SYNTHETIC (a slow sine as EDA at 4 Hz, 10 s per chunk): what is tested is the ordering
logic, and that windows after reordering equal the windows of the in-order stream bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.codec import decode_chunk, encode_binary
from pipeline.contract import SensorChunk
from pipeline.exceptions import ContinuityError
from pipeline.reorder import ReorderState, reorder_step
from pipeline.statecodec import decode_state, encode_state
from pipeline.steps import IngestStreamState, ingest_step, window_step

T0 = 1_700_000_000_000_000_000
FS_HZ = 4.0
N = 40  # 10 s per chunk


def _chunk(seq: int, *, shift_s: float = 0.0) -> SensorChunk:
    t = (np.arange(N) + seq * N) / FS_HZ
    x = (5 + np.sin(2 * np.pi * t / 37.0)).astype(np.float32).reshape(1, N)
    t0 = T0 + round((seq * N / FS_HZ + shift_s) * 1e9)
    return SensorChunk("S1", "s", "e4", "eda", ("eda",), ("uS",), FS_HZ, t0, seq, x)


def _feed(order: list[int], *, positions: list[int] | None = None, max_held: int = 8):
    state: ReorderState | None = None
    released: list[list[int]] = []
    for i, seq in enumerate(order):
        c = _chunk(seq)
        pos = i if positions is None else positions[i]
        state, out, refused = reorder_step(state, c, encode_binary(c), pos, decode=decode_chunk, max_held=max_held)
        assert not refused
        released.append([r.chunk.seq for r in out])
    assert state is not None
    return state, released


def test_in_order_chunks_pass_straight_through():
    state, released = _feed([0, 1, 2, 3])
    assert released == [[0], [1], [2], [3]]
    assert state.held == () and state.n_reordered == 0 and state.cursor is not None and state.cursor.last_seq == 3


def test_a_swapped_pair_is_released_in_seq_order():
    state, released = _feed([0, 2, 1, 3])
    assert released == [[0], [], [1, 2], [3]]
    assert state.n_reordered == 1 and state.n_gaps == 0


def test_the_bound_gives_up_on_a_missing_seq_and_refuses_it_later():
    order = [0, *range(2, 11)]  # seq 1 never comes: 9 chunks ahead of it, bound 8
    state, released = _feed(order)
    assert released[:-1] == [[0]] + [[]] * 8
    assert released[-1] == list(range(2, 11))  # the 9th forces the oldest out (gap), the rest follows in order
    assert state.n_gaps == 1 and state.held == ()
    late = _chunk(1)
    with pytest.raises(ContinuityError, match="reorder bound of 8 chunks"):
        reorder_step(state, late, encode_binary(late), 99, decode=decode_chunk)


def test_the_gap_is_reported_on_the_chunk_after_it():
    state, _ = _feed([0])
    c = _chunk(2)
    state, out, _ = reorder_step(state, c, encode_binary(c), 1, decode=decode_chunk, max_held=0)
    assert [r.chunk.seq for r in out] == [2] and out[0].report.missing_seq == 1


def test_redelivery_is_skipped_and_a_resent_duplicate_refused():
    state, _ = _feed([0, 1])
    c = _chunk(1)
    again, out, _ = reorder_step(state, c, encode_binary(c), 1, decode=decode_chunk)  # same position: re-delivery
    assert out == [] and again.cursor == state.cursor
    with pytest.raises(ContinuityError, match="duplicate seq 1"):
        reorder_step(state, c, encode_binary(c), 7, decode=decode_chunk)  # a new position: the device sent it twice


def test_a_prefetched_message_delivered_first_after_a_rebalance_loses_nothing():
    """faust-streaming #221: offsets 0..4 processed; after a rebalance the consumer first hands over the
    prefetched offset 9, then re-reads 5..9 from the committed offset."""
    order = [0, 1, 2, 3, 4, 9, 5, 6, 7, 8, 9]
    state, released = _feed(order, positions=order)
    assert released == [[0], [1], [2], [3], [4], [], [5], [6], [7], [8, 9], []]
    assert state.cursor is not None and state.cursor.last_seq == 9 and state.n_gaps == 0


def test_a_held_chunk_that_fails_continuity_is_refused_with_its_bytes():
    state, _ = _feed([0])
    bad = _chunk(2, shift_s=-30.0)  # starts 30 s before the end of seq 0... once seq 1 is given up on
    state, out, refused = reorder_step(state, bad, encode_binary(bad), 1, decode=decode_chunk, max_held=1)
    assert out == [] and refused == []
    c3 = _chunk(3)
    state, out, refused = reorder_step(state, c3, encode_binary(c3), 2, decode=decode_chunk, max_held=1)
    assert [r.chunk.seq for r in out] == [3]
    assert len(refused) == 1 and refused[0].payload == encode_binary(bad) and refused[0].position == 1
    assert "time going backwards" in str(refused[0].error)


def test_ingest_step_windows_equal_the_in_order_stream_and_the_state_round_trips():
    rng = np.random.default_rng(3)
    order = [0]  # a stream's first chunk starts it (nothing before it can be awaited)
    for a in range(1, 40, 4):  # then blocks of 4 in a random order: each chunk at most 3 places off
        order += [int(x) for x in rng.permutation(np.arange(a, min(a + 4, 40)))]
    assert order != sorted(order)
    ref_state, ref = None, []
    for seq in range(40):
        ref_state, w = window_step(ref_state, _chunk(seq))
        ref += w
    state, got = None, []
    for pos, seq in enumerate(order):
        c = _chunk(seq)
        state, out = ingest_step(state, c, encode_binary(c), pos, plan=None, decode=decode_chunk)
        state = decode_state(encode_state(state))  # as if read back from the changelog after every chunk
        assert isinstance(state, IngestStreamState)
        got += [w for _, _, ws in out.chunks for w in ws]
    assert len(got) == len(ref) > 50
    for a, b in zip(got, ref, strict=True):
        assert (a.start_ns, a.end_ns, a.gap_fraction) == (b.start_ns, b.end_ns, b.gap_fraction)
        assert np.array_equal(a.samples, b.samples)
        assert a.features.keys() == b.features.keys()
        assert all(np.array_equal(a.features[k], b.features[k], equal_nan=True) for k in a.features)


def test_ingest_step_takes_over_a_bare_stream_state_of_the_former_window_stage():
    stream, _ = window_step(None, _chunk(0))
    c = _chunk(1)
    state, out = ingest_step(stream, c, encode_binary(c), 0, plan=None, decode=decode_chunk)
    assert state.stream is not None and state.stream.last_seq == 1 and len(out.chunks) == 1
