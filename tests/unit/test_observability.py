"""Metrics helpers, the dead-letter size bound and the log filters (pure; no services)."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from agents import metrics
from agents.dlq import (
    MAX_DEAD_LETTER_BYTES,
    MAX_PAYLOAD_KEPT_BYTES,
    decode_dead_letter,
    encode_dead_letter,
    error_kind,
    make_dead_letter,
)
from agents.logfilter import DemoteFilter, RepeatFilter
from pipeline.events import EmotionEvent, ModalityStatus
from pipeline.exceptions import ContinuityError, ContractError, DecodeError

SHAPE_NAMES = {
    "emopipe_stage_messages_total",
    "emopipe_stage_outputs_total",
    "emopipe_stage_errors_total",
    "emopipe_dead_letters_total",
    "emopipe_consumer_lag_messages",
    "emopipe_latency_seconds",
    "emopipe_head_inference_seconds",
    "emopipe_sink_failures_total",
    "emopipe_sink_retries_total",
    "emopipe_state_bytes_written_total",
    "emopipe_state_store_memory_bytes",
    "emopipe_python_allocated_blocks",
}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _value(name: str, **labels: str) -> float:
    return _samples(metrics.render().decode()).get((name, tuple(sorted(labels.items()))), 0.0)


def test_every_metric_of_the_shape_is_exposed_with_its_exact_name() -> None:
    m = metrics.build_metrics(CollectorRegistry(), process=False)
    m.messages.labels("ingest").inc()
    m.outputs.labels("ingest").inc()
    m.errors.labels("ingest").inc()
    m.dead_letters.labels("ingest", "decode").inc()
    m.lag.labels("t", "0").set(3)
    m.latency.labels("stress_binary", "eda", "redis").observe(0.01)
    m.inference.labels("stress_binary").observe(0.001)
    m.sink_failures.labels("redis").inc()
    m.sink_retries.labels("redis").inc()
    m.state_bytes.labels("ingest-cursors").inc(10)
    m.store_memory.labels("cache").set_function(lambda: 1.0)
    from prometheus_client import generate_latest

    names = {s[0] for s in _samples(generate_latest(m.registry).decode())}
    for name in SHAPE_NAMES:
        assert name in names or f"{name}_count" in names, name


def test_the_process_metrics_are_built_once() -> None:
    assert metrics.get_metrics() is metrics.get_metrics()
    assert b"process_resident_memory_bytes" in metrics.render()


def test_stage_batch_counts_outputs_without_the_dead_letters() -> None:
    before_msg = _value("emopipe_stage_messages_total", stage="ut-stage")
    before_out = _value("emopipe_stage_outputs_total", stage="ut-stage")
    before_dead = _value("emopipe_dead_letters_total", stage="ut-stage", reason="decode")
    total0, _ = metrics.recent_dead_letters()
    metrics.dead_letter("ut-stage", "decode", topic="raw", partition=1, offset=7)
    metrics.dead_letter("ut-stage", "decode", topic="raw", partition=1, offset=8)
    metrics.stage_batch("ut-stage", 10, 7)  # 5 records downstream + 2 dead letters
    assert _value("emopipe_stage_messages_total", stage="ut-stage") == before_msg + 10
    assert _value("emopipe_stage_outputs_total", stage="ut-stage") == before_out + 5
    assert _value("emopipe_dead_letters_total", stage="ut-stage", reason="decode") == before_dead + 2
    total, last = metrics.recent_dead_letters()
    assert total == total0 + 2
    assert last[0]["offset"] == 8 and last[1]["offset"] == 7  # newest first
    assert set(last[0]) == {"stage", "reason", "topic", "partition", "offset", "time_ms"}


def _event(**stamps: int) -> EmotionEvent:
    return EmotionEvent(
        subject_id="S02", session_id="s1", window_start_ns=0, window_end_ns=60 * 10**9, label="stress",
        probabilities={"non_stress": 0.25, "stress": 0.75},
        modalities={"eda": ModalityStatus(True, 0.5), "bvp": ModalityStatus(False, 0.0, ("missing",))},
        model_name="ut_head", model_version="1", latency_ns=stamps,
    )  # fmt: skip


def test_latency_is_observed_per_present_modality() -> None:
    labels = {"head": "ut_head", "modality": "eda"}
    c_pub = _value("emopipe_latency_seconds_count", **labels, until="published")
    s_red = _value("emopipe_latency_seconds_sum", **labels, until="redis")
    ev = _event(window_close_ns=1_000_000_000, published_ns=1_020_000_000)
    metrics.observe_event(ev, until="published")  # the classify stage's hook
    metrics.event_emitted("ut-emit", ev, {**ev.latency_ns, "redis_write_ns": 1_050_000_000}, True)
    assert _value("emopipe_latency_seconds_count", **labels, until="published") == c_pub + 1
    assert _value("emopipe_latency_seconds_sum", **labels, until="redis") == pytest.approx(s_red + 0.05)
    assert _value("emopipe_latency_seconds_count", head="ut_head", modality="bvp", until="redis") == 0  # absent
    metrics.observe_event(_event(published_ns=5))  # no window_close_ns: nothing observed, no error


def test_timed_predict_uses_the_card_name() -> None:
    class Model:
        def __init__(self) -> None:
            self.card = {"name": "ut_model"}

        def predict_proba(self, x: list[float]) -> list[float]:
            return [v * 2 for v in x]

    before = _value("emopipe_head_inference_seconds_count", head="ut_model")
    assert metrics.timed_predict(Model(), [1.0, 2.0]) == [2.0, 4.0]
    assert _value("emopipe_head_inference_seconds_count", head="ut_model") == before + 1


def test_lag_gauge_drops_partitions_no_longer_assigned() -> None:
    exported = metrics.set_lag([("ut-topic", 0, 5), ("ut-topic", 1, 0)], previous=set())
    assert _value("emopipe_consumer_lag_messages", topic="ut-topic", partition="0") == 5
    metrics.set_lag([("ut-topic", 1, 2)], previous=exported)
    text = metrics.render().decode()
    assert 'emopipe_consumer_lag_messages{partition="0",topic="ut-topic"}' not in text
    assert _value("emopipe_consumer_lag_messages", topic="ut-topic", partition="1") == 2


def test_sink_and_state_counters() -> None:
    f0, r0 = _value("emopipe_sink_failures_total", sink="ut"), _value("emopipe_sink_retries_total", sink="ut")
    metrics.sink_failed("ut", retrying=True)
    metrics.sink_failed("ut", retrying=False)
    assert _value("emopipe_sink_failures_total", sink="ut") == f0 + 2
    assert _value("emopipe_sink_retries_total", sink="ut") == r0 + 1
    b0 = _value("emopipe_state_bytes_written_total", table="ut-table")
    metrics.state_written("ut-table", 123)
    assert _value("emopipe_state_bytes_written_total", table="ut-table") == b0 + 123


# --- dead letters --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 10, MAX_PAYLOAD_KEPT_BYTES, MAX_PAYLOAD_KEPT_BYTES + 1, 3 * 1024 * 1024])
def test_dead_letters_are_bounded_and_keep_hash_and_length(size: int) -> None:
    value = bytes(i % 251 for i in range(size))
    letter = make_dead_letter(stage="ingest", reason="r" * 10_000, topic="raw", partition=0, offset=1,
                              key=b"k" * 5000, value=value, kind="decode")  # fmt: skip
    data = encode_dead_letter(letter)
    assert len(data) <= MAX_DEAD_LETTER_BYTES
    back = decode_dead_letter(data)
    assert back.payload_len == size
    assert back.payload_sha256 == hashlib.sha256(value).hexdigest()
    assert back.payload() == value[:MAX_PAYLOAD_KEPT_BYTES]
    assert back.truncated  # the key (5000 bytes) is cut in every case
    assert len(back.reason) <= 2000 and back.kind == "decode"


def test_small_dead_letters_are_complete() -> None:
    letter = make_dead_letter(stage="ingest", reason="bad", topic="raw", partition=0, offset=1, key=b"S02",
                              value=b"\x00garbage")  # fmt: skip
    back = decode_dead_letter(encode_dead_letter(letter))
    assert (back.payload(), back.truncated, back.key) == (b"\x00garbage", False, "S02")


def test_schema_1_dead_letters_still_decode() -> None:
    old = {"stage": "ingest", "reason": "x", "source_topic": "t", "partition": 0, "offset": 3, "key": None,
           "payload_b64": "AA==", "error_type": "ContractError", "schema_version": 1}  # fmt: skip
    back = decode_dead_letter(json.dumps(old).encode())
    assert back.payload() == b"\x00" and back.payload_len == -1


def test_error_kinds() -> None:
    assert [error_kind(e) for e in (DecodeError("x"), ContinuityError("x"), ContractError("x"), KeyError("x"))] == [
        "decode", "continuity", "contract", "internal",
    ]  # fmt: skip


# --- log filters ---------------------------------------------------------------------------------


def _record(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_repeat_filter_collapses_identical_connection_errors() -> None:
    now = [0.0]
    f = RepeatFilter(10.0, clock=lambda: now[0])
    passed = []
    for i in range(1000):  # 100 s of an outage, one error per 0.1 s, node ids varying
        now[0] = i * 0.1
        rec = _record("aiokafka.conn", "Unable connect to node with id %s: %s", i % 3, "Connect call failed")
        if f.filter(rec):
            passed.append(rec.getMessage())
    assert 10 <= len(passed) <= 11, passed
    assert "repeated 99 times in the last 10 s" in passed[1]
    assert passed[0] == "Unable connect to node with id 0: Connect call failed"


def test_repeat_filter_leaves_other_records_alone() -> None:
    f = RepeatFilter(10.0, clock=lambda: 0.0)
    assert all(f.filter(_record("agents.ingest", "dead letter")) for _ in range(5))  # not a noisy logger
    assert all(f.filter(_record("aiokafka.conn", "x", level=logging.INFO)) for _ in range(5))  # below WARNING
    assert f.filter(_record("aiokafka.conn", "one kind"))
    assert f.filter(_record("aiokafka.conn", "another kind"))
    assert not f.filter(_record("aiokafka.conn", "one kind"))


def test_demote_filter_turns_the_harmless_coordinator_error_into_info() -> None:
    f = DemoteFilter()
    rec = _record("aiokafka.consumer.group_coordinator", "Group Coordinator Request failed: [Error 15] %s",
                  "GroupCoordinatorNotAvailableError")  # fmt: skip
    assert f.filter(rec) and rec.levelno == logging.INFO and rec.levelname == "INFO"
    other = _record("aiokafka.conn", "Unable connect")
    assert f.filter(other) and other.levelno == logging.ERROR


def test_grafana_dashboard_uses_only_metrics_that_exist() -> None:
    import re

    from deploy.settings import REPO_ROOT

    dash = json.loads((REPO_ROOT / "deploy" / "grafana" / "emopipe.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\b(emopipe_[a-z_]+)", e)}
    exported = SHAPE_NAMES | {f"{n}_bucket" for n in ("emopipe_latency_seconds", "emopipe_head_inference_seconds")}
    assert used and used <= exported, used - exported
    assert {"emopipe_dead_letters_total", "emopipe_consumer_lag_messages", "emopipe_latency_seconds_bucket"} <= used


# --- endpoint helpers and escaped output ----------------------------------------------------------


class _TP:
    def __init__(self, topic: str, partition: int) -> None:
        self.topic, self.partition = topic, partition

    def __lt__(self, other: _TP) -> bool:
        return (self.topic, self.partition) < (other.topic, other.partition)


class _Consumer:
    def __init__(self, highwaters: dict[_TP, int | None]) -> None:
        self.highwaters = highwaters
        self._committed_offset: dict[_TP, int] = {}

    def assignment(self) -> set[_TP]:
        return set(self.highwaters)

    def highwater(self, tp: _TP) -> int | None:
        return self.highwaters[tp]


class _App:
    def __init__(self, consumer: _Consumer, *, rebalancing: bool = False) -> None:
        self.consumer, self.rebalancing = consumer, rebalancing

        class _Tables:
            recovery = None

        self.tables = _Tables()


def test_partition_lags_are_highwater_minus_committed() -> None:
    from agents.endpoints import partition_lags

    a, b, c = _TP("raw", 0), _TP("raw", 1), _TP("raw", 2)
    consumer = _Consumer({a: 100, b: 7, c: None})  # c: not fetched yet -> no gauge
    consumer._committed_offset = {a: 60, b: 7}
    assert partition_lags(_App(consumer)) == [("raw", 0, 40), ("raw", 1, 0)]


def test_ready_state_waits_for_the_first_assignment_and_for_rebalances() -> None:
    from agents.endpoints import ReadyState

    state = ReadyState()
    app = _App(_Consumer({_TP("raw", 0): 1}))
    assert state.check(app) == (False, "waiting for the first partition assignment", 1)
    state.assigned_once = True
    assert state.check(app) == (True, "", 1)
    app.rebalancing = True
    assert state.check(app)[:2] == (False, "rebalancing")


def test_subscribe_lines_escape_hostile_text() -> None:
    from agents.commands.subscribe import format_event

    ev = _event(window_close_ns=1)
    import dataclasses

    hostile = dataclasses.replace(ev, model_name="m\x1b[2J", model_version="1\u202e")
    line = format_event(hostile)
    assert "\x1b" not in line and "\u202e" not in line and "m\\x1b[2J@1\\u202e" in line
