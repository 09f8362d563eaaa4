"""The sensor-chunk contract: validation reasons, helpers and stream continuity."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
from hypothesis import given, settings

from pipeline.contract import (
    SCHEMA_VERSION,
    ContinuityReport,
    SensorChunk,
    StreamCursor,
    continuity_step,
    validate_chunk,
)
from pipeline.exceptions import ContractError
from tests.unit.chunk_strategies import chunks


def make(**kw: object) -> SensorChunk:
    base: dict[str, object] = dict(
        subject_id="S02",
        session_id="sess",
        device_id="e4",
        modality="acc",
        channels=("x", "y", "z"),
        units=("1/64 g",) * 3,
        fs_hz=32.0,
        t0_ns=1_644_227_574_000_000_000,
        seq=0,
        samples=np.arange(3 * 32, dtype=np.float32).reshape(3, 32),
    )
    base.update(kw)
    return SensorChunk(**base)  # type: ignore[arg-type]


def irregular(t_ns: list[int], seq: int = 0) -> SensorChunk:
    ts = np.array(t_ns, dtype=np.int64)
    return make(
        modality="video_features",
        channels=("AU12_r",),
        units=("intensity 0-5",),
        fs_hz=None,
        t0_ns=int(ts[0]),
        seq=seq,
        samples=np.ones((1, len(ts)), dtype=np.float32),
        timestamps_ns=ts,
    )


def test_valid_chunk_and_helpers() -> None:
    c = make()
    validate_chunk(c)
    assert c.n_samples == 32
    assert c.t_end_ns == c.t0_ns + 1_000_000_000  # 32 samples at 32 Hz = 1 s
    assert c.stream_key == "S02/sess/e4/acc"
    assert c.schema_version == SCHEMA_VERSION
    times = c.sample_times_ns()
    assert times[1] - times[0] == 31_250_000


def test_irregular_helpers() -> None:
    c = irregular([10, 20, 45])
    validate_chunk(c)
    assert c.t_end_ns == 46
    assert list(c.sample_times_ns()) == [10, 20, 45]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (dict(subject_id=""), "bad id: subject_id '' must not be empty"),
        (dict(session_id="  "), "bad id: session_id '  ' contains ' ' at index 0; allowed"),
        (dict(device_id=None), "bad id: device_id None must be a string"),
        (dict(subject_id="S" * 65), "is 65 characters long (limit 64)"),
        (dict(subject_id="S02\x1b[2J"), "contains an ANSI escape (ESC, U+001B) at index 3"),
        (dict(subject_id="S02\u202egnp"), "contains a bidirectional-text control (U+202E) at index 3"),
        (dict(subject_id="S02\x00"), "contains a control or format character (U+0000) at index 3"),
        (dict(subject_id="S02\n"), "contains a control or format character (U+000A) at index 3"),
        (dict(session_id="cafe\u0301"), "is not in Unicode NFC form"),
        (dict(device_id="caf\u00e9"), "contains '\\xe9' at index 3"),
        (dict(device_id="S\u212a"), "is not in Unicode NFC form"),  # KELVIN SIGN: NFC would silently make it "SK"
        (dict(seq=2**70), "seq out of range: must be an int in [0, 2**63)"),
        (dict(seq=2**63), "seq out of range"),
        (dict(t0_ns=2**64), "t0_ns out of range"),
        (dict(units=("g", "g", "g\x1b[0m")), "bad unit 'g\\x1b[0m': contains the non-printable character U+001B"),
        (dict(channels=("x", "y", "z" * 65)), "bad channel name"),
        (dict(modality="smell"), "unknown modality 'smell'"),
        (dict(schema_version=2), "unknown schema_version 2"),
        (dict(channels=("x", "y"), units=("g", "g")), "samples has 3 rows for 2 channels"),
        (dict(channels=("x", "x", "z")), "channel names must be unique"),
        (dict(channels=()), "channels must be a non-empty tuple"),
        (dict(units=("g",)), "1 units for 3 channels"),
        (dict(samples=np.zeros((3, 4), dtype=np.float64)), "samples must be a float32 ndarray"),
        (dict(samples=np.zeros(12, dtype=np.float32)), "samples must have shape (channels, n)"),
        (dict(samples=np.zeros((3, 0), dtype=np.float32)), "empty chunk"),
        (dict(fs_hz=0.0), "rate out of range"),
        (dict(fs_hz=20_000.0), "rate out of range"),
        (dict(fs_hz=float("nan")), "bad rate: fs_hz must be a finite number"),
        (dict(t0_ns=-1), "t0_ns out of range: must be an int"),
        (dict(t0_ns=1.5), "t0_ns out of range: must be an int"),
        (dict(seq=-1), "seq out of range: must be an int in [0, 2**63)"),
        (dict(synthetic="yes"), "synthetic must be a bool"),
        (dict(fs_hz=None), "irregular stream (fs_hz None) needs timestamps_ns"),
        (dict(timestamps_ns=np.arange(32, dtype=np.int64)), "timestamps_ns must be None when fs_hz is set"),
    ],
)
def test_validation_reasons(change: dict[str, object], reason: str) -> None:
    with pytest.raises(ContractError, match=None) as info:
        validate_chunk(make(**change))
    assert reason in str(info.value)


def test_non_finite_reported_with_position() -> None:
    x = np.zeros((3, 32), dtype=np.float32)
    x[2, 7] = np.inf
    with pytest.raises(ContractError, match=r"non-finite sample .* channel 2, index 7"):
        validate_chunk(make(samples=x))
    x[2, 7] = np.nan
    with pytest.raises(ContractError, match="non-finite"):
        validate_chunk(make(samples=x))


def test_oversized_chunk() -> None:
    validate_chunk(make(), max_samples=96)
    with pytest.raises(ContractError, match="oversized chunk: 96 values"):
        validate_chunk(make(), max_samples=95)


def test_timestamp_rules() -> None:
    with pytest.raises(ContractError, match="timestamps not increasing at index 2"):
        validate_chunk(irregular([10, 20, 20]))
    bad_len = dataclasses.replace(irregular([10, 20, 30]), timestamps_ns=np.array([10, 20], dtype=np.int64))
    with pytest.raises(ContractError, match="2 timestamps for 3 samples"):
        validate_chunk(bad_len)
    bad_t0 = dataclasses.replace(irregular([10, 20, 30]), t0_ns=11)
    with pytest.raises(ContractError, match="differs from t0_ns"):
        validate_chunk(bad_t0)
    wrong_dtype = dataclasses.replace(irregular([10, 20]), timestamps_ns=np.array([10.0, 20.0]))
    with pytest.raises(ContractError, match="1-D int64"):
        validate_chunk(wrong_dtype)


def test_not_a_chunk() -> None:
    with pytest.raises(ContractError, match="expected a SensorChunk"):
        validate_chunk("chunk")  # type: ignore[arg-type]


def test_chunk_is_immutable_and_input_untouched() -> None:
    x = np.ones((3, 32), dtype=np.float32)
    c = make(samples=x)
    with pytest.raises(ValueError, match="read-only"):
        c.samples[0, 0] = 5.0
    assert x.flags.writeable  # the caller's array keeps its flags
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.seq = 3  # type: ignore[misc]


def test_equality_is_bitwise() -> None:
    a = make()
    assert a == make()
    assert a != make(seq=1)
    y = a.samples.copy()
    y[0, 0] = -0.0  # 0.0 == -0.0 numerically, but the bits differ
    assert make(samples=y) != a


@given(chunks())
@settings(max_examples=60, deadline=None)
def test_generated_chunks_are_valid_and_pickle(chunk: SensorChunk) -> None:
    validate_chunk(chunk)
    assert pickle.loads(pickle.dumps(chunk)) == chunk


# --- continuity -------------------------------------------------------------


def stream(n_chunks: int, n: int = 32, fs: float = 32.0) -> list[SensorChunk]:
    t0 = 1_644_227_574_000_000_000
    out = []
    for k in range(n_chunks):
        start = t0 + round(k * n * 1e9 / fs)
        out.append(make(seq=k, t0_ns=start, samples=np.zeros((3, n), dtype=np.float32), fs_hz=fs))
    return out


def run(chunks_: list[SensorChunk], **kw: float) -> tuple[StreamCursor, list[ContinuityReport]]:
    cursor: StreamCursor | None = None
    reports = []
    for c in chunks_:
        cursor, rep = continuity_step(cursor, c, **kw)
        reports.append(rep)
    assert cursor is not None
    return cursor, reports


def test_continuous_stream_has_no_gaps() -> None:
    cursor, reports = run(stream(5, n=7, fs=64.0))  # 7/64 s is not a whole number of ns
    assert reports[0].first
    assert not any(r.has_gap or r.layout_changed for r in reports)
    assert (cursor.last_seq, cursor.n_chunks, cursor.n_samples) == (4, 5, 35)
    assert pickle.loads(pickle.dumps(cursor)) == cursor


def test_missing_seq_and_time_gap_reported() -> None:
    s = stream(6)
    _, reports = run([s[0], s[1], s[4], s[5]])
    assert reports[2].missing_seq == 2
    assert reports[2].time_gap
    assert reports[2].gap_ns == 2_000_000_000
    assert not reports[3].has_gap


def test_time_gap_without_lost_seq() -> None:
    s = stream(2)
    later = dataclasses.replace(s[1], t0_ns=s[1].t0_ns + 500_000_000)
    _, reports = run([s[0], later])
    assert reports[1].missing_seq == 0
    assert reports[1].time_gap and reports[1].gap_ns == 500_000_000
    jitter = dataclasses.replace(s[1], t0_ns=s[1].t0_ns + 50_000_000)
    _, reports = run([s[0], jitter])  # within the default 0.1 s tolerance
    assert not reports[1].time_gap


def test_duplicate_and_out_of_order_seq_raise() -> None:
    s = stream(3)
    cursor, _ = run(s[:2])
    with pytest.raises(ContractError, match="duplicate seq 1"):
        continuity_step(cursor, s[1])
    with pytest.raises(ContractError, match="out-of-order seq 0"):
        continuity_step(cursor, s[0])


def test_time_going_backwards_raises() -> None:
    s = stream(2)
    early = dataclasses.replace(s[1], t0_ns=s[1].t0_ns - 300_000_000)
    cursor, _ = run(s[:1])
    with pytest.raises(ContractError, match="time going backwards"):
        continuity_step(cursor, early)
    a, b = irregular([10, 20, 30]), irregular([30, 40], seq=1)
    cursor, _ = continuity_step(None, a)
    with pytest.raises(ContractError, match="time going backwards"):
        continuity_step(cursor, b)


def test_layout_change_and_foreign_stream() -> None:
    s = stream(2)
    cursor, _ = run(s[:1])
    faster = dataclasses.replace(s[1], fs_hz=64.0)
    _, rep = continuity_step(cursor, faster)
    assert rep.layout_changed
    with pytest.raises(ContractError, match="given to the cursor of stream"):
        continuity_step(cursor, dataclasses.replace(s[1], subject_id="S03"))
