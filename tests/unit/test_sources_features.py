"""eGeMAPS frames and OpenFace CSV -> feature streams, checked against the real fixture files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.contract import StreamCursor, continuity_step, validate_chunk
from pipeline.exceptions import SignalError
from pipeline.sources.openface import openface_chunks, parse_openface_csv
from pipeline.sources.opensmile import egemaps_unit, opensmile_chunks

T0 = 1_700_000_000_000_000_000


def test_egemaps_frames_round_trip(shared_data: Path) -> None:
    z = np.load(shared_data / "ravdess" / "frames" / "Actor01.npz")
    columns = [str(c) for c in z["columns"]]
    stem = sorted(k for k in z.files if k != "columns")[0]
    frames = z[stem]
    chunks = list(opensmile_chunks(frames, columns, subject_id="A01", session_id=stem, t0_ns=T0, chunk_s=0.5))
    assert all(c.modality == "audio_features" and c.fs_hz == 100.0 for c in chunks)
    assert [c.n_samples for c in chunks[:-1]] == [50] * (len(chunks) - 1)
    rebuilt = np.concatenate([c.samples for c in chunks], axis=1)
    np.testing.assert_array_equal(rebuilt.T, frames.astype(np.float32))
    assert chunks[0].channels == tuple(columns) and len(columns) == 25
    assert [c.t0_ns for c in chunks[:3]] == [T0, T0 + 500_000_000, T0 + 1_000_000_000]  # 10 ms hop
    cursor: StreamCursor | None = None
    for c in chunks:
        validate_chunk(c)
        cursor, rep = continuity_step(cursor, c)
        assert not rep.has_gap
    assert egemaps_unit("F1frequency_sma3nz") == "Hz" and egemaps_unit("mfcc1_sma3") == ""


def test_egemaps_shape_errors() -> None:
    with pytest.raises(SignalError, match="shape"):
        list(opensmile_chunks(np.zeros((10, 3)), ("a", "b"), subject_id="s", session_id="x", t0_ns=0))
    with pytest.raises(SignalError, match="chunk_s"):
        list(opensmile_chunks(np.zeros((10, 2)), ("a", "b"), subject_id="s", session_id="x", t0_ns=0, chunk_s=0))


@pytest.fixture(scope="module")
def openface_text(shared_data: Path) -> str:
    return (shared_data / "openface" / "OpenFace_Test.csv").read_text()


def test_openface_old_layout_matches_pandas(shared_data: Path, openface_text: str) -> None:
    ref = pd.read_csv(shared_data / "openface" / "OpenFace_Test.csv", skipinitialspace=True)
    table = parse_openface_csv(openface_text)
    au_r = [c for c in ref.columns if c.startswith("AU") and c.endswith("_r")]
    au_c = [c for c in ref.columns if c.startswith("AU") and c.endswith("_c")]
    assert table.channels == tuple(au_r + au_c)
    assert len(au_r) == 17 and len(au_c) == 18
    np.testing.assert_array_equal(table.values, ref[au_r + au_c].to_numpy(np.float32))
    np.testing.assert_array_equal(table.timestamps_s, ref["timestamp"].to_numpy())
    assert table.units[0] == "intensity 0-5" and table.units[-1] == "presence 0/1"


def new_layout(text: str, fail_rows: set[int]) -> str:
    """The fixture rewritten in the OpenFace 2.2 layout: face_id and gaze_angle_* columns, columns reordered."""
    lines = text.splitlines()
    names = [n.strip() for n in lines[0].split(",")]
    rows = [ln.split(",") for ln in lines[1:]]
    out_names = ["frame", "face_id", *names[1:4], "gaze_angle_x", "gaze_angle_y", *names[4:]]
    out = [", ".join(out_names)]
    for k, r in enumerate(rows):
        r = [v.strip() for v in r]
        if k in fail_rows:
            r[3] = "0"  # success column
        out.append(", ".join([r[0], "0", *r[1:4], "0.1", "-0.2", *r[4:]]))
    return "\n".join(out) + "\n"


def test_openface_new_layout_and_failed_frames(openface_text: str) -> None:
    old = parse_openface_csv(openface_text)
    new = parse_openface_csv(new_layout(openface_text, fail_rows={3, 4, 50}))
    keep = np.setdiff1d(np.arange(100), [3, 4, 50])
    assert new.channels == old.channels
    np.testing.assert_array_equal(new.values, old.values[keep])
    np.testing.assert_array_equal(new.timestamps_s, old.timestamps_s[keep])
    kept_all = parse_openface_csv(new_layout(openface_text, fail_rows={3}), keep_failed=True)
    assert kept_all.values.shape == old.values.shape


def test_openface_chunks_are_irregular_and_continuous(openface_text: str) -> None:
    table = parse_openface_csv(new_layout(openface_text, fail_rows=set(range(20, 45))))
    chunks = list(openface_chunks(table, subject_id="s", session_id="v", t0_ns=T0, chunk_s=0.01))
    assert all(c.fs_hz is None and c.modality == "video_features" for c in chunks)
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    times = np.concatenate([c.timestamps_ns for c in chunks if c.timestamps_ns is not None])
    np.testing.assert_array_equal(times, T0 + np.round(table.timestamps_s * 1e9).astype(np.int64))
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks], axis=1).T, table.values)
    reports = []
    cursor: StreamCursor | None = None
    for c in chunks:
        validate_chunk(c)
        cursor, rep = continuity_step(cursor, c, gap_tolerance_s=0.005)
        reports.append(rep)
    assert sum(r.time_gap for r in reports) == 1  # the dropped frames 20..44 leave one 26 ms hole


def test_openface_errors() -> None:
    with pytest.raises(SignalError, match="timestamp"):
        parse_openface_csv("frame, AU01_r\n1, 0.5\n")
    with pytest.raises(SignalError, match="fields"):
        parse_openface_csv("frame, timestamp, AU01_r\n1, 0.5\n")
    with pytest.raises(SignalError, match="increase"):
        parse_openface_csv("frame, timestamp, AU01_r\n1, 0.5, 1\n2, 0.5, 1\n")
    empty = parse_openface_csv("frame, timestamp, AU01_r\n")
    assert list(openface_chunks(empty, subject_id="s", session_id="v", t0_ns=0)) == []
