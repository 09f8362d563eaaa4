"""Stage ``window``: causal filtering, event-time windows, quality and features per stream.

Reads ``valid.<modality>``; each stream (subject, session, device, modality) has a
:class:`pipeline.stream.StreamState` (filter ``zi``, sample buffers, window cursor) kept in a
changelog-backed table, so a restarted or rebalanced worker continues the stream exactly where the
previous owner stopped. Completed windows go to ``windows`` keyed by subject. The step itself is
:func:`pipeline.steps.window_step`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from agents.dlq import reject
from agents.preview import send_preview
from agents.state import BatchStates, StateTable
from agents.topics import declare_outputs
from pipeline.codec import decode_chunk
from pipeline.records import WindowRecord, encode_window_record
from pipeline.steps import window_step

logger = logging.getLogger(__name__)

STEP_ID = "window"
BATCH_MAX = 256
BATCH_WITHIN_S = 0.02


def register_window(emo: Any) -> None:
    """Register the window agent and its stream-state table."""
    app, topics, settings = emo.app, emo.topics, emo.settings
    states = StateTable(app, f"{STEP_ID}-streams", partitions=settings.partitions)

    @app.agent(topics.valid_all, name=STEP_ID)
    async def window(stream: Any) -> None:
        await declare_outputs(topics)
        async for batch in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            staged = BatchStates(states)
            sent = []
            for event in batch:
                try:
                    chunk = decode_chunk(event.value, max_samples=settings.max_chunk_samples)
                    key = chunk.stream_key
                    state, windows = window_step(staged.get(key), chunk)
                    now_ns = time.time_ns()
                    for w in windows:
                        rec = WindowRecord(chunk.subject_id, chunk.session_id, w, now_ns, chunk.synthetic)
                        out = encode_window_record(rec)
                        sent.append(await topics.windows.send(key=chunk.subject_id.encode(), value=out))
                        await send_preview(topics, chunk, w)  # dashboard preview (agents/preview.py), never raises
                    staged.set(key, state, event)
                except Exception as exc:  # keep the worker alive, lose nothing
                    await reject(topics, STEP_ID, event, exc)
            await staged.flush(app.producer, sent)  # states move on only once `sent` is acknowledged
