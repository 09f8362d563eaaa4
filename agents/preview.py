"""Stage ``preview``: window previews for the dashboard, from the ``previews`` topic to Redis.

The ingest stage sends one compact preview (``pipeline/preview.py``, a few hundred bytes) per
completed window and modality to ``<prefix>.previews`` (keyed by subject, 1 h retention) with
:func:`preview_outs` (records of the ingest stage's batch). This stage keeps only the newest
preview per subject and modality in Redis:

- hash ``<p>:preview:<subject>``, field ``<modality>`` -> the preview JSON (and ``end:<modality>`` ->
  its window end in ns, so an older preview delivered late never replaces a newer one); the hash
  expires a day after its last write;
- channel ``<p>:live:preview:<subject>`` carries each stored preview (the dashboard server holds one
  pattern subscription for all subjects).

Previews are a view, not a record: a lost one is replaced by the next window's, so a preview that
cannot be built or written is logged and dropped, never dead-lettered and never blocking the
pipeline.
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline.preview import decode_preview, encode_preview, window_preview

logger = logging.getLogger(__name__)

STEP_ID = "preview"
#: a subject's preview hash expires this long after its last write
PREVIEW_TTL_S = 24 * 3600

_WRITE_LUA = """
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if cur and (string.len(cur) > string.len(ARGV[3]) or
            (string.len(cur) == string.len(ARGV[3]) and cur > ARGV[3])) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[4])
return 1
"""


def preview_keys(prefix: str, subject_id: str) -> dict[str, str]:
    """Redis hash and channel of one subject's previews."""
    return {"hash": f"{prefix}:preview:{subject_id}", "channel": f"{prefix}:live:preview:{subject_id}"}


def preview_outs(topics: Any, chunk: Any, windows: Any) -> list[Any]:
    """The records that send the previews of a chunk's completed windows (a preview that cannot be built
    is logged and dropped: previews never fail the ingest stage)."""
    from agents.stage import Out

    outs = []
    for window in windows:
        try:
            pv = window_preview(window, subject_id=chunk.subject_id, session_id=chunk.session_id)
            outs.append(Out(topics.previews, chunk.subject_id.encode(), encode_preview(pv)))
        except Exception as exc:
            logger.warning("preview of %s %s dropped: %s", chunk.subject_id, getattr(window, "modality", "?"), exc)
    return outs


def register_preview(emo: Any) -> None:
    """Register the preview agent (previews topic -> Redis)."""
    app, topics, settings = emo.app, emo.topics, emo.settings

    @app.agent(topics.previews, name=STEP_ID)
    async def preview(stream: Any) -> None:
        import redis.asyncio as aioredis
        import redis.exceptions

        from agents import metrics
        from agents.connections import redis_kwargs, redis_url

        r: Any = aioredis.from_url(redis_url(settings), **redis_kwargs(settings))
        script = r.register_script(_WRITE_LUA)
        try:
            async for value in stream:
                try:
                    pv = decode_preview(value)
                    k = preview_keys(settings.topic_prefix, pv.subject_id)
                    args = [pv.modality, f"end:{pv.modality}", str(pv.end_ns), value, PREVIEW_TTL_S, k["channel"]]
                    written = await script(keys=[k["hash"]], args=args)
                    metrics.stage_batch(STEP_ID, 1, int(bool(written)))
                except ValueError as exc:  # not a preview (ContractError): dropped, a view is not a record
                    metrics.stage_batch(STEP_ID, 1, 0)
                    logger.warning("preview dropped: %s", exc)
                except redis.exceptions.RedisError as exc:  # the next window's preview replaces it
                    metrics.stage_batch(STEP_ID, 1, 0)
                    metrics.sink_failed("redis-preview", retrying=False)
                    logger.warning("preview not written to Redis: %s", exc)
        finally:
            await r.aclose()
