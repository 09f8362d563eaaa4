"""Pure parts of the dashboard: query validation, event views (v1 and v2), Prometheus parsing,
the pipeline view, SSE framing and the fan-out hub."""

from __future__ import annotations

import asyncio
import json

import pytest

from agents.dashboard.hub import Hub, HubFull
from agents.dashboard.views import (
    BadRequest,
    WorkerReading,
    event_view,
    latency_breakdown_ms,
    parse_count,
    parse_prometheus,
    pipeline_view,
    preview_view,
    sse_frame,
    stage_of_topic,
    validate_subject,
)
from pipeline.events import EmotionEvent, ModalityStatus, encode_event

# --- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sid", ["S02", "subj_1", "lab.a:7@x-y", "A" * 128])
def test_valid_subjects(sid):
    assert validate_subject(sid) == sid


@pytest.mark.parametrize("sid", ["", "S 02", "<script>", "../etc", "-x", "A" * 129, "S02\n", "é"])
def test_malformed_subjects_are_400(sid):
    with pytest.raises(BadRequest) as err:
        validate_subject(sid)
    assert err.value.status == 400 and "malformed subject id" in str(err.value)


def test_count_parameter():
    assert parse_count({}) == 300
    assert parse_count({"count": "5"}) == 5
    for bad in ("0", "-1", "abc", "2001", "1e3", ""):
        with pytest.raises(BadRequest, match="count must be"):
            parse_count({"count": bad})
    with pytest.raises(BadRequest, match="unknown query parameter"):
        parse_count({"count": "5", "since": "x"})


# --- events ------------------------------------------------------------------------------------------

STAMPS = {
    "ingest_ns": 1_000_000_000,
    "window_close_ns": 1_004_000_000,
    "inference_done_ns": 1_005_000_000,
    "published_ns": 1_006_500_000,
    "redis_write_ns": 1_010_000_000,
}


def _v1() -> dict:
    """A schema-v1 event exactly as v1 workers wrote it to Redis (before the v2 contract)."""
    return {
        "arousal": None, "event_id": "S02:60000000000:1.1.0", "label": "stress", "latency_ns": dict(STAMPS),
        "modalities": {"eda": {"present": True, "quality": 0.8, "reasons": ["motion"]},
                       "bvp": {"present": False, "quality": 0.0, "reasons": ["missing"]}},
        "model_name": "stress_binary", "model_version": "1.1.0",
        "probabilities": {"non-stress": 0.3, "stress": 0.7}, "schema_version": 1, "session_id": "s1",
        "subject_id": "S02", "synthetic": False, "valence": None,
        "window_end_ns": 60_000_000_000, "window_start_ns": 0,
    }  # fmt: skip


def test_event_from_the_current_contract_is_viewed():
    """Whatever pipeline/events.py encodes today (v2 since the lead's merge) gives a usable view."""
    ev = EmotionEvent(
        subject_id="S02",
        session_id="s1",
        window_start_ns=0,
        window_end_ns=60_000_000_000,
        label="stress",
        probabilities={"non-stress": 0.3, "stress": 0.7},
        modalities={"eda": ModalityStatus(True, 0.8, ("motion",))},
        model_name="stress_binary",
        model_version="1.1.0",
        latency_ns=STAMPS,
    )
    v = event_view(json.loads(encode_event(ev)))
    assert v is not None and v["label"] == "stress" and v["modalities"]["eda"]["present"] is True
    assert v["modalities"]["eda"]["reasons"] == ["motion"] and v["latency_ms"]["total"] == 10.0


