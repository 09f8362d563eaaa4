"""Dead-letter records: the original message (or, past a size limit, its head with hash and length) plus why.

A dead letter must always fit the DLQ topic, whatever arrived (a message may be larger than any DLQ
record once base64-encoded, or arrive compressed and be far larger once decompressed). So the size is
bounded here, before the broker: the payload is kept byte for byte up to :data:`MAX_PAYLOAD_KEPT_BYTES`;
beyond that only its first :data:`MAX_PAYLOAD_KEPT_BYTES` bytes are kept, with the sha256 and the
length of the whole payload and ``truncated=True``. The reason is cut to :data:`MAX_REASON_CHARS`
characters and the key to :data:`MAX_KEY_BYTES` bytes. An encoded letter is at most
:data:`MAX_DEAD_LETTER_BYTES`, below the DLQ topic's ``max.message.bytes``
(:data:`DLQ_MAX_MESSAGE_BYTES`, set in agents/topics.py) and below Kafka's 1 MiB default as well.

:func:`reject` returns the delivery future of the dead letter: a stage puts it with the batch's other
outputs, so the source offset is committed only once the dead letter is acknowledged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Awaitable
from dataclasses import asdict, dataclass, fields
from typing import Any

from agents import metrics
from pipeline.exceptions import PipelineError

logger = logging.getLogger(__name__)

DLQ_SCHEMA_VERSION = 2

#: the DLQ topic's max.message.bytes (agents/topics.py)
DLQ_MAX_MESSAGE_BYTES = 2 * 1024 * 1024
#: bytes of the original payload kept in a dead letter (base64 makes it 4/3 larger)
MAX_PAYLOAD_KEPT_BYTES = 512 * 1024
#: longest reason text and key kept
MAX_REASON_CHARS = 2000
MAX_KEY_BYTES = 256
#: bound on one encoded dead letter (JSON), checked before every send
MAX_DEAD_LETTER_BYTES = 900_000


@dataclass(frozen=True)
class DeadLetter:
    """One rejected message.

    ``payload_b64`` is the original value byte for byte unless ``truncated``; ``payload_sha256`` and
    ``payload_len`` always describe the whole original value. ``kind`` is the reason's short kind
    ("decode", "contract", "continuity", "internal", ...), the label of the dead-letter metric.
    """

    stage: str
    reason: str
    source_topic: str
    partition: int
    offset: int
    key: str | None
    payload_b64: str
    error_type: str = "ContractError"
    schema_version: int = DLQ_SCHEMA_VERSION
    kind: str = "contract"
    payload_sha256: str = ""
    payload_len: int = -1
    truncated: bool = False
    time_ms: int = 0

    def payload(self) -> bytes:
        """The original message value byte for byte (its first bytes when ``truncated``)."""
        return base64.b64decode(self.payload_b64)


def error_kind(exc: BaseException) -> str:
    """Short reason kind of an exception: its ``kind`` for pipeline errors, else "internal"."""
    if isinstance(exc, PipelineError):
        return str(getattr(exc, "kind", "pipeline"))
    return "internal"


def make_dead_letter(
    *,
    stage: str,
    reason: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error_type: str = "ContractError",
    kind: str = "contract",
    time_ms: int | None = None,
) -> DeadLetter:
    """Build a dead letter of bounded size from a rejected Kafka message."""
    value = value or b""
    kept = value[:MAX_PAYLOAD_KEPT_BYTES]
    key_kept = None if key is None else key[:MAX_KEY_BYTES]
    truncated = len(kept) < len(value) or (key is not None and len(key) > MAX_KEY_BYTES)
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 3] + "..."
    return DeadLetter(
        stage=stage,
        reason=reason,
        source_topic=topic[:300],
        partition=partition,
        offset=offset,
        key=None if key_kept is None else key_kept.decode("utf-8", errors="replace"),
        payload_b64=base64.b64encode(kept).decode("ascii"),
        error_type=error_type[:100],
        kind=kind,
        payload_sha256=hashlib.sha256(value).hexdigest(),
        payload_len=len(value),
        truncated=truncated,
        time_ms=time.time_ns() // 1_000_000 if time_ms is None else time_ms,
    )


def encode_dead_letter(letter: DeadLetter) -> bytes:
    """JSON bytes of a dead letter (ASCII, at most :data:`MAX_DEAD_LETTER_BYTES`)."""
    data = json.dumps(asdict(letter), sort_keys=True).encode()
    if len(data) > MAX_DEAD_LETTER_BYTES:  # cannot happen with the limits above; never send an oversized one
        msg = f"dead letter of {len(data)} bytes exceeds the bound {MAX_DEAD_LETTER_BYTES}"
        raise ValueError(msg)
    return data


_FIELDS = frozenset(f.name for f in fields(DeadLetter))


def decode_dead_letter(data: bytes) -> DeadLetter:
    """Inverse of :func:`encode_dead_letter` (also reads schema 1 letters, which lack the newer fields)."""
    body = json.loads(data)
    return DeadLetter(**{k: v for k, v in body.items() if k in _FIELDS})


async def reject(topics: Any, stage: str, event: Any, exc: BaseException) -> Awaitable[Any]:
    """Send a message that a stage could not process to the DLQ, with the reason; returns the delivery future.

    Returns the delivery future: the stage waits for it with the batch's outputs, so the message's offset
    is never committed before its dead letter is acknowledged.

    A :class:`~pipeline.exceptions.PipelineError` is bad data and its text is the reason; anything
    else is a bug, logged with its traceback, and the message is kept all the same. The caller must
    await the returned future before the source offset may be committed (``sent.append(await
    reject(...))`` in a batched stage, whose ``BatchStates.flush`` awaits it).
    """
    msg = event.message
    return await reject_payload(
        topics,
        stage,
        exc,
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=event.key,
        value=event.value,
    )


async def reject_payload(
    topics: Any, stage: str, exc: BaseException, *, topic: str, partition: int, offset: int,
    key: bytes | None, value: bytes | None,
) -> Awaitable[Any]:  # fmt: skip
    """:func:`reject` for a message given by its parts (e.g. a chunk held by the reorder step, refused later)."""
    kind = error_kind(exc)
    if kind != "internal":
        reason, error_type = str(exc), type(exc).__name__
    else:
        logger.exception("%s: unexpected error on %s[%d]@%d", stage, topic, partition, offset)
        reason, error_type = f"internal error: {exc!r}", "internal"
        metrics.stage_error(stage)
    letter = make_dead_letter(
        stage=stage, reason=reason, topic=topic, partition=partition, offset=offset,
        key=key, value=value, error_type=error_type, kind=kind,
    )  # fmt: skip
    logger.warning("%s: dead letter (%s) from %s[%d]@%d: %s", stage, kind, topic, partition, offset,
                   letter.reason[:300])  # fmt: skip
    metrics.dead_letter(stage, kind, topic=topic, partition=partition, offset=offset)
    dkey = None if key is None or len(key) > MAX_KEY_BYTES else key
    headers = {"reason": letter.reason.encode()[:1024], "kind": kind.encode()}
    return await topics.dlq.send(key=dkey, value=encode_dead_letter(letter), headers=headers)
