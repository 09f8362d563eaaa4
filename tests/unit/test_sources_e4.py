"""E4 parser and session chunker, checked against the real CSV files of one subject."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.contract import StreamCursor, continuity_step, validate_chunk
from pipeline.exceptions import SignalError
from pipeline.sources.e4 import (
    E4_MODALITIES,
    E4Signal,
    e4_session_chunks,
    parse_e4_csv,
    parse_e4_ibi,
    parse_e4_tags,
)

SUBJECT = "S02"


@pytest.fixture(scope="module")
def s02_dir(shared_data: Path) -> Path:
    return shared_data / "stress-predict" / "Raw_data" / SUBJECT


@pytest.fixture(scope="module")
def s02(s02_dir: Path) -> dict[str, E4Signal]:
    return {name: parse_e4_csv((s02_dir / f"{name}.csv").read_text(), name) for name in E4_MODALITIES}


def csv_reference(path: Path) -> tuple[float, float, np.ndarray]:
    """Start (s), rate (Hz) and samples (n, columns) read independently with pandas."""
    head = pd.read_csv(path, header=None, nrows=2)
    body = pd.read_csv(path, header=None, skiprows=2).to_numpy(dtype=np.float64)
    return float(head.iloc[0, 0]), float(head.iloc[1, 0]), body


def test_parse_matches_csv(s02_dir: Path, s02: dict[str, E4Signal]) -> None:
    for name, sig in s02.items():
        start_s, fs_hz, body = csv_reference(s02_dir / f"{name}.csv")
        assert sig.t0_ns == round(start_s * 1e9)
        assert sig.fs_hz == fs_hz
        expected = body.T / 64.0 if name == "ACC" else body.T
        np.testing.assert_array_equal(sig.samples, expected.astype(np.float32))
    assert s02["BVP"].fs_hz == 64.0 and s02["ACC"].channels == ("x", "y", "z")
    assert s02["ACC"].units == ("g", "g", "g")


@pytest.mark.parametrize("chunk_s", [1.0, 2.5])
def test_chunks_reconstruct_every_stream_exactly(s02_dir: Path, s02: dict[str, E4Signal], chunk_s: float) -> None:
    chunks = list(e4_session_chunks(s02, subject_id=SUBJECT, session_id="sp", chunk_s=chunk_s))
    starts = [c.t0_ns for c in chunks]
    assert starts == sorted(starts), "chunks must come in event-time order"
    for name, modality in E4_MODALITIES.items():
        mine = [c for c in chunks if c.modality == modality]
        assert [c.seq for c in mine] == list(range(len(mine)))
        start_s, fs_hz, body = csv_reference(s02_dir / f"{name}.csv")
        rebuilt = np.concatenate([c.samples for c in mine], axis=1).astype(np.float64)
        if name == "ACC":
            rebuilt = rebuilt * 64.0  # back to the file's 1/64 g counts, exactly
        np.testing.assert_array_equal(rebuilt, body.T.astype(np.float32).astype(np.float64))
        offsets = np.cumsum([0] + [c.n_samples for c in mine[:-1]])
        expected_t0 = [round(start_s * 1e9) + round(int(k) * 1e9 / fs_hz) for k in offsets]
        assert [c.t0_ns for c in mine] == expected_t0
        assert all(c.n_samples == round(chunk_s * fs_hz) for c in mine[:-1])
        cursor: StreamCursor | None = None
        for c in mine:
            validate_chunk(c)
            cursor, report = continuity_step(cursor, c)
            assert not report.has_gap
        assert cursor is not None and cursor.n_samples == body.shape[0]


def test_ties_keep_modality_order_and_offset(s02: dict[str, E4Signal]) -> None:
    offset = -1_644_227_574_000_000_000 + 5
    chunks = e4_session_chunks(s02, subject_id=SUBJECT, session_id="sp", t0_offset_ns=offset)
    first = [next(chunks) for _ in range(5)]
    assert [c.modality for c in first] == ["bvp", "eda", "temp", "acc", "bvp"]
    assert [c.t0_ns for c in first[:4]] == [5] * 4
    assert first[4].t0_ns == 5 + 1_000_000_000


def test_ibi_and_tags(s02_dir: Path) -> None:
    ibi = parse_e4_ibi((s02_dir / "IBI.csv").read_text())
    ref = pd.read_csv(s02_dir / "IBI.csv", header=None, skiprows=1).to_numpy()
    np.testing.assert_array_equal(ibi.beat_offsets_s, ref[:, 0])
    np.testing.assert_array_equal(ibi.ibi_s, ref[:, 1])
    tags = parse_e4_tags((s02_dir / f"tags_{SUBJECT}.csv").read_text())
    assert tags.dtype == np.int64 and len(tags) == len(pd.read_csv(s02_dir / f"tags_{SUBJECT}.csv", header=None))
    assert (np.diff(tags) > 0).all()


def test_small_text_and_errors() -> None:
    acc = parse_e4_csv("10.5, 10.5, 10.5\n32.0, 32.0, 32.0\n64,-64,1\n0,0,0\n", "ACC")
    assert acc.t0_ns == 10_500_000_000
    np.testing.assert_array_equal(acc.samples[:, 0], [1.0, -1.0, 1 / 64])
    empty = parse_e4_csv("10\n4\n", "EDA")
    assert empty.n_samples == 0
    assert list(e4_session_chunks({"EDA": empty}, subject_id="s", session_id="x")) == []
    with pytest.raises(SignalError, match="unknown E4 file"):
        parse_e4_csv("10\n4\n1\n", "GSR")
    with pytest.raises(SignalError, match="start at different times"):
        parse_e4_csv("10, 11, 10\n32, 32, 32\n1,2,3\n", "ACC")
    with pytest.raises(SignalError, match="3 columns in the samples, 1 in the header"):
        parse_e4_csv("10\n4\n1,2,3\n", "EDA")
    with pytest.raises(SignalError, match="sample rate"):
        parse_e4_csv("10\n0\n1\n", "EDA")
    with pytest.raises(SignalError, match="not a unix time"):
        parse_e4_csv("yesterday\n4\n1\n", "EDA")
    with pytest.raises(SignalError, match="malformed sample rows"):
        parse_e4_csv("10\n4\n1\nabc\n", "EDA")
    with pytest.raises(SignalError, match="not streamed"):
        list(e4_session_chunks({"HR": parse_e4_csv("10\n1\n80\n", "HR")}, subject_id="s", session_id="x"))
