"""Stream faults on the real broker and Redis: device clocks, reordering, disconnects, a second worker.

Every test drives a real ``emopipe worker`` (all stages) with real Stress-Predict E4 chunks produced to
the raw topics and compares the fused events in Redis with the offline reference for the same chunks
(:func:`agents.offline.offline_events`, the stage functions in-process). Each records, with
:func:`tests.integration.test_faults.record_fault` (``EMOPIPE_RECORD_FAULTS=1``), into
``bench/results/faults.json``: events lost (offline ids not in Redis, must be 0), duplicates (the same id
twice in the subject's Redis stream after the idempotent keys, must be 0) and the recovery time (from the
end of the fault until every expected event is in Redis). See RELIABILITY.md.

- ``clock_skew_and_jumps``: device clocks offset from wall time (-2 h, +1 day), a forward jump (t0 + 40 s,
  seq continuing: a gap) and a backward jump (t0 - 10 s: dead-lettered until time catches up).
- ``out_of_order_chunks``: chunks swapped within a small distance; needs the bounded reorder step by seq
  in ingest (pipeline/reorder.py).
- ``disconnect_reconnect``: a device silent for 30 s of event time and of wall time, then back.
- ``rebalance_second_worker``: a second worker joins the group mid-stream on 4 partitions.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import struct
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from agents.client import EventClient
from agents.dlq import decode_dead_letter
from agents.offline import offline_events
from agents.producer import ChunkProducer
from agents.topics import ensure_topics
from deploy.settings import Settings
from models.heads import load_heads
from pipeline.codec import decode_chunk
from pipeline.contract import SensorChunk, StreamCursor, continuity_step
from pipeline.events import EmotionEvent
from pipeline.exceptions import ContractError
from tests.integration.kafka_util import consume_all
from tests.integration.test_e2e import _check_against_offline, _chunks
from tests.integration.test_faults import record_fault

S = 10**9
WINDOW_S = 60  # the stress head's window (models/artifacts/stress_binary.json); hops of 5 s


@functools.cache
def _heads() -> tuple[Any, Any]:
    settings = Settings()
    return load_heads(settings.model_dir, settings.head_names)


def _offline(chunks: Iterable[SensorChunk]) -> dict[str, list[EmotionEvent]]:
    """The worker's default heads on the same chunks, in-process: the fused events per subject, in window order."""
    heads, plan = _heads()
    out: dict[str, list[EmotionEvent]] = {}
    for e in offline_events(heads, list(chunks), plan=plan):
        if e.kind == "fused":
            out.setdefault(e.subject_id, []).append(e)
    return {s: sorted(v, key=lambda e: e.window_end_ns) for s, v in out.items()}


def _accepted(chunks: Sequence[SensorChunk]) -> tuple[list[SensorChunk], list[tuple[SensorChunk, str]]]:
    """What ingest's continuity contract passes on, and what it rejects with the reason (pure, no Kafka)."""
    cursors: dict[str, StreamCursor] = {}
    ok: list[SensorChunk] = []
    rejected: list[tuple[SensorChunk, str]] = []
    for c in chunks:
        try:
            cursors[c.stream_key], _ = continuity_step(cursors.get(c.stream_key), c)
        except ContractError as exc:
            rejected.append((c, str(exc)))
        else:
            ok.append(c)
    return ok, rejected


def _shift(chunks: Iterable[SensorChunk], dt_ns: int, *, from_seq: int = 0) -> list[SensorChunk]:
    """The device clock moved by ``dt_ns`` from chunk ``from_seq`` of each stream on (seq goes on as before)."""
    return [dataclasses.replace(c, t0_ns=c.t0_ns + dt_ns) if c.seq >= from_seq else c for c in chunks]


def _settings(kafka_bootstrap: str, redis_url: str, prefix: str, partitions: int) -> Settings:
    return Settings(
        kafka_bootstrap=kafka_bootstrap, redis_url=redis_url, topic_prefix=prefix, app_id=prefix, partitions=partitions
    )