def _v2() -> dict:
    """A fused v2 event as SHAPE.md describes it, built by hand (all fields set)."""
    d = _v1()
    affect = [
        "neutral",
        "high-arousal positive",
        "high-arousal negative",
        "low-arousal negative",
        "low-arousal positive",
    ]
    d.update(
        schema_version=2,
        kind="fused",
        head=None,
        label="high-arousal negative",
        probabilities=dict(zip(affect, [0.1, 0.1, 0.6, 0.1, 0.1], strict=True)),
        arousal=0.6,
        valence=-0.4,
        condition="TSST",
        model_name="fusion",
        model_version="2.0",
        heads={
            "stress_binary": {
                "model_name": "stress_binary", "model_version": "1.1.0", "label": "stress",
                "probabilities": {"non-stress": 0.3, "stress": 0.7}, "arousal": 0.7, "valence": -0.5,
                "weight": 0.75, "quality": 0.8, "modalities": ["eda", "bvp"], "synthetic": False,
            },
            "eeg_tcn": {
                "model_name": "eeg_tcn", "model_version": "0.1", "label": "calm", "probabilities": {"calm": 1.0},
                "arousal": 0.3, "valence": -0.1, "weight": 0.25, "quality": 0.5, "modalities": ["eeg"],
                "synthetic": True,
            },
        },
    )  # fmt: skip
    d["modalities"]["eda"]["weight"] = 0.75
    return d


def test_v1_event_view():
    v = event_view(_v1())
    assert v is not None
    assert v["subject_id"] == "S02" and v["label"] == "stress" and v["kind"] == "fused"
    assert v["probabilities"] == {"non-stress": 0.3, "stress": 0.7}
    assert v["arousal"] is None and v["valence"] is None and v["heads"] == {} and v["condition"] is None
    assert v["modalities"]["eda"] == {"present": True, "quality": 0.8, "reasons": ["motion"], "weight": None}
    assert v["modalities"]["bvp"]["present"] is False
    assert v["model"] == "stress_binary@1.1.0" and v["schema_version"] == 1
    assert v["latency_ms"]["total"] == 10.0 and v["latency_ms"]["ingest->window_close"] == 4.0
    assert v["written_ms"] == 1010  # redis_write_ns, in ms


def test_v2_event_view_shows_heads_and_affect():
    v = event_view(_v2())
    assert v is not None
    assert v["arousal"] == 0.6 and v["valence"] == -0.4 and v["condition"] == "TSST"
    assert v["model"] == "fusion@2.0" and v["schema_version"] == 2
    h = v["heads"]["stress_binary"]
    assert h["weight"] == 0.75 and h["label"] == "stress" and h["model"] == "stress_binary@1.1.0"
    assert h["arousal"] == 0.7 and h["modalities"] == ["eda", "bvp"]
    assert v["heads"]["eeg_tcn"]["synthetic"] is True
    assert v["modalities"]["eda"]["weight"] == 0.75
    head_event = _v2() | {"kind": "head", "head": "eeg_tcn"}
    hv = event_view(head_event)
    assert hv is not None and hv["kind"] == "head" and hv["head"] == "eeg_tcn"


def test_unusable_events_and_hostile_values():
    assert event_view({}) is None
    assert event_view({"subject_id": "S1", "window_end_ns": "x", "label": "a"}) is None
    d = _v1() | {"arousal": float("nan"), "valence": True, "heads": "nope", "modalities": {"eda": "x"}}
    d["latency_ns"] = {"ingest_ns": "1"}
    v = event_view(d, received_ms=42)
    assert v is not None
    assert v["arousal"] is None and v["valence"] is None and v["heads"] == {} and v["modalities"] == {}
    assert v["latency_ms"] == {} and v["written_ms"] == 42
    # markup in ids and reasons is passed on as text (the page sets textContent, never innerHTML)
    d = _v1() | {"subject_id": "<img src=x onerror=alert(1)>"}
    assert event_view(d)["subject_id"] == "<img src=x onerror=alert(1)>"


def test_latency_breakdown_with_missing_stamps():
    assert latency_breakdown_ms({}) == {}
    assert latency_breakdown_ms({"ingest_ns": 0, "published_ns": 2_500_000}) == {
        "ingest->published": 2.5,
        "total": 2.5,
    }


def test_preview_view():
    assert preview_view({"subject_id": "S1", "modality": "eda", "channels": [{"y": "AB"}]}) is not None
    assert preview_view({"subject_id": "S1", "modality": "eda", "channels": [{"y": [1, 2]}]}) is None
    assert preview_view({"modality": "eda", "channels": []}) is None


# --- Prometheus and the pipeline view ------------------------------------------------------------------

