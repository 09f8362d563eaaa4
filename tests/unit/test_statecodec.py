"""The versioned state codec (pipeline.statecodec) and the incremental stream-state layout.

Round trips use states built by the real live steps on the real S02 E4 recording: stream states
(and their filter, config, segments, windows), continuity cursors, ingest states, multimodal
assembler and subject states with personal baselines (models.preprocess, numpy only).
"""

from __future__ import annotations

import dataclasses
import math
import pickle
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.ingest import IngestState
from agents.sources import read_e4_session
from agents.state import StateTable  # noqa: F401 - registers the agents/ state tags
from models.preprocess import PreprocessSpec, preprocess_init, preprocess_step
from pipeline.contract import SensorChunk
from pipeline.exceptions import StateCodecError
from pipeline.heads import head_results
from pipeline.plan import head_spec
from pipeline.records import WindowRecord
from pipeline.sources.e4 import e4_session_chunks
from pipeline.statecodec import (
    FORMAT_VERSION,
    decode_state,
    encode_state,
    layouts,
    register_state_type,
    registered_types,
)
from pipeline.steps import SubjectState, fusion_step, subject_step, window_step
from pipeline.stream import Segment, StreamState, stream_delta, stream_init, stream_merge, stream_step

LEGACY = Path(__file__).parent / "data" / "legacy_states.pkl"
FORMAT1 = Path(__file__).parent / "data" / "format1_states.msgpack"  # written by data/make_format1_states.py
LAYOUTS = Path(__file__).parent / "state_layouts.json"
SECONDS = 90


def assert_same(a: Any, b: Any, path: str = "state") -> None:
    """Deep equality: same types, arrays bitwise (dtype, shape, bytes), NaN == NaN."""
    assert type(a) is type(b), f"{path}: {type(a)} != {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), path
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, (tuple, list)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    else:
        assert a == b, path


@cache
def _chunks(data_dir: str) -> tuple[SensorChunk, ...]:
    sig = read_e4_session(Path(data_dir) / "stress-predict" / "Raw_data" / "S02")
    cut = {k: dataclasses.replace(s, samples=s.samples[:, : int(SECONDS * s.fs_hz)]) for k, s in sig.items()}
    return tuple(e4_session_chunks(cut, subject_id="S02", session_id="codec", chunk_s=1.0))