def _produce_paced(settings: Settings, chunks: Sequence[SensorChunk], *, speed: float) -> float:
    """Send chunks in the given order, paced at ``speed`` x event time (as ``emopipe replay --speed``).

    The pace follows each chunk's ``seq`` (1 s chunks), not its ``t0_ns``, so a jump of a device clock does
    not pause the replay. Returns the monotonic time when the last chunk was acknowledged.
    """
    start = time.monotonic()
    seq0 = min(c.seq for c in chunks)
    with ChunkProducer(settings.kafka_bootstrap, settings=settings) as producer:
        for i, c in enumerate(chunks):
            due = start + (c.seq - seq0) / speed  # 1 s chunks: chunk seq k is due k s after the first
            if i % 50 == 0 and due > time.monotonic():
                producer.flush()
                time.sleep(max(0.0, due - time.monotonic()))
            producer.send(c)
        producer.flush()
    return time.monotonic()


def _stored(client: EventClient, subjects: Iterable[str]) -> dict[str, list[EmotionEvent]]:
    return {s: client.history(s) for s in subjects}


def _wait_for(
    client: EventClient, expected: dict[str, list[EmotionEvent]], *, timeout_s: float, quiet_s: float = 15.0
) -> tuple[dict[str, list[EmotionEvent]], float]:
    """Poll Redis until every expected event id is stored (or nothing new came for ``quiet_s``).

    Returns the stored events per subject (read 2 s after the end, so surplus events show) and the
    monotonic time when the last expected one was seen (or the end of the wait).
    """
    want = {e.event_id for v in expected.values() for e in v}
    t0 = time.monotonic()
    last_n, last_change = -1, t0
    done_at = t0
    while time.monotonic() - t0 < timeout_s:
        got = {e.event_id for v in _stored(client, expected).values() for e in v}
        done_at = time.monotonic()
        if want <= got:
            break
        if len(got) != last_n:
            last_n, last_change = len(got), time.monotonic()
        elif time.monotonic() - last_change > quiet_s:
            break
        time.sleep(0.5)
    time.sleep(2.0)
    return _stored(client, expected), done_at


def _counts(got: dict[str, list[EmotionEvent]], expected: dict[str, list[EmotionEvent]]) -> dict[str, int]:
    """lost / duplicates / extra ids / same id but other result, over all subjects."""
    lost = dup = extra = differ = 0
    for s, want in expected.items():
        ids = [e.event_id for e in got.get(s, [])]
        want_by_id = {e.event_id: e for e in want}
        lost += len(set(want_by_id) - set(ids))
        dup += len(ids) - len(set(ids))
        extra += len(set(ids) - set(want_by_id))
        for e in {e.event_id: e for e in got.get(s, [])}.values():
            w = want_by_id.get(e.event_id)
            if w is not None and not _same(e, w):
                differ += 1
    return {"lost": lost, "duplicates": dup, "extra": extra, "differ": differ}


def _same(got: EmotionEvent, want: EmotionEvent) -> bool:
    return (
        got.label == want.label
        and got.heads.keys() == want.heads.keys()
        and all(abs(got.probabilities[k] - want.probabilities[k]) <= 1e-5 for k in want.probabilities)
        and {m: st.present for m, st in got.modalities.items()} == {m: st.present for m, st in want.modalities.items()}
    )


def _dead_letters(bootstrap: str, prefix: str, expect: int) -> list[tuple[SensorChunk, str]]:
    """The DLQ's letters as (the original chunk, reason)."""
    out = []
    for _k, v, _h in consume_all(bootstrap, f"{prefix}.dlq", expect=expect, timeout_s=30):
        d = decode_dead_letter(v)
        out.append((decode_chunk(d.payload()), d.reason))
    return out


def _gap_lines(log: str, stream_prefix: str) -> list[tuple[str, int, int]]:
    """Ingest's "gap on <stream>: <n> missing seq, <ns> ns" log lines for streams starting with ``stream_prefix``."""
    pat = re.compile(r"gap on (" + re.escape(stream_prefix) + r"\S*): (\d+) missing seq, (-?\d+) ns")
    return [(m[1], int(m[2]), int(m[3])) for m in pat.finditer(log)]


def _overlaps(events: Iterable[EmotionEvent], lo_ns: int, hi_ns: int) -> list[int]:
    """Window ends of events whose window [end - 60 s, end) overlaps the hole (lo, hi)."""
    return [e.window_end_ns for e in events if e.window_end_ns > lo_ns and e.window_end_ns - WINDOW_S * S < hi_ns]


# --------------------------------------------------------------------------------------------------------------
# 1. device clocks: offset from wall time, a forward and a backward jump


