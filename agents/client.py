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
from collections.abc import AsyncIterator, Callable, Iterator
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

    def _streams(self, subject: str | None, kind: str) -> list[str]:
        if kind not in ("fused", "head", "all"):
            msg = f"kind must be 'fused', 'head' or 'all', got {kind!r}"
            raise ValueError(msg)
        out = []
        for head in (None,) if kind == "fused" else ("*",) if kind == "head" else (None, "*"):
            k = redis_keys(self.prefix, subject or "", head)
            out.append(k["stream_subject"] if subject else k["stream_all"])
        return out

    def _stream(self, subject: str | None) -> str:
        return self._streams(subject, "fused")[0]

    def subjects(self) -> list[str]:
        """Subjects that have at least one event."""
        return sorted(s.decode() for s in self._redis.smembers(redis_keys(self.prefix, "")["subjects"]))

    def latest(self, subject: str, head: str | None = None) -> EmotionEvent | None:
        """The fused event (or one head's event) of the latest window of a subject, or None."""
        raw = self._redis.hget(redis_keys(self.prefix, subject, head)["latest"], "event")
        return None if raw is None else decode_event(raw)

    def history(
        self,
        subject: str | None = None,
        *,
        since_ms: int | None = None,
        count: int | None = None,
        kind: str = "fused",
    ) -> list[EmotionEvent]:
        """Stored events (oldest first by write time), optionally only those written since ``since_ms``.

        ``kind``: ``"fused"`` (default), ``"head"`` (every head's events) or ``"all"``.
        """
        start = "-" if since_ms is None else f"{since_ms}-0"
        rows = []
        for stream in self._streams(subject, kind):
            rows += self._redis.xrange(stream, min=start, max="+", count=count)
        rows.sort(key=lambda r: tuple(int(p) for p in r[0].decode().split("-")))
        return [decode_event(fields[b"event"]) for _, fields in rows[:count]]

    def follow(
        self,
        subject: str | None = None,
        *,
        since_ms: int | None = None,
        idle_timeout_s: float | None = None,
        stop: Callable[[], bool] | None = None,
        kind: str = "fused",
    ) -> Iterator[EmotionEvent]:
        """History from ``since_ms`` (None: only new events), then live events (``kind`` as in :meth:`history`).

        Ends when idle for ``idle_timeout_s`` or when ``stop()`` returns True (checked every 0.5 s).
        """
        last: dict[str, str] = {}
        for stream in self._streams(subject, kind):
            if since_ms is not None:
                last[stream] = f"{since_ms}-0"
                continue
            tail = self._redis.xrevrange(stream, count=1)
            last[stream] = tail[0][0].decode() if tail else "0-0"
        if since_ms is not None:
            yield from self._backlog(last)
        idle_since = time.monotonic()
        while idle_timeout_s is None or time.monotonic() - idle_since < idle_timeout_s:
            if stop is not None and stop():
                return
            resp = self._redis.xread(dict(last), block=500, count=100)
            for stream, entries in resp or ():
                for entry_id, fields in entries:
                    last[stream.decode()] = entry_id.decode()
                    idle_since = time.monotonic()
                    yield decode_event(fields[b"event"])

    def _backlog(self, last: dict[str, str]) -> Iterator[EmotionEvent]:
        """Stored events after the ids in ``last`` (updated in place), merged by write time."""
        rows = []
        for stream, start in last.items():
            for entry_id, fields in self._redis.xrange(stream, min=start, max="+"):
                rows.append((tuple(int(p) for p in entry_id.decode().split("-")), stream, entry_id.decode(), fields))
        for _, stream, entry_id, fields in sorted(rows):
            last[stream] = entry_id
            yield decode_event(fields[b"event"])

    def close(self) -> None:
        """Close the connection."""
        self._redis.close()


class AsyncEventClient:
    """Asyncio reader of the raw event and preview JSON in Redis (what the dashboard server uses).

    It returns plain dicts, not :class:`EmotionEvent`: the dashboard shows whatever schema version
    the pipeline writes (v1, and the v2 fields when present) without this process having to know it.
    :meth:`live` holds one pub/sub connection for all subjects: the channel of all events and a
    pattern subscription to every subject's preview channel.
    """

    def __init__(self, redis_url: str, *, prefix: str = "emopipe") -> None:
        import redis.asyncio as aioredis

        self.prefix = prefix
        self._redis: Any = aioredis.from_url(redis_url)

    async def ping(self) -> None:
        """Raise if Redis cannot be reached."""
        await self._redis.ping()

    async def subjects(self) -> list[str]:
        """Subjects that have at least one event."""
        return sorted(s.decode() for s in await self._redis.smembers(redis_keys(self.prefix, "")["subjects"]))

    async def has_subject(self, subject: str) -> bool:
        """Whether a subject has at least one event."""
        return bool(await self._redis.sismember(redis_keys(self.prefix, "")["subjects"], subject))

    async def latest_json(self, subject: str) -> dict[str, Any] | None:
        """The latest event of a subject as a dict (None when there is none or it is not JSON)."""
        raw = await self._redis.hget(redis_keys(self.prefix, subject)["latest"], "event")
        return None if raw is None else _json_or_none(raw)

    async def recent_json(self, subject: str, count: int) -> list[dict[str, Any]]:
        """The ``count`` most recent events of a subject, oldest first."""
        rows = await self._redis.xrevrange(redis_keys(self.prefix, subject)["stream_subject"], count=count)
        out = [_json_or_none(fields[b"event"]) for _, fields in reversed(rows)]
        return [d for d in out if d is not None]

    async def previews_json(self, subject: str) -> dict[str, dict[str, Any]]:
        """The latest window preview of each modality of a subject (agents/preview.py)."""
        from agents.preview import preview_keys

        raw = await self._redis.hgetall(preview_keys(self.prefix, subject)["hash"])
        out: dict[str, dict[str, Any]] = {}
        for field_name, value in raw.items():
            name = field_name.decode()
            if name.startswith("end:"):
                continue
            if (d := _json_or_none(value)) is not None:
                out[name] = d
        return out

    async def live(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Live ``("event", dict)`` and ``("preview", dict)`` messages, for all subjects, until cancelled."""
        k = redis_keys(self.prefix, "")
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(k["channel_all"])
        await pubsub.psubscribe(f"{self.prefix}:live:preview:*")
        try:
            while True:
                msg = await pubsub.get_message(timeout=1.0)
                if msg is None or msg.get("type") not in {"message", "pmessage"}:
                    continue
                d = _json_or_none(msg["data"])
                if d is not None:
                    yield ("preview" if msg["type"] == "pmessage" else "event"), d
        finally:
            await pubsub.aclose()

    async def close(self) -> None:
        """Close the connections."""
        await self._redis.aclose()


def _json_or_none(raw: bytes | str) -> dict[str, Any] | None:
    import json

    try:
        d = json.loads(raw)
    except ValueError:
        return None
    return d if isinstance(d, dict) else None
