"""Stage ``window``: causal filtering, event-time windows, quality and features per stream.

Reads ``valid.<modality>``; each stream (subject, session, device, modality) has a
:class:`pipeline.stream.StreamState` (filter ``zi``, sample buffers, window cursor) kept in a
changelog-backed table, so a restarted or rebalanced worker continues the stream exactly where the
previous owner stopped. Windows and hops come from the worker's stream plan (derived from its heads'
cards, :func:`pipeline.plan.stream_plan`); completed windows go to ``windows`` keyed by subject as
compact records (:func:`pipeline.steps.window_records`). The loop is :func:`agents.stage.run_stage`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from agents.preview import preview_outs
from agents.stage import BaseStage, ErrorPolicy, Out, run_stage
from agents.state import BatchStates, IncrementalStateTable, StateTable
from agents.topics import declare_outputs
from pipeline.codec import decode_chunk
from pipeline.plan import StreamPlan
from pipeline.records import encode_window_record
from pipeline.steps import window_records, window_step

logger = logging.getLogger(__name__)

STEP_ID = "window"
BATCH_MAX = 256
BATCH_WITHIN_S = 0.02


class WindowStage(BaseStage):
    """Filter, window and describe each stream."""

    step_id = STEP_ID

    def __init__(self, emo: Any, states: StateTable, plan: StreamPlan) -> None:
        self.topics, self.settings, self.table, self.plan = emo.topics, emo.settings, states, plan

    def states(self) -> BatchStates:
        return BatchStates(self.table)

    async def step(self, staged: BatchStates, event: Any) -> list[Out]:
        chunk = decode_chunk(event.value, max_samples=self.settings.max_chunk_samples)
        key = chunk.stream_key
        state, windows = window_step(staged.get(key), chunk, self.plan)
        recs = window_records(chunk, windows, ingest_ns=time.time_ns(), plan=self.plan)
        staged.set(key, state, event)
        outs = [Out(self.topics.windows, chunk.subject_id.encode(), encode_window_record(r)) for r in recs]
        return outs + preview_outs(self.topics, chunk, windows)  # the dashboard's signal previews


def register_window(emo: Any) -> None:
    """Register the window agent and its stream-state table."""
    app, topics, settings = emo.app, emo.topics, emo.settings
    # stream states as a header + each chunk's segment written once (changelog bytes grow with the chunk)
    table = IncrementalStateTable(app, f"{STEP_ID}-streams", partitions=settings.partitions)
    stage = WindowStage(emo, table, emo.plan)
    errors = ErrorPolicy(topics, settings.error_policy)

    @app.agent(topics.valid_all, name=STEP_ID)
    async def window(stream: Any) -> None:
        await declare_outputs(topics)
        await run_stage(
            stage, stream, producer=app.producer, errors=errors, batch_max=BATCH_MAX, within_s=BATCH_WITHIN_S
        )