def _replay(
    bootstrap: str, redis_url: str, prefix: str, start_worker: Any, chunks: Sequence[SensorChunk],
    expected: dict[str, list[EmotionEvent]], *, timeout_s: float,
) -> tuple[dict[str, list[EmotionEvent]], dict[str, int], float, Any]:  # fmt: skip
    """Chunks at 30x through a fresh worker (2 partitions); returns the events stored per subject, their
    counts against ``expected``, the recovery time (end of the feed -> every expected event in Redis) and
    the worker."""
    settings = _settings(bootstrap, redis_url, prefix, 2)
    ensure_topics(settings)
    worker = start_worker(prefix, extra_env={"EMOPIPE_PARTITIONS": "2"})
    worker.wait_ready()
    sent_at = _produce_paced(settings, chunks, speed=30.0)
    client = EventClient(redis_url, prefix=prefix)
    got, done_at = _wait_for(client, expected, timeout_s=timeout_s)
    client.close()
    return got, _counts(got, expected), max(0.0, done_at - sent_at), worker


def test_clock_skew_and_jumps(shared_data, kafka_bootstrap, redis_url, unique_prefix, start_worker):
    minutes, jump_seq = 3.0, 80
    fwd_s, back_s = 40, 10
    base = {s: _chunks(shared_data, s, minutes=minutes) for s in ("S02", "S03", "S04", "S06")}
    devices = {
        "S02": _shift(base["S02"], -2 * 3600 * S),  # clock 2 h behind wall time
        "S03": _shift(base["S03"], 24 * 3600 * S),  # clock a day ahead
        "S04": _shift(base["S04"], fwd_s * S, from_seq=jump_seq),  # jumps forward by 40 s mid-stream
        "S06": _shift(base["S06"], -back_s * S, from_seq=jump_seq),  # jumps back by 10 s mid-stream
    }
    merged = sorted((c for cs in devices.values() for c in cs), key=lambda c: (c.seq, c.subject_id, c.modality))
    accepted, rejected = _accepted(merged)
    # the contract: only the backward jump is rejected, chunk by chunk until the clock has caught up
    assert {c.subject_id for c, _ in rejected} == {"S06"}
    assert sorted({c.seq for c, _ in rejected}) == list(range(jump_seq, jump_seq + back_s))
    expected = _offline(accepted)
    # event time is the device's: the offset clocks give the events of the true clock, moved by the offset
    true = _offline(base["S02"] + base["S03"])
    for s, dt in (("S02", -2 * 3600 * S), ("S03", 24 * 3600 * S)):
        assert [e.window_end_ns for e in expected[s]] == [e.window_end_ns + dt for e in true[s]]
        assert [e.probabilities for e in expected[s]] == [e.probabilities for e in true[s]]

    got, counts, recovery_s, worker = _replay(
        kafka_bootstrap, redis_url, unique_prefix, start_worker, merged, expected, timeout_s=90
    )
    letters = _dead_letters(kafka_bootstrap, unique_prefix, expect=len(rejected))
    record_fault(
        "clock_skew_and_jumps", lost=counts["lost"], duplicates=counts["duplicates"],
        recovery_s=recovery_s, events=sum(len(v) for v in expected.values()),
        extra=counts["extra"], differ=counts["differ"], dead_lettered=len(letters), backward_chunks=len(rejected),
        offsets_s=[-7200, 86400], forward_jump_s=fwd_s, backward_jump_s=back_s,
    )  # fmt: skip
    print(f"clock_skew_and_jumps: {counts}, dead letters {len(letters)} of {len(rejected)}")

    assert worker.proc.poll() is None and "Crashed" not in worker.log(), worker.log()[-3000:]
    for s in devices:
        _check_against_offline(got[s], expected[s])  # one event per window, in order, equal to offline
    assert counts == {"lost": 0, "duplicates": 0, "extra": 0, "differ": 0}
    # the forward jump: flagged as a gap by ingest (every S04 stream, 0 missing seq, 40 s), no window over the hole,
    # and the stream resumes: events after the jump (equal to offline, above)
    jump_at = base["S04"][0].t0_ns + jump_seq * S  # where the jumped chunk should have started
    gaps = _gap_lines(worker.log(), "S04/")
    assert sorted(g[0].split("/")[-1] for g in gaps) == ["acc", "bvp", "eda", "temp"], gaps
    assert all(n == 0 and abs(gap_ns - fwd_s * S) < S // 10 for _k, n, gap_ns in gaps), gaps
    assert not _overlaps(got["S04"], jump_at, jump_at + fwd_s * S)
    assert [e for e in got["S04"] if e.window_end_ns > jump_at], "no event after the forward jump"
    # the backward jump: every chunk before the catch-up dead-lettered (sent == dead-lettered) with the reason,
    # the worker kept running and the stream went on when time caught up (events after it equal offline, above)
    assert sorted((c.stream_key, c.seq) for c, _ in letters) == sorted((c.stream_key, c.seq) for c, _ in rejected)
    assert all("time going backwards" in reason for _c, reason in letters), {r for _c, r in letters}
    back_at = base["S06"][0].t0_ns + jump_seq * S
    assert [e for e in got["S06"] if e.window_end_ns > back_at + WINDOW_S * S], "no event after the catch-up"
    caught_up = _gap_lines(worker.log(), "S06/")  # seq skipped over the rejected chunks, no time gap
    assert sorted((k.split("/")[-1], n, gap_ns) for k, n, gap_ns in caught_up) == [
        (m, back_s, 0) for m in ("acc", "bvp", "eda", "temp")
    ], caught_up


# --------------------------------------------------------------------------------------------------------------
# 2. chunks out of order by seq within a small distance


def _disorder(chunks: Sequence[SensorChunk], *, swaps: Sequence[int], late: tuple[int, int]) -> list[SensorChunk]:
    """Per stream: the chunks of seq ``k`` and ``k + 1`` swapped for every k in ``swaps``; seq ``late[0]`` sent
    after seq ``late[0] + late[1]`` (that many positions late). Streams keep their relative order."""
    by_stream: dict[str, list[SensorChunk]] = {}
    for c in chunks:
        by_stream.setdefault(c.stream_key, []).append(c)
    out_streams = []
    for cs in by_stream.values():
        cs = list(cs)
        for k in swaps:
            cs[k], cs[k + 1] = cs[k + 1], cs[k]
        k, d = late
        cs.insert(k + d, cs.pop(k))
        out_streams.append(cs)
    # interleave the streams back by position (as a device sends its modalities side by side)
    return [cs[i] for i in range(max(map(len, out_streams))) for cs in out_streams if i < len(cs)]


def test_out_of_order_chunks(shared_data, kafka_bootstrap, redis_url, unique_prefix, start_worker):
    in_order = _chunks(shared_data, "S02", minutes=2.5)
    sent = _disorder(in_order, swaps=(20, 40, 60), late=(90, 3))
    assert sorted((c.stream_key, c.seq) for c in sent) == sorted((c.stream_key, c.seq) for c in in_order)
    assert max_displacement(sent) <= 3 < 8  # within EMOPIPE_REORDER_MAX_CHUNKS (default 8)
    expected = _offline(in_order)  # the in-order stream

    got, counts, recovery_s, worker = _replay(
        kafka_bootstrap, redis_url, unique_prefix, start_worker, sent, expected, timeout_s=60
    )
    letters = consume_all(kafka_bootstrap, f"{unique_prefix}.dlq", expect=0, timeout_s=5)
    record_fault(
        "out_of_order_chunks", lost=counts["lost"], duplicates=counts["duplicates"],
        recovery_s=recovery_s, events=len(expected["S02"]), extra=counts["extra"],
        differ=counts["differ"], dead_lettered=len(letters), swapped_pairs=3, late_positions=3,
    )  # fmt: skip
    print(f"out_of_order_chunks: {counts}, dead letters {len(letters)}")
    assert worker.proc.poll() is None and "Crashed" not in worker.log()
    assert not letters, f"{len(letters)} chunks dead-lettered: {decode_dead_letter(letters[0][1]).reason}"
    _check_against_offline(got["S02"], expected["S02"])
    assert counts == {"lost": 0, "duplicates": 0, "extra": 0, "differ": 0}


def max_displacement(chunks: Sequence[SensorChunk]) -> int:
    """Largest number of chunks of its own stream sent before a chunk that should have come after it."""
    worst = 0
    by_stream: dict[str, list[int]] = {}
    for c in chunks:
        by_stream.setdefault(c.stream_key, []).append(c.seq)
    for seqs in by_stream.values():
        for i, s in enumerate(seqs):
            worst = max(worst, sum(1 for t in seqs[:i] if t > s))
    return worst


# --------------------------------------------------------------------------------------------------------------
# 3. a device disconnects for 30 s (event time and wall time) and reconnects


def test_disconnect_reconnect(shared_data, kafka_bootstrap, redis_url, unique_prefix, start_worker):
    minutes, cut_seq, silent_s = 3.0, 90, 30
    base = _chunks(shared_data, "S02", minutes=minutes)
    # the device is silent for 30 s: nothing sampled, the chunks after it start 30 s later, seq goes on
    chunks = _shift(base, silent_s * S, from_seq=cut_seq)
    before = [c for c in chunks if c.seq < cut_seq]
    after = [c for c in chunks if c.seq >= cut_seq]
    expected = _offline(chunks)
    cut_ns = base[0].t0_ns + cut_seq * S
    want_before = {"S02": [e for e in expected["S02"] if e.window_end_ns <= cut_ns]}
    assert len(want_before["S02"]) >= 4 and len(expected["S02"]) - len(want_before["S02"]) >= 4

    settings = _settings(kafka_bootstrap, redis_url, unique_prefix, 2)
    ensure_topics(settings)
    worker = start_worker(unique_prefix, extra_env={"EMOPIPE_PARTITIONS": "2"})
    worker.wait_ready()
    _produce_paced(settings, before, speed=30.0)
    silent_from = time.monotonic()
    client = EventClient(redis_url, prefix=unique_prefix)
    # nothing before the disconnect is held back: every earlier event reaches Redis while the device is silent
    got_before, _ = _wait_for(client, want_before, timeout_s=silent_s - 3, quiet_s=silent_s)
    before_ids = {e.event_id for e in got_before["S02"]}
    time.sleep(max(0.0, silent_s - (time.monotonic() - silent_from)))
    reconnect_at = time.monotonic()
    _produce_paced(settings, after, speed=30.0)
    got, done_at = _wait_for(client, expected, timeout_s=60)
    client.close()
    counts = _counts(got, expected)
    record_fault(
        "disconnect_reconnect", lost=counts["lost"], duplicates=counts["duplicates"],
        recovery_s=max(0.0, done_at - reconnect_at), events=len(expected["S02"]), extra=counts["extra"],
        differ=counts["differ"], silent_s=silent_s,
        held_back_before_reconnect=len({e.event_id for e in want_before["S02"]} - before_ids),
    )  # fmt: skip
    print(f"disconnect_reconnect: {counts}, recovery {done_at - reconnect_at:.2f} s")

    assert worker.proc.poll() is None and "Crashed" not in worker.log()
    assert before_ids >= {e.event_id for e in want_before["S02"]}, "events before the disconnect held back or lost"
    _check_against_offline(got["S02"], expected["S02"])  # nothing lost before, the stream resumes after: == offline
    assert counts == {"lost": 0, "duplicates": 0, "extra": 0, "differ": 0}
    # the gap is flagged: ingest reports it for every stream of the device (no seq missing, 30 s of time), and the
    # windows over the hole are never emitted (never interpolated); the first after it is a whole window later
    gaps = _gap_lines(worker.log(), "S02/")
    assert sorted(g[0].split("/")[-1] for g in gaps) == ["acc", "bvp", "eda", "temp"], gaps
    assert all(n == 0 and abs(gap_ns - silent_s * S) < S // 10 for _k, n, gap_ns in gaps), gaps
    assert not _overlaps(got["S02"], cut_ns, cut_ns + silent_s * S)
    first_after = min(e.window_end_ns for e in got["S02"] if e.window_end_ns > cut_ns)
    assert first_after >= cut_ns + (silent_s + WINDOW_S) * S


# --------------------------------------------------------------------------------------------------------------
# 4. a second worker joins the group mid-stream


# one subject per partition of 4 (murmur2 of the key, as the producer): S03 -> 0, S09 -> 1, S02 -> 2, S11 -> 3
REBALANCE_SUBJECTS = ("S03", "S09", "S02", "S11")


def _assignment(raw: Any) -> set[tuple[str, int]]:
    """(topic, partition) pairs of a member's assignment: the consumer protocol's bytes (version int16, then
    [topic string16, [partition int32]]), or the structure kafka-python decoded them into."""
    if isinstance(raw, bytes | bytearray):
        out: set[tuple[str, int]] = set()
        (n_topics,) = struct.unpack_from(">i", raw, 2)
        off = 6
        for _ in range(n_topics):
            (n,) = struct.unpack_from(">h", raw, off)
            topic = raw[off + 2 : off + 2 + n].decode()
            off += 2 + n
            (n_parts,) = struct.unpack_from(">i", raw, off)
            out.update((topic, p) for p in struct.unpack_from(f">{n_parts}i", raw, off + 4))
            off += 4 + 4 * n_parts
        return out
    parts = raw.get("assigned_partitions") if isinstance(raw, dict) else getattr(raw, "assigned_partitions", None)
    assert parts is not None, f"cannot read a member assignment: {raw!r:.300}"
    get = (lambda tp, k: tp[k]) if parts and isinstance(parts[0], dict) else getattr
    return {(get(tp, "topic"), p) for tp in parts for p in get(tp, "partitions")}


def _group_members(bootstrap: str, group: str) -> dict[str, set[tuple[str, int]]]:
    """The consumer group's members and the (topic, partition) each one holds, as the broker tells it."""
    from kafka.admin import KafkaAdminClient

    logging.getLogger("kafka.admin").setLevel(logging.ERROR)  # it cannot decode Faust's member metadata; no matter
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        info = admin.describe_groups([group])[group]
    finally:
        admin.close()
    return {m["member_id"]: _assignment(m["member_assignment"]) for m in info["members"]}


def test_rebalance_second_worker(shared_data, kafka_bootstrap, redis_url, unique_prefix, start_worker):
    minutes, partitions = 2.5, 4
    per_subject = {s: _chunks(shared_data, s, minutes=minutes) for s in REBALANCE_SUBJECTS}
    merged = sorted((c for cs in per_subject.values() for c in cs), key=lambda c: (c.seq, c.subject_id, c.modality))
    expected = _offline(merged)
    settings = _settings(kafka_bootstrap, redis_url, unique_prefix, partitions)
    ensure_topics(settings)
    env = {"EMOPIPE_PARTITIONS": str(partitions)}
    w1 = start_worker(unique_prefix, extra_env=env)
    w1.wait_ready()
    feed_done: list[float] = []
    feed = threading.Thread(target=lambda: feed_done.append(_produce_paced(settings, merged, speed=4.0)), daemon=True)
    feed_from = time.monotonic()
    feed.start()
    time.sleep(3.0)
    w2 = start_worker(unique_prefix, extra_env=env)  # same app id: joins the group, partitions move to it
    w2.wait_ready()
    raw = f"{unique_prefix}.raw.eda"
    deadline = time.monotonic() + 30
    members: dict[str, set[tuple[str, int]]] = {}
    while time.monotonic() < deadline:
        members = _group_members(kafka_bootstrap, unique_prefix)
        if len(members) == 2 and all(any(t == raw for t, _ in ps) for ps in members.values()):
            break
        time.sleep(0.5)
    rebalanced_at = time.monotonic()
    feed.join(120)
    assert feed_done, "the feed did not finish"
    mid_stream = rebalanced_at < feed_done[0]
    client = EventClient(redis_url, prefix=unique_prefix)
    got, done_at = _wait_for(client, expected, timeout_s=90)
    client.close()
    counts = _counts(got, expected)
    degraded = {
        s: [e.window_end_ns for e in got[s] if not all(st.present for st in e.modalities.values())] for s in got
    }
    record_fault(
        "rebalance_second_worker", lost=counts["lost"], duplicates=counts["duplicates"],
        recovery_s=max(0.0, done_at - rebalanced_at), events=sum(len(v) for v in expected.values()),
        extra=counts["extra"], differ=counts["differ"], degraded=sum(map(len, degraded.values())),
        partitions=partitions, subjects=len(REBALANCE_SUBJECTS), joined_mid_stream=mid_stream,
        rebalanced_after_s=round(rebalanced_at - feed_from, 1), feed_s=round(feed_done[0] - feed_from, 1),
    )  # fmt: skip
    print(f"rebalance_second_worker: {counts}, degraded {degraded}, mid-stream {mid_stream}")

    # the second worker took partitions from the first while chunks were still coming
    assert len(members) == 2 and all(any(t == raw for t, _ in ps) for ps in members.values()), members
    assert mid_stream, "the rebalance finished only after the feed: not a mid-stream join"
    for w in (w1, w2):
        assert w.proc.poll() is None and "Crashed" not in w.log(), w.log()[-3000:]
    # every event equal to offline: a chunk re-delivered out of order waits in the reorder step, and a batch fetched
    # while the rebalance completed is re-read in order (agents/rebalance.py)
    for s in REBALANCE_SUBJECTS:
        _check_against_offline(got[s], expected[s])
    assert counts == {"lost": 0, "duplicates": 0, "extra": 0, "differ": 0}