class _FeatureHead:
    """Duck-typed head (pipeline.heads): personal baselines of every E4 feature, a fixed linear map, no torch."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.spec = head_spec({
            "name": "phys", "version": "t", "classes": ["non-stress", "stress"],
            "modalities": ["bvp", "eda", "temp", "acc"],
            "window": {"window_s": 60.0, "hop_s": 5.0}, "input": {"kind": "features", "feature_version": "1.3.0"},
        })  # fmt: skip
        self.pre = PreprocessSpec(names)

    def new_state(self) -> Any:
        return preprocess_init(self.pre)

    def prepare(self, state: Any, mm: Any) -> Any:
        return preprocess_step(state, {k: v for w in mm.windows.values() for k, v in w.features.items()})

    def predict_proba(self, xs: Any) -> Any:
        p = 1 / (1 + np.exp(-np.nan_to_num(np.asarray(xs, dtype=np.float64)).mean(axis=1)))
        return np.stack([1 - p, p], axis=1)


@cache
def _live_states(data_dir: str, upto: int) -> dict[str, list[Any]]:
    """Every state the live steps hold after each of the first ``upto`` chunks (real S02)."""
    from pipeline.codec import decode_chunk, encode_binary
    from pipeline.steps import ingest_step

    streams: dict[str, Any] = {}
    out: dict[str, list[Any]] = {"stream": [], "ingest": [], "subject": [], "window": [], "result": []}
    model: _FeatureHead | None = None
    subject: SubjectState | None = None
    for k, c in enumerate(_chunks(data_dir)[:upto]):
        state, res = ingest_step(streams.get(c.stream_key), c, encode_binary(c), k, plan=None, decode=decode_chunk)
        streams[c.stream_key] = state
        windows = [w for _, _, ws in res.chunks for w in ws]
        out["stream"].append(state.stream)
        out["ingest"].append(state)
        for w in windows:
            out["window"].append(w)
            if model is None:
                model = _FeatureHead(tuple(sorted(w.features)))
            rec = WindowRecord("S02", "codec", w, k, False)
            subject, ready = subject_step([model], subject, rec, grace_s=10.0, stale_s=300.0, now_ns=k)
            if ready:  # the classify stage's batch finish: the head's results into the fusion slots
                results = head_results(model, ready, model.predict_proba([p.x for p in ready]), inference_done_ns=k)
                subject, _, _ = fusion_step(subject, results, grace_s=10.0)
                out["result"] += results
            out["subject"].append(subject)
    return out


def _all_kinds(states: dict[str, list[Any]]) -> dict[str, Any]:
    s = states["stream"][-1]
    sub = states["subject"][-1]
    return {
        "stream": s,
        "stream-config": s.cfg,
        "filter": s.filt,
        "filter-config": s.filt.cfg,
        "segment": s.segments[0],
        "header": stream_delta(None, s)[1],
        "window": states["window"][-1],
        "cursor": states["ingest"][-1].reorder.cursor,
        "reorder": states["ingest"][-1].reorder,
        "ingest": states["ingest"][-1],
        "ingest-legacy": IngestState(states["ingest"][-1].reorder.cursor, ("emopipe.raw.eda", 1), 41),
        "assembler": sub.head("phys").assembler,
        "baseline": sub.head("phys").model_state[0],
        "baseline-config": sub.head("phys").model_state[0].cfg,
        "head-state": sub.head("phys"),
        "fusion": sub.fusion,
        "head-result": states["result"][-1],
        "modality-status": states["result"][-1].modalities[0][1],
        "subject": sub,
        **_model_states(),
        **_markers(),
    }


def _markers() -> dict[str, Any]:
    from pipeline.markers import Marker, condition_init, condition_step

    m = Marker("S02", "codec", 10**18, "start", "stroop", "mark")
    return {"marker": m, "condition": condition_step(condition_init(), m)}


def _model_states() -> dict[str, Any]:
    """The per-subject states of the committed speech and sequence heads (models/), after one real step."""
    from models.heads import SpeechHead
    from models.registry import load_default
    from models.sequence import SequenceState

    speech = SpeechHead(load_default("audio_emotion")).new_state()
    seq = SequenceState(baselines=(), recent=np.arange(12, dtype=np.float32).reshape(3, 4))
    return {"speaker-stats": speech, "sequence-state": seq}


def test_every_registered_type_round_trips_from_real_stream_steps(shared_data: Path) -> None:
    states = _live_states(str(shared_data), 4 * SECONDS)
    kinds = _all_kinds(states)
    built = {type(v) for v in kinds.values()}
    registered = {c for t, c in registered_types().items() if not t.startswith("test-")}
    for name, value in kinds.items():
        data = encode_state(value)
        assert data[0] == FORMAT_VERSION
        assert_same(decode_state(data), value, name)
    assert registered - built == set(), f"registered but not exercised: {registered - built}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(0, 4 * SECONDS - 1), kind=st.sampled_from(["stream", "ingest", "subject", "window"]))
def test_round_trip_is_exact_at_any_step(shared_data: Path, k: int, kind: str) -> None:
    seq = _live_states(str(shared_data), 4 * SECONDS)[kind]
    value = seq[min(k, len(seq) - 1)]
    assert_same(decode_state(encode_state(value)), value, kind)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stop_at=st.integers(1, 4 * SECONDS - 1))
def test_decoded_stream_continues_bitwise(shared_data: Path, stop_at: int) -> None:
    """Encode/decode a stream state mid-recording: the rest of the windows are bitwise the same."""
    chunks = _chunks(str(shared_data))
    ref: dict[str, Any] = {}
    got: dict[str, Any] = {}
    want_w: list[Any] = []
    got_w: list[Any] = []
    for k, c in enumerate(chunks):
        ref[c.stream_key], w1 = window_step(ref.get(c.stream_key), c)
        prev = got.get(c.stream_key)
        if k == stop_at and prev is not None:
            prev = decode_state(encode_state(prev))
        got[c.stream_key], w2 = window_step(prev, c)
        want_w += w1
        got_w += w2
    assert len(want_w) > 20
    assert_same(got_w, want_w, "windows")


def test_records_name_tags_not_modules(shared_data: Path) -> None:
    data = encode_state(_live_states(str(shared_data), 40)["stream"][-1])
    assert b"stream/1" in data
    assert b"pipeline" not in data and b"StreamState" not in data


def test_unknown_tag_version_and_garbage_are_clear_errors() -> None:
    with pytest.raises(StateCodecError, match="unknown state format version 7"):
        decode_state(b"\x07" + encode_state(1)[1:])
    with pytest.raises(StateCodecError, match="empty state record"):
        decode_state(b"")
    with pytest.raises(StateCodecError, match="malformed state record"):
        decode_state(bytes((FORMAT_VERSION,)) + b"\xc1\xff\x00")
    import msgpack

    forged = bytes((FORMAT_VERSION,)) + msgpack.packb(msgpack.ExtType(3, msgpack.packb(["nosuch/9", {}])))
    with pytest.raises(StateCodecError, match="unknown state type tag 'nosuch/9'"):
        decode_state(forged)


@dataclasses.dataclass(frozen=True)
class _V1:
    a: int


@dataclasses.dataclass(frozen=True)
class _V2:
    a: int
    b: tuple[int, ...] = (1, 2)


@dataclasses.dataclass(frozen=True)
class _Unregistered:
    a: int


def test_schema_evolution_and_unregistered_types() -> None:
    register_state_type("test-v1/1", _V1)
    register_state_type("test-v2/1", _V2, upgrade=lambda f: _V2(f["a"] * 10))
    old = encode_state(_V1(3)).replace(b"test-v1/1", b"test-v2/1")  # a record written before `b` existed
    assert decode_state(old) == _V2(3, (1, 2))
    import msgpack

    newer = bytes((FORMAT_VERSION,)) + msgpack.packb(msgpack.ExtType(3, msgpack.packb(["test-v2/1", {"a": 4, "c": 1}])))
    assert decode_state(newer) == _V2(40)  # fields the class lacks go through its upgrade
    with pytest.raises(StateCodecError, match="has no state tag"):
        encode_state(_Unregistered(1))
    with pytest.raises(StateCodecError, match="already registered"):
        register_state_type("test-v1/1", _V2)


def test_positional_records_refuse_extra_values_unless_upgraded() -> None:
    """A format-2 record with more values than the class has fields (a newer writer, or a removed field)."""
    import msgpack

    register_state_type("test-pos/1", _V1)
    register_state_type("test-pos-up/1", _V1, upgrade=lambda f: _V1(f["a"] + len(f["_extra"])))

    def record(tag: str, *values: Any) -> bytes:
        return bytes((FORMAT_VERSION,)) + msgpack.packb(msgpack.ExtType(8, msgpack.packb([tag, *values])))

    assert decode_state(record("test-pos/1", 5)) == _V1(5)
    with pytest.raises(StateCodecError, match="has 3 fields, _V1 has 1"):
        decode_state(record("test-pos/1", 5, 6, 7))
    assert decode_state(record("test-pos-up/1", 5, 6, 7)) == _V1(7)


def test_registered_layouts_only_grow_at_the_end() -> None:
    """Format 2 stores fields by position: a reordered or removed field would silently misread every
    stored state. Each tag's fields must start with its recorded layout (tests/unit/state_layouts.json),
    and fields added after it need defaults. A changed layout needs a new tag (``<name>/<n+1>``)."""
    import json

    recorded = json.loads(LAYOUTS.read_text())
    now = {t: f for t, f in layouts().items() if not t.startswith("test-")}
    assert set(recorded) <= set(now), f"tags no longer registered: {set(recorded) - set(now)}"
    for tag, fields in now.items():
        old = tuple(recorded.get(tag, ()))
        assert fields[: len(old)] == old, f"{tag}: fields {fields} do not start with its stored layout {old}"
        cls = registered_types()[tag]
        defaults = {f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
        defaults |= {f.name for f in dataclasses.fields(cls) if f.default_factory is not dataclasses.MISSING}
        if old:
            assert set(fields[len(old) :]) <= defaults, f"{tag}: fields added after {old} need defaults"


def test_format_1_records_are_read(shared_data: Path) -> None:
    """Records of format 1 (fields by name), written by the previous emopipe (data/make_format1_states.py at
    001c30c), decode to the states the current steps compute from the same real data."""
    import msgpack

    stored = msgpack.unpackb(FORMAT1.read_bytes(), raw=False)
    kinds = _all_kinds(_live_states(str(shared_data), stored["seconds"] * 4))
    assert set(stored["records"]) == set(kinds)
    for name, data in stored["records"].items():
        assert data[0] == 1, name
        assert_same(decode_state(data), kinds[name], name)


def test_plain_values_keep_their_types() -> None:
    value = {
        1: (np.float64(2.5), np.int64(-3), 2**70, -(2**70), frozenset({1, 2}), {3}),
        "a": [None, True, 1.5, b"x", float("nan")],
        "arr": np.arange(6, dtype=">i4").reshape(2, 3),
        "f32": np.float32([1.5, -0.0]),
        "empty": np.zeros((3, 0)),
    }
    back = decode_state(encode_state(value))
    assert back[1][:2] == (2.5, -3) and type(back[1][0]) is np.float64 and type(back[1][1]) is np.int64
    assert back[1][2:] == (2**70, -(2**70), frozenset({1, 2}), {3})
    assert back["a"][:4] == [None, True, 1.5, b"x"] and math.isnan(back["a"][4])
    assert np.array_equal(back["arr"], value["arr"]) and back["arr"].dtype == np.dtype("int32")
    assert back["f32"].tobytes() == value["f32"].tobytes() and back["empty"].shape == (3, 0)
    assert back["arr"].flags.writeable


def test_previous_pickle_format_is_read_and_continues(shared_data: Path) -> None:
    """States pickled by emopipe 403ec0c (before segments and the codec) are read, then continue exactly."""
    legacy = pickle.loads(LEGACY.read_bytes())
    n = legacy["n_chunks"]
    sig = read_e4_session(shared_data / "stress-predict" / "Raw_data" / "S02")
    for stem in ("BVP", "TEMP"):
        s = dataclasses.replace(sig[stem], samples=sig[stem].samples[:, : int(60 * sig[stem].fs_hz)])
        chunks = list(e4_session_chunks({stem: s}, subject_id="S02", session_id="legacy", chunk_s=1.0))
        state = decode_state(legacy[f"stream_{stem.lower()}"])
        assert state.n_seen == n * round(state.cfg.fs_hz) and state.segments
        fresh = stream_init(state.cfg)  # the same stream fed from the start by this version
        want: list[Any] = []
        for k, c in enumerate(chunks):
            fresh, w = stream_step(fresh, c.t0_ns, c.samples, c.seq)
            if k >= n:
                want += w
        got: list[Any] = []
        for c in chunks[n:]:
            state, w = stream_step(state, c.t0_ns, c.samples, c.seq)
            got += w
        assert len(got) >= 6
        assert_same(got, want, stem)
        ingest = decode_state(legacy[f"ingest_{stem.lower()}"])
        assert isinstance(ingest, IngestState) and ingest.cursor.last_seq == n - 1
    with pytest.raises(StateCodecError, match="is a pickle"):
        decode_state(legacy["stream_bvp"], allow_pickle=False)
    with pytest.raises(StateCodecError, match="no longer loads"):
        decode_state(pickle.dumps(_V1(1)).replace(b"_V1", b"_V9"))


def test_incremental_layout_reassembles_the_monolithic_state(shared_data: Path) -> None:
    """Config once + header + each segment once (deleted when dropped) == the whole state after every
    chunk (filtered samples recomputed bitwise), and the bytes written per chunk do not grow with the window."""
    store: dict[Any, bytes] = {}
    stored: dict[str, StreamState] = {}
    per_chunk: dict[str, list[int]] = {}
    for c in _chunks(str(shared_data)):
        key = c.stream_key
        new, _ = window_step(stored.get(key), c)
        cfg, header, added, dropped = stream_delta(stored.get(key), new)
        assert (cfg is None) == (key in stored)
        written = [encode_state(header)] + [encode_state(seg) for seg in added]
        if cfg is not None:
            store[(key, "cfg")] = encode_state(cfg)
        store[key] = written[0]
        for seg, data in zip(added, written[1:], strict=True):
            assert seg.buf is None  # stored form: recomputed from raw and zi0
            store[(key, seg.seg_id)] = data
        for i in dropped:
            del store[(key, i)]
        per_chunk.setdefault(c.modality, []).append(sum(map(len, written)))
        segs = {i: decode_state(v) for k, v in store.items() if isinstance(k, tuple) and k[0] == key for i in [k[1]]}
        merged = stream_merge(segs.pop("cfg"), decode_state(store[key]), segs)
        assert_same(merged, new, key)
        assert set(segs) == set(range(new.seg_first, new.seg_next))  # dropped segments are gone
        stored[key] = merged
    for modality, sizes in per_chunk.items():
        steady = sizes[70:]  # after the first window: the monolithic record holds 60 s here
        whole = len(encode_state(stored[next(k for k in stored if k.endswith(modality))]))
        assert max(steady) < whole / 8, (modality, max(steady), whole)
    key = next(iter(stored))
    with pytest.raises(Exception, match="lacks segments"):
        stream_merge(stored[key].cfg, decode_state(store[key]), {})


def test_state_keeps_only_needed_segments_and_compact_raw(shared_data: Path) -> None:
    states = _live_states(str(shared_data), 4 * SECONDS)["stream"]
    by_mod = {s.cfg.modality: s for s in states}
    acc, bvp = by_mod["acc"], by_mod["bvp"]
    assert all(seg.raw is None for seg in acc.segments)  # identity filter: raw == filtered
    assert all(seg.flags is None for seg in acc.segments + bvp.segments)  # no gap or NaN in this stretch
    assert all(seg.raw is not None and seg.raw.dtype == np.float32 for seg in bvp.segments)  # E4 float32 input
    for s in (acc, bvp):
        n_win = round(s.cfg.window_s * s.cfg.fs_hz)
        assert s.n_buffered <= n_win + round(s.cfg.fs_hz)  # the window plus at most one chunk
        assert isinstance(s.segments[0], Segment)


def _dict_table(name: str, store: Any) -> Any:
    """An IncrementalStateTable over a dict-like ``store`` (the Faust table's get/setitem/pop), no cache yet."""
    from agents.state import STATE_BYTES_WRITTEN, IncrementalStateTable

    t = IncrementalStateTable.__new__(IncrementalStateTable)
    t.name, t.table, t._cache = name, store, {}
    STATE_BYTES_WRITTEN.setdefault(name, 0)
    return t


def test_incremental_state_table_reads_back_what_it_wrote(shared_data: Path) -> None:
    """IncrementalStateTable over a dict (the Faust table's get/setitem/pop): a fresh reader (no cache,
    as after recovery) reassembles every state; only live segments are kept; bytes are counted."""
    from agents.state import STATE_BYTES_WRITTEN, IncrementalStateTable

    store: dict[bytes, bytes] = {}

    def table() -> IncrementalStateTable:
        return _dict_table("test-streams", store)

    writer = table()
    before = STATE_BYTES_WRITTEN["test-streams"]
    last: dict[str, StreamState] = {}
    for c in _chunks(str(shared_data))[: 4 * 75]:
        state, _ = window_step(writer.get(c.stream_key), c)
        writer.set(c.stream_key, state)
        last[c.stream_key] = state
    reader = table()
    for key, state in last.items():
        assert_same(reader.get(key), state, key)
    n_segments = sum(len(s.segments) for s in last.values())
    assert len(store) == 2 * len(last) + n_segments  # header, config and live segments per stream
    assert STATE_BYTES_WRITTEN["test-streams"] - before < sum(len(encode_state(s)) for s in last.values()) * 4


def test_incremental_state_table_stores_ingest_states_as_header_plus_segments(shared_data: Path) -> None:
    """An IngestStreamState (reorder buffer + cursor + stream) is stored with its stream split as for a bare
    StreamState: one record of header and cursor per chunk, each segment once; a fresh reader gets it back."""
    from agents.state import IncrementalStateTable
    from pipeline.codec import decode_chunk, encode_binary
    from pipeline.steps import IngestStreamState, ingest_step

    store: dict[bytes, bytes] = {}

    def table() -> IncrementalStateTable:
        return _dict_table("test-ingest", store)

    writer = table()
    last: dict[str, IngestStreamState] = {}
    for pos, c in enumerate(_chunks(str(shared_data))[: 4 * 75]):
        state, _ = ingest_step(writer.get(c.stream_key), c, encode_binary(c), pos, plan=None, decode=decode_chunk)
        writer.set(c.stream_key, state)
        last[c.stream_key] = state
    reader = table()
    for key, state in last.items():
        back = reader.get(key)
        assert isinstance(back, IngestStreamState) and back.reorder == state.reorder
        assert_same(back.stream, state.stream, key)
    n_segments = sum(len(s.stream.segments) for s in last.values() if s.stream is not None)
    assert len(store) == 2 * len(last) + n_segments  # header (with the cursor), config and live segments


def test_classify_state_pickled_before_heads_becomes_the_stress_heads_state(shared_data: Path) -> None:
    """A SubjectState of 403ec0c (one model: assembler + baseline) is read as the stress_binary head's state."""
    sub = _live_states(str(shared_data), 4 * SECONDS)["subject"][-1]
    hs = sub.head("phys")
    old = object.__new__(SubjectState)
    fields = {"assembler": hs.assembler, "model_state": hs.model_state, "last_end_ns": hs.last_end_ns}
    old.__dict__.update(fields, first_end_ns=hs.first_end_ns, session_id="codec", synthetic=False, last_ingest_ns=7)
    back = decode_state(pickle.dumps(old))
    assert isinstance(back, SubjectState) and [h for h, _ in back.heads] == ["stress_binary"]
    assert_same(back.head("stress_binary"), hs, "head state")
    assert back.last_ingest_ns == 7 and back.fusion.pending == ()


class _Journal(dict):  # type: ignore[type-arg]
    """A dict that records every write and delete in order, as a changelog does."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[bytes, bytes | None]] = []

    def __setitem__(self, k: bytes, v: bytes) -> None:
        self.log.append((k, v))
        super().__setitem__(k, v)

    def pop(self, k: bytes, default: Any = None) -> Any:
        self.log.append((k, None))
        return super().pop(k, default)


def test_a_crash_between_any_two_changelog_records_leaves_a_readable_state(shared_data: Path) -> None:
    """Replaying any prefix of the changelog (a worker killed mid-write) gives a state that decodes: a header
    never names a segment whose tombstone came first."""
    from agents.state import IncrementalStateTable

    journal = _Journal()

    def table(store: Any) -> IncrementalStateTable:
        return _dict_table("test-crash", store)

    writer = table(journal)
    keys = set()
    for c in _chunks(str(shared_data))[: 4 * 70]:  # past 60 s: segments leave the window, tombstones are written
        state, _ = window_step(writer.get(c.stream_key), c)
        writer.set(c.stream_key, state)
        keys.add(c.stream_key)
    assert any(v is None for _, v in journal.log)
    for n in range(len(journal.log) - 40, len(journal.log) + 1):  # every cut point of the last few writes
        restored: dict[bytes, bytes] = {}
        for k, v in journal.log[:n]:
            if v is None:
                restored.pop(k, None)
            else:
                restored[k] = v
        reader = table(restored)
        for key in keys:
            assert isinstance(reader.get(key), StreamState), (n, key)