METRICS_T0 = """\
# HELP emopipe_stage_messages_total messages taken by a stage
# TYPE emopipe_stage_messages_total counter
emopipe_stage_messages_total{stage="ingest"} 100.0
emopipe_stage_messages_total{stage="window"} 50.0
emopipe_stage_outputs_total{stage="ingest"} 98.0
emopipe_stage_errors_total{stage="ingest"} 2.0
emopipe_dead_letters_total{stage="ingest",reason="decode"} 2.0
emopipe_consumer_lag_messages{topic="t1.raw.eda",partition="0"} 5.0
emopipe_consumer_lag_messages{topic="t1.raw.bvp",partition="1"} 7.0
emopipe_consumer_lag_messages{topic="t1.windows",partition="0"} 3.0
emopipe_consumer_lag_messages{topic="t1-window-streams-changelog",partition="0"} 9.0
emopipe_latency_seconds_bucket{modality="eda",le="0.1"} 4.0
emopipe_latency_seconds_created{modality="eda"} 1.7e+09
process_cpu_seconds_total 1.5
"""
METRICS_T1 = METRICS_T0.replace('{stage="ingest"} 100.0', '{stage="ingest"} 140.0').replace(
    'reason="decode"} 2.0', 'reason="decode"} 3.0'
)


def test_parse_prometheus():
    samples = parse_prometheus(METRICS_T0 + 'x_total{a="q\\"uote",b="back\\\\slash"} +Inf 1700000000\n')
    assert samples[0].name == "emopipe_stage_messages_total" and samples[0].labels == {"stage": "ingest"}
    assert samples[0].value == 100.0
    assert samples[-1].labels == {"a": 'q"uote', "b": "back\\slash"} and samples[-1].value == float("inf")
    for bad in ("emopipe_x{stage=ingest} 1", "emopipe_x 1 2 3", 'emopipe_x{a="1"} abc', "{} 1"):
        with pytest.raises(ValueError, match="line 1"):
            parse_prometheus(bad)


def test_stage_of_topic():
    assert stage_of_topic("t1.raw.eda", "t1") == "ingest"
    assert stage_of_topic("t1.valid.eda", "t1") is None  # the former window stage's input (merged into ingest)
    assert stage_of_topic("t1.windows", "t1") == "classify"
    assert stage_of_topic("t1.events", "t1") == "emit"
    assert stage_of_topic("t1.previews", "t1") == "preview"
    assert stage_of_topic("t1-window-streams-changelog", "t1") is None
    assert stage_of_topic("other.raw.eda", "t1") is None


def _reading(url, t, text, status=None):
    return WorkerReading(
        url=url, time_s=t, health={"status": "ok", "worker": "w1", "stages": ["ingest"], "uptime_s": 3.0},
        status=status, metrics=parse_prometheus(text), reachable=True,
    )  # fmt: skip


def test_pipeline_view_lag_rates_dead_letters():
    status = {
        "worker": "w1",
        "dead_letters_total": 3,
        "last_dead_letters": [
            {"stage": "ingest", "reason": "decode", "topic": "t1.raw.eda", "partition": 0, "offset": 7, "time_ms": 5},
            {"stage": "ingest", "reason": "contract", "topic": "t1.raw.eda", "partition": 0, "offset": 9, "time_ms": 9},
        ],
    }
    r0 = _reading("http://a", 10.0, METRICS_T0)
    first = pipeline_view([r0], {}, prefix="t1")
    assert first["available"] is True
    assert first["stages"]["ingest"]["lag"] == 12.0 and first["stages"]["classify"]["lag"] == 3.0
    assert "messages_per_s" not in first["stages"]["ingest"]  # no rate before a second reading
    r1 = _reading("http://a", 12.0, METRICS_T1, status)
    v = pipeline_view([r1], {"http://a": r0}, prefix="t1")
    assert v["stages"]["ingest"]["messages_per_s"] == 20.0  # (140 - 100) / 2 s
    assert v["stages"]["ingest"]["messages_total"] == 140.0 and v["stages"]["ingest"]["errors_total"] == 2.0
    assert v["dead_letters_total"] == 3 and v["dead_letter_reasons"] == {"decode": 3}
    assert [d["offset"] for d in v["last_dead_letters"]] == [9, 7]  # newest first
    assert v["workers"][0]["alive"] is True and v["workers"][0]["worker"] == "w1"
    # a restarted worker's counters start again: the rate counts from zero, never negative
    r2 = _reading("http://a", 14.0, METRICS_T0.replace('{stage="ingest"} 100.0', '{stage="ingest"} 10.0'))
    assert pipeline_view([r2], {"http://a": r1}, prefix="t1")["stages"]["ingest"]["messages_per_s"] == 5.0
    # two workers add up
    both = pipeline_view([r0, _reading("http://b", 10.0, METRICS_T0)], {}, prefix="t1")
    assert both["stages"]["ingest"]["lag"] == 24.0 and len(both["workers"]) == 2


