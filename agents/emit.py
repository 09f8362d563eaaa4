"""Stage ``emit``: emotion events from the ``events`` topic to Redis.

The events topic is the source of truth; this stage mirrors it into Redis (bounded stream, latest
hash per subject, pub/sub; head events to their own stream and channel) with idempotent writes on the
event id, so at-least-once delivery and replays never duplicate an event in Redis. Redis being down
never ends the agent: :class:`agents.stage.SinkRetry` waits with backoff and the events stay in Kafka.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from agents import metrics
from agents.redis_sink import RedisEventSink
from agents.stage import BaseStage, ErrorPolicy, Out, SinkRetry, run_stage
from pipeline.events import decode_event

logger = logging.getLogger(__name__)

STEP_ID = "emit"
BATCH_MAX = 256
BATCH_WITHIN_S = 0.02


class EmitStage(BaseStage):
    """Write each event to Redis once."""

    step_id = STEP_ID

    def __init__(self, sink: RedisEventSink, retry: SinkRetry) -> None:
        self.sink, self.retry = sink, retry

    async def step(self, staged: Any, event: Any) -> list[Out]:
        ev = decode_event(event.value)
        ev = dataclasses.replace(ev, latency_ns={**ev.latency_ns, "redis_write_ns": time.time_ns()})
        written = await self.retry.call(lambda: self.sink.write(ev))
        metrics.observe_event(ev, until="published")
        if written:
            metrics.observe_event(ev, until="redis")
        else:
            logger.debug("emit: %s already in Redis", ev.event_id)
        return []


def redis_retry() -> SinkRetry:
    """The retry policy of the Redis sink."""
    import redis.exceptions

    return SinkRetry("redis", (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError))


def register_emit(emo: Any) -> None:
    """Register the Redis emit agent."""
    app, topics, settings = emo.app, emo.topics, emo.settings
    errors = ErrorPolicy(topics, settings.error_policy)

    @app.agent(topics.events, name=STEP_ID)
    async def emit(stream: Any) -> None:
        sink = RedisEventSink.from_settings(settings)  # credentials and TLS: agents/connections.py
        retry = redis_retry()
        await retry.call(sink.start)  # connects when the agent starts, never at import; waits for Redis
        try:
            stage = EmitStage(sink, retry)
            await run_stage(
                stage, stream, producer=app.producer, errors=errors, batch_max=BATCH_MAX, within_s=BATCH_WITHIN_S
            )
        finally:
            await sink.close()
