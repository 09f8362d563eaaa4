"""Stage ``ingest``: decode and validate raw chunks, put each stream in order, window it; bad input to the DLQ.

Reads every ``raw.<modality>`` topic. Each message is decoded and validated once
(:func:`pipeline.codec.decode_chunk`: the sensor-chunk contract), checked against its topic and key,
then goes through its stream's bounded reorder step and continuity check and, once released in
``seq`` order, through causal filtering, event-time windows, quality and features
(:func:`pipeline.steps.ingest_step`). Completed windows go to ``windows`` keyed by subject as compact
records (:func:`pipeline.steps.window_records`), with the dashboard's signal previews. Anything that
breaks the contract or the stream's continuity becomes a dead letter with the reason; the worker keeps
running.

Each stream (subject, session, device, modality) has one state record, an
:class:`pipeline.steps.IngestStreamState` (reorder buffer, continuity cursor, filter ``zi``, window
cursor, sample segments), in a changelog-backed table that writes each chunk's samples once
(:class:`agents.state.IncrementalStateTable`), so a restarted or rebalanced worker continues the
stream exactly where the previous owner stopped. A message re-delivered after a restart or rebalance
is recognised by its stream's positions and skipped; a prefetched one delivered out of order
(faust-streaming #221) waits in the reorder buffer. The loop is :func:`agents.stage.run_stage`.

Until emopipe 0.9 ingest and window were two stages joined by ``valid.<modality>`` topics: that hop
wrote every chunk a second time and decoded it twice. The table keeps the window stage's name
(``window-streams``) so that its stream states are read; the continuity cursors of the old
``ingest-cursors`` table are not (each stream restarts its cursor; the stream state still drops a
``seq`` it already windowed). Drain ``valid.*`` (zero lag) before upgrading a running deployment.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from agents import metrics
from agents.dlq import reject_payload
from agents.preview import preview_outs
from agents.stage import BaseStage, ErrorPolicy, Out, run_stage
from agents.state import BatchStates, IncrementalStateTable, StateTable, store_options
from agents.topics import declare_outputs
from pipeline.codec import decode_chunk
from pipeline.contract import SensorChunk, StreamCursor
from pipeline.exceptions import ContractError
from pipeline.plan import StreamPlan
from pipeline.records import encode_window_record
from pipeline.steps import ingest_step, window_records

logger = logging.getLogger(__name__)

STEP_ID = "ingest"
#: the stream-state table (the name of the former window stage's table, whose states it reads)
TABLE = "window-streams"
#: messages per batch and the longest wait to fill one: one Kafka round trip acknowledges a whole batch
BATCH_MAX = 256
BATCH_WITHIN_S = 0.02


@dataclass(frozen=True)
class IngestState:
    """Cursor record of the former separate ingest stage (table ``ingest-cursors``), kept so its records decode."""

    cursor: StreamCursor | None
    source: tuple[str, int] | None
    last_offset: int


def check_message(chunk: SensorChunk, topic: str, key: bytes | None, *, raw_prefix: str) -> None:
    """Check a decoded chunk against the topic it arrived on and its message key; raise ContractError if wrong."""
    expected_topic = f"{raw_prefix}{chunk.modality}"
    if topic != expected_topic:
        msg = f"chunk of modality {chunk.modality!r} arrived on topic {topic!r} (expected {expected_topic!r})"
        raise ContractError(msg)
    if key is None or key.decode("utf-8", errors="replace") != chunk.subject_id:
        msg = f"message key {key!r} must be the subject id {chunk.subject_id!r} (partitioning by subject)"
        raise ContractError(msg)


class IngestStage(BaseStage):
    """Decode, validate, reorder, check continuity, filter, window, describe."""

    step_id = STEP_ID

    def __init__(self, emo: Any, table: StateTable, plan: StreamPlan) -> None:
        self.topics, self.settings, self.table, self.plan = emo.topics, emo.settings, table, plan
        self.raw_prefix = emo.settings.topic("raw.")
        self._decode = lambda b: decode_chunk(b, max_samples=self.settings.max_chunk_samples)
        self._refused: list[Any] = []

    def states(self) -> BatchStates:
        return BatchStates(self.table)

    async def step(self, staged: BatchStates, event: Any) -> list[Out]:
        msg = event.message
        chunk = self._decode(event.value)
        check_message(chunk, msg.topic, event.key, raw_prefix=self.raw_prefix)
        key = chunk.stream_key
        before = staged.get(key)
        state, out = ingest_step(
            before, chunk, event.value, msg.offset, plan=self.plan, decode=self._decode,
            source=f"{msg.topic}/{msg.partition}", max_held=self.settings.reorder_max_chunks,
        )  # fmt: skip
        staged.set(key, state, event)
        outs: list[Out] = []
        now_ns = time.time_ns()
        n_after_gap = 0
        for c, report, windows in out.chunks:
            if report.has_gap:
                n_after_gap += 1
                logger.info("gap on %s: %d missing seq, %d ns", c.stream_key, report.missing_seq, report.gap_ns)
            recs = window_records(c, windows, ingest_ns=now_ns, plan=self.plan)
            outs += [Out(self.topics.windows, c.subject_id.encode(), encode_window_record(r)) for r in recs]
            outs += preview_outs(self.topics, c, windows)  # the dashboard's signal previews
        for r in out.refused:  # chunks held earlier whose release failed: dead letters of their own
            fut = await reject_payload(
                self.topics, STEP_ID, r.error, topic=msg.topic, partition=msg.partition, offset=r.position,
                key=event.key, value=r.payload,
            )  # fmt: skip
            self._refused.append(fut)
        old = getattr(before, "reorder", None)
        metrics.ingest_chunks(
            chunk.modality,
            accepted=len(out.chunks),
            held=int(any(s == chunk.seq for s, _, _ in state.reorder.held)),
            reordered=state.reorder.n_reordered - (old.n_reordered if old is not None else 0),
            gap=state.reorder.n_gaps - (old.n_gaps if old is not None else 0),
            after_gap=n_after_gap,
        )
        return outs

    async def finish(self, staged: Any, errors: ErrorPolicy) -> tuple[list[Out], list[Any]]:
        refused, self._refused = self._refused, []
        return [], refused


def register_ingest(emo: Any) -> None:
    """Register the ingest agent and its stream-state table on an :class:`~agents.app.EmoApp`."""
    app, topics, settings = emo.app, emo.topics, emo.settings
    # stream states as a header + each chunk's segment written once (changelog bytes grow with the chunk)
    table = IncrementalStateTable(app, TABLE, partitions=settings.partitions, store_options=store_options(settings))
    stage = IngestStage(emo, table, emo.plan)
    errors = ErrorPolicy(topics, settings.error_policy)

    @app.agent(topics.raw_all, name=STEP_ID)
    async def ingest(stream: Any) -> None:
        await declare_outputs(topics)
        await run_stage(
            stage, stream, producer=app.producer, errors=errors, batch_max=BATCH_MAX, within_s=BATCH_WITHIN_S
        )
