"""Redis outputs of emotion events: pub/sub, bounded stream history and latest state per subject.

For each event, atomically (one Lua script) and only once per ``event_id``
(subject, window end, model name and version), the sink:

- appends it to the Redis Streams ``<p>:events`` and ``<p>:events:<subject>`` (bounded, MAXLEN ~),
  for history and late subscribers;
- stores it in the hash ``<p>:latest:<subject>`` unless a later window is already there;
- publishes it on the channels ``<p>:live:all`` and ``<p>:live:<subject>``;
- adds the subject to the set ``<p>:subjects``.

That is for fused events (and schema-1 events). Head events (``kind="head"``) go the same way to
``<p>:heads``, ``<p>:heads:<subject>``, the hash ``<p>:latest:<subject>:<head>`` and the channels
``<p>:live:heads`` and ``<p>:live:heads:<subject>``, so a subscriber picks fused events, a head's, or both.

A replayed or re-processed window therefore writes nothing twice (at-least-once delivery upstream
stays exactly-once in Redis). The connection is opened in :meth:`RedisEventSink.start`, never in
``__init__`` (a Faust start hook calls it).
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline.events import EmotionEvent, encode_event

logger = logging.getLogger(__name__)

_WRITE_LUA = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[1])
local cur = redis.call('HGET', KEYS[4], 'window_end_ns')
if (not cur) or (string.len(cur) < string.len(ARGV[4])) or
   (string.len(cur) == string.len(ARGV[4]) and cur <= ARGV[4]) then
  redis.call('HSET', KEYS[4], 'event', ARGV[1], 'window_end_ns', ARGV[4], 'label', ARGV[7])
end
redis.call('SADD', KEYS[5], ARGV[8])
redis.call('PUBLISH', ARGV[5], ARGV[1])
redis.call('PUBLISH', ARGV[6], ARGV[1])
return 1
"""


def redis_keys(prefix: str, subject_id: str, head: str | None = None) -> dict[str, str]:
    """Names of the Redis keys and channels for one subject's fused events (or one head's events)."""
    if head is not None:
        return {
            "seen_prefix": f"{prefix}:seen:",
            "stream_all": f"{prefix}:heads",
            "stream_subject": f"{prefix}:heads:{subject_id}",
            "latest": f"{prefix}:latest:{subject_id}:{head}",
            "subjects": f"{prefix}:subjects",
            "channel_all": f"{prefix}:live:heads",
            "channel_subject": f"{prefix}:live:heads:{subject_id}",
        }
    return {
        "seen_prefix": f"{prefix}:seen:",
        "stream_all": f"{prefix}:events",
        "stream_subject": f"{prefix}:events:{subject_id}",
        "latest": f"{prefix}:latest:{subject_id}",
        "subjects": f"{prefix}:subjects",
        "channel_all": f"{prefix}:live:all",
        "channel_subject": f"{prefix}:live:{subject_id}",
    }


class RedisEventSink:
    """Idempotent writer of emotion events to Redis (asyncio)."""

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = "emopipe",
        max_stream_len: int = 100_000,
        dedup_ttl_s: int = 7 * 86400,
        connection_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.redis_url = redis_url
        self._connection_kwargs = dict(connection_kwargs or {})  # user, password, TLS CA: never logged
        self.prefix = prefix
        self.max_stream_len = max_stream_len
        self.dedup_ttl_s = dedup_ttl_s
        self._redis: Any = None
        self._script: Any = None

    @classmethod
    def from_settings(cls, settings: Any, **kw: Any) -> RedisEventSink:
        """A sink for ``settings`` (URL, ACL user and password, TLS: :mod:`agents.connections`)."""
        from agents.connections import redis_kwargs, redis_url

        return cls(redis_url(settings), prefix=settings.topic_prefix, connection_kwargs=redis_kwargs(settings), **kw)

    def __repr__(self) -> str:
        return f"RedisEventSink({self.redis_url!r}, prefix={self.prefix!r})"

    async def start(self) -> None:
        """Connect and register the write script."""
        try:
            import redis.asyncio as aioredis
        except ImportError as exc:  # pragma: no cover - redis is a core dependency
            msg = "the Redis sink needs the redis package: pip install 'redis>=5'"
            raise ImportError(msg) from exc
        self._redis = aioredis.from_url(self.redis_url, **self._connection_kwargs)
        await self._redis.ping()
        self._script = self._redis.register_script(_WRITE_LUA)

    async def write(self, ev: EmotionEvent) -> bool:
        """Write one event; False when this event id was written before (nothing changes)."""
        if self._redis is None:
            msg = "RedisEventSink.write() before start()"
            raise RuntimeError(msg)
        k = redis_keys(self.prefix, ev.subject_id, ev.head if ev.kind == "head" else None)
        payload = encode_event(ev)
        keys = [k["seen_prefix"] + ev.event_id, k["stream_all"], k["stream_subject"], k["latest"], k["subjects"]]
        args = [
            payload,
            self.max_stream_len,
            self.dedup_ttl_s,
            str(ev.window_end_ns),
            k["channel_all"],
            k["channel_subject"],
            ev.label,
            ev.subject_id,
        ]
        return bool(await self._script(keys=keys, args=args))

    async def close(self) -> None:
        """Close the connection."""
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
