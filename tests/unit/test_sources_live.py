"""The live chunk assembler: any split of the incoming blocks gives the same chunks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.contract import continuity_step, validate_chunk
from pipeline.exceptions import SignalError
from pipeline.sources.live import AssemblerState, LiveStream, assemble_flush, assemble_step

REGULAR = LiveStream("s", "live", "dev", "eeg", ("a", "b"), ("uV", "uV"), 100.0, chunk_samples=7)
IRREGULAR = LiveStream("s", "live", "dev", "video_features", ("AU12_r",), ("",), None, chunk_samples=5)


def run(spec: LiveStream, x: np.ndarray, t: np.ndarray, cuts: list[int]) -> list:
    state, out = AssemblerState(), []
    for a, b in zip([0, *cuts], [*cuts, x.shape[1]], strict=True):
        state = pickle.loads(pickle.dumps(state))  # state survives pickling between blocks
        state, chunks = assemble_step(spec, state, x[:, a:b], t[a:b])
        out += chunks
    _, last = assemble_flush(spec, state)
    return out + last


@given(st.integers(1, 60), st.data())
@settings(max_examples=50, deadline=None)
def test_any_block_split_gives_the_same_chunks(n: int, data: st.DataObject) -> None:
    for spec in (REGULAR, IRREGULAR):
        x = np.arange(len(spec.channels) * n, dtype=np.float32).reshape(len(spec.channels), n)
        t = 10**18 + np.arange(n, dtype=np.int64) * 10_000_000
        cuts = sorted(set(data.draw(st.lists(st.integers(0, n), max_size=6))))
        whole, split = run(spec, x, t, []), run(spec, x, t, cuts)
        assert len(whole) == len(split) == -(-n // spec.chunk_samples)
        assert all(a == b for a, b in zip(whole, split, strict=True))
        np.testing.assert_array_equal(np.concatenate([c.samples for c in split], axis=1), x)
        cursor = None
        for c in split:
            validate_chunk(c)
            cursor, rep = continuity_step(cursor, c)
            assert not rep.has_gap
        assert [c.t0_ns for c in split] == [int(t[k]) for k in range(0, n, spec.chunk_samples)]


def test_input_not_modified_and_shape_checked() -> None:
    x = np.ones((2, 10), dtype=np.float32)
    t = np.arange(10, dtype=np.int64)
    before = x.copy()
    assemble_step(REGULAR, AssemblerState(), x, t)
    np.testing.assert_array_equal(x, before)
    with pytest.raises(SignalError, match="channels"):
        assemble_step(REGULAR, AssemblerState(), np.ones((3, 10)), t)
    assert assemble_flush(REGULAR, AssemblerState())[1] == []
