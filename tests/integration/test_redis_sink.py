"""RedisEventSink and EventClient against the real redis-server."""

from __future__ import annotations

import asyncio
import threading

import redis

from agents.client import EventClient
from agents.redis_sink import RedisEventSink
from pipeline.events import EmotionEvent, ModalityStatus


def _event(subject: str, end_s: int, label: str = "stress", version: str = "1") -> EmotionEvent:
    p = 0.9 if label == "stress" else 0.1
    return EmotionEvent(
        subject_id=subject,
        session_id="s1",
        window_start_ns=(end_s - 60) * 10**9,
        window_end_ns=end_s * 10**9,
        label=label,
        probabilities={"non_stress": round(1 - p, 6), "stress": p},
        modalities={"eda": ModalityStatus(True, 0.9), "bvp": ModalityStatus(False, 0.0, ("missing",))},
        model_name="stress_binary",
        model_version=version,
        latency_ns={"window_close_ns": 1, "inference_done_ns": 2, "published_ns": 3},
    )


def _write(url: str, prefix: str, events: list[EmotionEvent]) -> list[bool]:
    async def go() -> list[bool]:
        sink = RedisEventSink(url, prefix=prefix, max_stream_len=1000)
        await sink.start()
        try:
            return [await sink.write(ev) for ev in events]
        finally:
            await sink.close()

    return asyncio.run(go())


def test_events_round_trip_idempotently_through_real_redis(redis_url, unique_prefix):
    events = [_event("S02", 60), _event("S02", 65, "non_stress"), _event("S03", 60)]
    assert _write(redis_url, unique_prefix, events) == [True, True, True]
    # the same windows again (a replay after a crash) and an older window: nothing is duplicated
    assert _write(redis_url, unique_prefix, [events[0], events[1]]) == [False, False]
    assert _write(redis_url, unique_prefix, [_event("S02", 55, "non_stress")]) == [True]

    client = EventClient(redis_url, prefix=unique_prefix)
    assert client.subjects() == ["S02", "S03"]
    assert [e.window_end_ns // 10**9 for e in client.history("S02")] == [60, 65, 55]
    assert len(client.history()) == 4
    assert client.history("S02")[0] == events[0]
    latest = client.latest("S02")
    assert latest is not None and latest.window_end_ns == 65 * 10**9  # the older window did not replace it
    assert client.latest("S99") is None
    # a new model version is a new event for the same window
    assert _write(redis_url, unique_prefix, [_event("S02", 60, version="2")]) == [True]
    assert len(client.history("S02")) == 4
    raw = redis.Redis.from_url(redis_url)
    assert raw.xlen(f"{unique_prefix}:events") == 5
    client.close()


def test_live_pubsub_and_follow_see_new_events(redis_url, unique_prefix):
    r = redis.Redis.from_url(redis_url)
    pubsub = r.pubsub()
    pubsub.subscribe(f"{unique_prefix}:live:S05")
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"

    client = EventClient(redis_url, prefix=unique_prefix)
    _write(redis_url, unique_prefix, [_event("S05", 60)])  # history before the follower starts
    got: list[EmotionEvent] = []

    def follow() -> None:
        for ev in client.follow("S05", since_ms=0, idle_timeout_s=3):
            got.append(ev)

    t = threading.Thread(target=follow)
    t.start()
    _write(redis_url, unique_prefix, [_event("S05", 65), _event("S06", 65)])
    t.join(timeout=15)
    assert [e.window_end_ns // 10**9 for e in got] == [60, 65]
    messages = [pubsub.get_message(timeout=2) for _ in range(2)]
    live = [m for m in messages if m and m["type"] == "message"]
    assert len(live) == 2 and b'"subject_id":"S05"' in live[0]["data"]
    pubsub.close()
    client.close()
