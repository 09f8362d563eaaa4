"""Replay pacing with an injected clock, the in-memory sink, and the replay file discovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents.producer import MemorySink, check_compression, paced, publish
from agents.sources import REFERENCE_T0_NS, count_chunks, e4_start_ns, find_recordings, replay_chunks
from pipeline.contract import SensorChunk
from pipeline.exceptions import SignalError

T0 = 1_000_000_000_000_000_000


class FakeClock:
    """Wall clock that only moves when slept on (or when work is simulated with ``advance``)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        assert s > 0
        self.sleeps.append(s)
        self.now += s


def chunk(seq: int, t0_ns: int, n: int = 4, fs: float = 4.0, modality: str = "eda") -> SensorChunk:
    return SensorChunk("S", "x", "d", modality, ("v",), ("u",), fs, t0_ns, seq, np.zeros((1, n), np.float32))


def test_real_time_pacing_releases_each_chunk_at_its_end() -> None:
    clock = FakeClock()
    chunks = [chunk(k, T0 + k * 1_000_000_000) for k in range(5)]  # 1 s chunks
    released = []
    for c in paced(chunks, speed=1.0, clock=clock, sleep=clock.sleep):
        released.append((c.seq, clock.now))
    assert released == [(0, 101.0), (1, 102.0), (2, 103.0), (3, 104.0), (4, 105.0)]


def test_speed_and_fast() -> None:
    clock = FakeClock()
    chunks = [chunk(k, T0 + k * 1_000_000_000) for k in range(4)]
    list(paced(chunks, speed=10.0, clock=clock, sleep=clock.sleep))
    assert clock.now == pytest.approx(100.4)
    clock2 = FakeClock()
    assert len(list(paced(chunks, speed=None, clock=clock2, sleep=clock2.sleep))) == 4
    assert clock2.sleeps == []
    with pytest.raises(ValueError, match="speed"):
        list(paced(chunks, speed=0.0))


def test_lateness_does_not_accumulate() -> None:
    """If sending takes longer than real time for a while, later chunks are not delayed further."""
    clock = FakeClock()
    chunks = [chunk(k, T0 + k * 1_000_000_000) for k in range(6)]
    times = []
    for c in paced(chunks, speed=1.0, clock=clock, sleep=clock.sleep):
        times.append(clock.now)
        if c.seq == 1:
            clock.now += 2.5  # a slow send
    assert times[:2] == [101.0, 102.0]
    assert times[2] == pytest.approx(104.5) and times[3] == pytest.approx(104.5)  # late: no sleep
    assert times[4:] == [105.0, 106.0]  # back on the original schedule


def test_interleaved_streams_follow_event_time() -> None:
    clock = FakeClock()
    eda = [chunk(k, T0 + k * 1_000_000_000) for k in range(3)]
    acc = [chunk(k, T0 + 500_000_000 + k * 1_000_000_000, n=16, fs=32.0, modality="acc") for k in range(3)]
    merged = sorted(eda + acc, key=lambda c: c.t0_ns)
    sink = MemorySink()
    sent = publish(merged, sink, speed=2.0, clock=clock, sleep=clock.sleep)
    assert [c.modality for c in sink.chunks] == ["eda", "acc"] * 3
    assert sent.chunks == 6 and sent.samples == 3 * 4 + 3 * 16 and sink.flushes == 1
    assert clock.now == pytest.approx(100.0 + 3.0 / 2.0)  # last acc chunk ends at T0 + 3 s


def test_memory_sink_validates() -> None:
    bad = SensorChunk("S", "x", "d", "eda", ("v",), ("u",), 4.0, 0, 0, np.full((1, 2), np.nan, np.float32))
    with pytest.raises(Exception, match="non-finite"):
        MemorySink().send(bad)


def test_compression_check() -> None:
    assert check_compression("gzip") == "gzip"
    assert check_compression("none") is None
    with pytest.raises(ValueError, match="unknown compression"):
        check_compression("brotli")


def test_replay_two_subjects_interleaved(shared_data: Path) -> None:
    raw = shared_data / "stress-predict" / "Raw_data"
    recs = find_recordings([raw / "S02", raw / "S03"])
    assert [(r.kind, r.subject_id) for r in recs] == [("e4", "S02"), ("e4", "S03")]
    sink = MemorySink()
    publish(replay_chunks(recs, chunk_s=10.0), sink, speed=None)
    starts = [c.t0_ns for c in sink.chunks]
    assert starts == sorted(starts)
    assert {c.subject_id for c in sink.chunks} == {"S02", "S03"}
    assert count_chunks(recs, chunk_s=10.0) == len(sink.chunks)
    s02_start, s03_start = (e4_start_ns(r) for r in recs)
    assert s03_start - s02_start > 3600 * 10**9  # recorded an hour apart ...
    firsts = {c.subject_id: c.t0_ns for c in reversed(sink.chunks)}
    assert firsts == {"S02": s02_start, "S03": s02_start}  # ... but replayed side by side
    kept = {c.subject_id: c.t0_ns for c in reversed(list(replay_chunks(recs, chunk_s=10.0, align_starts=False)))}
    assert kept == {"S02": s02_start, "S03": s03_start}
    for subject in ("S02", "S03"):
        n_bvp = sum(c.n_samples for c in sink.chunks if c.subject_id == subject and c.modality == "bvp")
        lines = (raw / subject / "BVP.csv").read_text().splitlines()
        assert n_bvp == len([ln for ln in lines[2:] if ln.strip()])


def test_replay_rebase_and_untimed_sources(shared_data: Path) -> None:
    raw = shared_data / "stress-predict" / "Raw_data"
    npz = shared_data / "ravdess" / "frames" / "Actor01.npz"
    face = shared_data / "openface" / "OpenFace_Test.csv"
    recs = find_recordings([raw / "S02", npz, face])
    assert [r.kind for r in recs] == ["e4", "egemaps", "openface"]
    now = 2_000_000_000_000_000_000
    chunks = list(replay_chunks(recs, chunk_s=1.0, rebase_to_ns=now, subject_ids=["s2", "a1", "f"]))
    firsts = {c.subject_id: c.t0_ns for c in reversed(chunks)}
    assert firsts == {"s2": now, "a1": now, "f": now}
    audio = [c for c in chunks if c.modality == "audio_features"]
    assert [c.seq for c in audio] == list(range(len(audio)))
    assert sum(c.n_samples for c in audio) == sum(v.shape[0] for k, v in np.load(npz).items() if k != "columns")
    only_face = list(replay_chunks(find_recordings([face]), chunk_s=1.0))
    assert only_face[0].t0_ns == REFERENCE_T0_NS


def test_find_recordings_errors(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SignalError, match="not an E4 session"):
        find_recordings([tmp_path / "notes.txt"])
    with pytest.raises(SignalError, match="subject ids"):
        replay_chunks([], subject_ids=["a"])
