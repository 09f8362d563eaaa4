"""Stage ``ingest``: decode and validate raw chunks; valid ones go on, bad ones to the DLQ.

Reads every ``raw.<modality>`` topic, checks the sensor-chunk contract and per-stream continuity
(duplicate ``seq``, time going backwards), and forwards valid chunks re-encoded in binary to
``valid.<modality>``, keyed by subject. Anything else becomes a dead letter with the reason; the
worker keeps running. Continuity cursors live in a Faust table (changelog-backed), so a restarted
or rebalanced worker continues the checks where the previous owner stopped. The loop is
:func:`agents.stage.run_stage`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from agents.stage import BaseStage, ErrorPolicy, Out, run_stage
from agents.state import BatchStates, StateTable
from agents.topics import declare_outputs
from pipeline.codec import decode_chunk, encode_binary
from pipeline.contract import SensorChunk, StreamCursor, continuity_step
from pipeline.exceptions import ContractError

logger = logging.getLogger(__name__)

STEP_ID = "ingest"
#: messages per batch and the longest wait to fill one: one Kafka round trip acknowledges a whole batch
BATCH_MAX = 256
BATCH_WITHIN_S = 0.02


@dataclass(frozen=True)
class IngestState:
    """Per-stream state of the ingest stage: the continuity cursor and the source offset it reflects.

    The offset tells a message re-delivered after a restart (offset <= ``last_offset``: already
    forwarded, skipped silently) from a duplicate sent again by the producer (a new offset with an
    old ``seq``: dead-lettered). A stream's messages all live in one partition of one raw topic.
    """

    cursor: StreamCursor | None
    source: tuple[str, int] | None  # (topic, partition) of the last accepted message
    last_offset: int


def check_message(
    cursor: StreamCursor | None, chunk: SensorChunk, topic: str, key: bytes | None, *, raw_prefix: str
) -> StreamCursor:
    """Check a decoded chunk against its topic, key and its stream's continuity cursor.

    Returns the new cursor; raises ContractError with the reason otherwise.
    """
    expected_topic = f"{raw_prefix}{chunk.modality}"
    if topic != expected_topic:
        msg = f"chunk of modality {chunk.modality!r} arrived on topic {topic!r} (expected {expected_topic!r})"
        raise ContractError(msg)
    if key is None or key.decode("utf-8", errors="replace") != chunk.subject_id:
        msg = f"message key {key!r} must be the subject id {chunk.subject_id!r} (partitioning by subject)"
        raise ContractError(msg)
    new_cursor, report = continuity_step(cursor, chunk)
    if report.has_gap:
        logger.info("gap on %s: %d missing seq, %d ns", chunk.stream_key, report.missing_seq, report.gap_ns)
    return new_cursor


class IngestStage(BaseStage):
    """Decode, validate, check continuity, forward."""

    step_id = STEP_ID

    def __init__(self, emo: Any, cursors: StateTable) -> None:
        self.topics, self.settings, self.cursors = emo.topics, emo.settings, cursors
        self.raw_prefix = emo.settings.topic("raw.")

    def states(self) -> BatchStates:
        return BatchStates(self.cursors)

    async def step(self, staged: BatchStates, event: Any) -> list[Out]:
        msg = event.message
        chunk = decode_chunk(event.value, max_samples=self.settings.max_chunk_samples)
        key = chunk.stream_key
        state = staged.get(key) or IngestState(None, None, -1)
        if state.source == (msg.topic, msg.partition) and msg.offset <= state.last_offset:
            return []  # re-delivered after a restart: already validated and forwarded
        cursor = check_message(state.cursor, chunk, msg.topic, event.key, raw_prefix=self.raw_prefix)
        out = Out(self.topics.valid[chunk.modality], chunk.subject_id.encode(), encode_binary(chunk))
        staged.set(key, IngestState(cursor, (msg.topic, msg.partition), msg.offset), event)
        return [out]


def register_ingest(emo: Any) -> None:
    """Register the ingest agent and its cursor table on an :class:`~agents.app.EmoApp`."""
    app, topics, settings = emo.app, emo.topics, emo.settings
    stage = IngestStage(emo, StateTable(app, f"{STEP_ID}-cursors", partitions=settings.partitions))
    errors = ErrorPolicy(topics, settings.error_policy)

    @app.agent(topics.raw_all, name=STEP_ID)
    async def ingest(stream: Any) -> None:
        await declare_outputs(topics)
        await run_stage(
            stage, stream, producer=app.producer, errors=errors, batch_max=BATCH_MAX, within_s=BATCH_WITHIN_S
        )
