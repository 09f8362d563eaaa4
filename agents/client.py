"""Consumer-side client: read emotion events from Redis, from history and live.

Example
-------
>>> from agents.client import EventClient            # doctest: +SKIP
>>> client = EventClient("redis://127.0.0.1:6379/0")  # doctest: +SKIP
>>> for ev in client.follow(subject="S02"):          # doctest: +SKIP
...     print(ev.window_end_ns, ev.label, ev.probabilities)

``follow`` reads the bounded Redis Stream, first the history (from ``since_ms``) and then new
events as they arrive (XREAD BLOCK), so there is no gap between history and live. Pub/sub channels
``<prefix>:live:all`` and ``<prefix>:live:<subject>`` carry the same JSON for fire-and-forget
listeners.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from agents.redis_sink import redis_keys
from pipeline.events import EmotionEvent, decode_event


class EventClient:
    """Synchronous reader of emopipe events in Redis."""

    def __init__(
        self, redis_url: str, *, prefix: str = "emopipe", connection_kwargs: dict[str, Any] | None = None
    ) -> None:
        import redis

        self.prefix = prefix
        self._redis: Any = redis.Redis.from_url(redis_url, **(connection_kwargs or {}))

    @classmethod
    def from_settings(cls, settings: Any) -> EventClient:
        """A client for ``settings`` (URL, ACL user and password, TLS: :mod:`agents.connections`)."""
        from agents.connections import redis_kwargs, redis_url

        return cls(redis_url(settings), prefix=settings.topic_prefix, connection_kwargs=redis_kwargs(settings))

    def _stream(self, subject: str | None) -> str:
        k = redis_keys(self.prefix, subject or "")
        return k["stream_subject"] if subject else k["stream_all"]

    def subjects(self) -> list[str]:
        """Subjects that have at least one event."""
        return sorted(s.decode() for s in self._redis.smembers(redis_keys(self.prefix, "")["subjects"]))

    def latest(self, subject: str) -> EmotionEvent | None:
        """The event of the latest window of a subject, or None."""
        raw = self._redis.hget(redis_keys(self.prefix, subject)["latest"], "event")
        return None if raw is None else decode_event(raw)

    def history(
        self, subject: str | None = None, *, since_ms: int | None = None, count: int | None = None
    ) -> list[EmotionEvent]:
        """Stored events (oldest first), optionally only those written since ``since_ms`` (epoch ms)."""
        start = "-" if since_ms is None else f"{since_ms}-0"
        rows = self._redis.xrange(self._stream(subject), min=start, max="+", count=count)
        return [decode_event(fields[b"event"]) for _, fields in rows]

    def follow(
        self,
        subject: str | None = None,
        *,
        since_ms: int | None = None,
        idle_timeout_s: float | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[EmotionEvent]:
        """History from ``since_ms`` (None: only new events), then live events.

        Ends when idle for ``idle_timeout_s`` or when ``stop()`` returns True (checked every 0.5 s).
        """
        stream = self._stream(subject)
        last_id = "$" if since_ms is None else f"{since_ms}-0"
        if last_id != "$":
            for entry_id, fields in self._redis.xrange(stream, min=last_id, max="+"):
                last_id = entry_id.decode()
                yield decode_event(fields[b"event"])
        elif tail := self._redis.xrevrange(stream, count=1):
            last_id = tail[0][0].decode()
        else:
            last_id = "0-0"
        idle_since = time.monotonic()
        while idle_timeout_s is None or time.monotonic() - idle_since < idle_timeout_s:
            if stop is not None and stop():
                return
            resp = self._redis.xread({stream: last_id}, block=500, count=100)
            for _, entries in resp or ():
                for entry_id, fields in entries:
                    last_id = entry_id.decode()
                    idle_since = time.monotonic()
                    yield decode_event(fields[b"event"])

    def close(self) -> None:
        """Close the connection."""
        self._redis.close()
