"""Stage ``emit``: emotion events from the ``events`` topic to Redis.

The events topic is the source of truth; this stage mirrors it into Redis (bounded stream, latest
hash per subject, pub/sub) with idempotent writes on (subject, window end, model version), so
at-least-once delivery and replays never duplicate an event in Redis.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from typing import Any

from agents.dlq import reject
from agents.redis_sink import RedisEventSink
from pipeline.events import decode_event
from pipeline.exceptions import ContractError

logger = logging.getLogger(__name__)

STEP_ID = "emit"


async def write_with_retry(sink: RedisEventSink, ev: Any, *, max_backoff_s: float = 5.0) -> bool:
    """Write, retrying connection errors with backoff: Redis being down must not lose events."""
    import redis.exceptions

    backoff_s = 0.2
    while True:
        try:
            return await sink.write(ev)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            logger.warning("emit: Redis unavailable (%s); retrying in %.1f s", exc, backoff_s)
            await asyncio.sleep(backoff_s)
            backoff_s = min(backoff_s * 2, max_backoff_s)


def register_emit(emo: Any) -> None:
    """Register the Redis emit agent."""
    app, topics, settings = emo.app, emo.topics, emo.settings

    @app.agent(topics.events, name=STEP_ID)
    async def emit(stream: Any) -> None:
        sink = RedisEventSink.from_settings(settings)  # credentials and TLS: agents/connections.py
        await sink.start()  # the sink connects when the agent starts, never at import or construction
        try:
            async for event in stream.events():
                try:
                    ev = decode_event(event.value)
                    stamps = {**ev.latency_ns, "redis_write_ns": time.time_ns()}
                    written = await write_with_retry(sink, dataclasses.replace(ev, latency_ns=stamps))
                    if not written:
                        logger.debug("emit: %s already in Redis", ev.event_id)
                except ContractError as exc:
                    await reject(topics, STEP_ID, event, exc)
        finally:
            await sink.close()