def test_pipeline_view_without_metrics_is_unavailable():
    down = WorkerReading(url="http://a", time_s=1.0, error="/health: ClientConnectorError: refused")
    v = pipeline_view([down], {}, prefix="t1")
    assert v["available"] is False and v["stages"] == {} and v["workers"][0]["alive"] is False
    assert v["workers"][0]["reachable"] is False and "refused" in v["workers"][0]["error"]
    # a web server without emopipe metrics (e.g. Faust's own pages) is not "available" either
    other = WorkerReading(url="http://a", time_s=1.0, metrics=parse_prometheus("process_cpu_seconds_total 1\n"))
    assert pipeline_view([other], {}, prefix="t1")["available"] is False


# --- SSE and fan-out -----------------------------------------------------------------------------------


def test_sse_frame_is_one_json_line():
    frame = sse_frame("event", {"reason": "line1\nline2", "id": "<b>"})
    lines = frame.split("\n")
    assert lines[0] == "event: event" and lines[1].startswith("data: ") and frame.endswith("\n\n")
    assert json.loads(lines[1][6:]) == {"reason": "line1\nline2", "id": "<b>"}
    with pytest.raises(ValueError):
        sse_frame("evil\ndata: x", {})


def test_hub_fans_out_one_frame_to_every_client():
    async def go():
        hub = Hub(max_clients=3, queue_size=2)
        a, b = hub.connect(), hub.connect()
        assert hub.publish("event", {"n": 1}) == 2
        fa, fb = a.queue.get_nowait(), b.queue.get_nowait()
        assert fa == fb == sse_frame("event", {"n": 1})
        hub.connect()
        with pytest.raises(HubFull):
            hub.connect()
        hub.disconnect(a)
        assert len(hub.clients) == 2
        return hub, b

    asyncio.run(go())


def test_hub_drops_a_client_that_stops_reading():
    async def go():
        hub = Hub(queue_size=2)
        slow, fast = hub.connect(), hub.connect()
        for i in range(3):
            hub.publish("event", {"n": i})
            fast.queue.get_nowait()
        assert slow.dropped and slow not in hub.clients and fast in hub.clients
        assert slow.queue.get_nowait() is None  # its SSE response ends; the browser reconnects
        assert hub.publish("event", {"n": 9}) == 1

    asyncio.run(go())


def test_hub_keeps_latest_fused_event_per_subject():
    hub = Hub()
    v1 = event_view(_v1())
    later = event_view(_v1() | {"window_end_ns": 65_000_000_000, "window_start_ns": 5_000_000_000})
    assert hub.update_event(later) and not hub.update_event(v1)
    assert hub.latest["S02"]["window_end_ns"] == 65_000_000_000
    head = event_view(_v2() | {"kind": "head", "head": "eeg_tcn", "window_end_ns": 70_000_000_000})
    assert not hub.update_event(head)
    snap = hub.snapshot(123)
    body = json.loads(snap.split("\n")[1][6:])
    assert snap.startswith("event: snapshot\n") and body["server_now_ms"] == 123
    assert [s["subject_id"] for s in body["subjects"]] == ["S02"] and body["pipeline"] is None


def test_worker_urls_option():
    import argparse

    from agents.commands.dashboard import worker_urls

    assert worker_urls("http://127.0.0.1:6066, http://10.0.0.2:6067/") == (
        "http://127.0.0.1:6066",
        "http://10.0.0.2:6067",
    )
    for bad in ("", "127.0.0.1:6066", "ftp://h:1", "http://h:1/metrics", "http://h:1?x=1"):
        with pytest.raises(argparse.ArgumentTypeError):
            worker_urls(bad)
