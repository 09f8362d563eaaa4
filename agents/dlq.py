"""Dead-letter records: the original message, untouched, plus why it was rejected.

A dead letter loses nothing: the payload is kept byte for byte (base64) with its source
coordinates, so it can be inspected and replayed once the producer is fixed.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

from pipeline.exceptions import PipelineError

logger = logging.getLogger(__name__)

DLQ_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class DeadLetter:
    """One rejected message."""

    stage: str
    reason: str
    source_topic: str
    partition: int
    offset: int
    key: str | None
    payload_b64: str
    error_type: str = "ContractError"
    schema_version: int = DLQ_SCHEMA_VERSION

    def payload(self) -> bytes:
        """The original message value, byte for byte."""
        return base64.b64decode(self.payload_b64)


def make_dead_letter(
    *,
    stage: str,
    reason: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes,
    error_type: str = "ContractError",
) -> DeadLetter:
    """Build a dead letter from a rejected Kafka message."""
    return DeadLetter(
        stage=stage,
        reason=reason,
        source_topic=topic,
        partition=partition,
        offset=offset,
        key=None if key is None else key.decode("utf-8", errors="replace"),
        payload_b64=base64.b64encode(value or b"").decode("ascii"),
        error_type=error_type,
    )


def encode_dead_letter(letter: DeadLetter) -> bytes:
    """JSON bytes of a dead letter."""
    return json.dumps(asdict(letter), sort_keys=True).encode()


def decode_dead_letter(data: bytes) -> DeadLetter:
    """Inverse of :func:`encode_dead_letter`."""
    return DeadLetter(**json.loads(data))


async def reject(topics: Any, stage: str, event: Any, exc: BaseException) -> Any:
    """Send a message that a stage could not process, byte for byte, with the reason to the DLQ.

    Returns the delivery future: the stage waits for it with the batch's outputs, so the message's offset
    is never committed before its dead letter is acknowledged.

    A :class:`~pipeline.exceptions.PipelineError` is bad data and its text is the reason; anything
    else is a bug, logged with its traceback, and the message is kept all the same.
    """
    msg = event.message
    if isinstance(exc, PipelineError):
        reason, error_type = str(exc), type(exc).__name__
    else:
        logger.exception("%s: unexpected error on %s[%d]@%d", stage, msg.topic, msg.partition, msg.offset)
        reason, error_type = f"internal error: {exc!r}", "internal"
    logger.warning("%s: dead letter from %s[%d]@%d: %s", stage, msg.topic, msg.partition, msg.offset, reason)
    letter = make_dead_letter(
        stage=stage, reason=reason, topic=msg.topic, partition=msg.partition, offset=msg.offset,
        key=event.key, value=event.value, error_type=error_type,
    )  # fmt: skip
    return await topics.dlq.send(
        key=event.key, value=encode_dead_letter(letter), headers={"reason": reason.encode()[:1024]}
    )
