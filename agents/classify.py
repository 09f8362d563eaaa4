"""Stage ``classify``: multimodal assembly, personal baseline, batched inference, event out.

Faust wiring of :func:`pipeline.steps.subject_step` and :func:`pipeline.steps.make_events`.
Reads ``windows`` (keyed by subject). Per subject, a :class:`pipeline.steps.SubjectState` (the assembler's
pending slots, the model's running personal baseline, the event-time watermark) lives in a
changelog-backed table. Messages are taken in batches (``take_events``) so that all windows
completed in a batch go through the model in one call; each subject's state is written in the
context of one of that subject's own messages, so it lands in the subject's partition. Events go to the ``events`` topic
keyed by subject; the emit stage mirrors them into Redis.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from agents import metrics  # rely hook
from agents.dlq import reject
from agents.state import BatchStates, StateTable
from agents.topics import declare_outputs
from pipeline.events import EmotionEvent, encode_event
from pipeline.records import decode_window_record

# SubjectState is imported here too so that states pickled before it moved to pipeline.steps still load
from pipeline.steps import DEFAULT_GRACE_S, DEFAULT_STALE_S, Pending, SubjectState, make_events, subject_step  # noqa: F401

logger = logging.getLogger(__name__)

STEP_ID = "classify"


def classify_batch(model: Any, pending: Sequence[Pending]) -> list[EmotionEvent]:
    """One model call for every ready slot of a batch."""
    if not pending:
        return []
    x = np.stack([np.asarray(p.x, dtype=np.float32) for p in pending])
    proba = metrics.timed_predict(model, x)  # rely hook (was model.predict_proba(x))
    return make_events(model, pending, proba, inference_done_ns=time.time_ns())


def register_classify(emo: Any, *, batch_max: int = 64, batch_within_s: float = 0.05) -> None:
    """Register the classify agent (loads the model of ``settings.model_task`` from ``settings.model_dir``)."""
    from models.registry import load_default

    app, topics, settings = emo.app, emo.topics, emo.settings
    model = load_default(settings.model_task, settings.model_dir)
    states = StateTable(app, f"{STEP_ID}-subjects", partitions=settings.partitions)

    @app.agent(topics.windows, name=STEP_ID)
    async def classify(stream: Any) -> None:
        await declare_outputs(topics)
        async for batch in stream.take_events(batch_max, within=batch_within_s):
            staged = BatchStates(states)
            pending: list[Pending] = []
            sent = []  # rely hook: moved up from below, dead letters join the batch's outputs
            for event in batch:
                try:
                    rec = decode_window_record(event.value)
                    state, ready = subject_step(
                        model,
                        staged.get(rec.subject_id),
                        rec,
                        grace_s=DEFAULT_GRACE_S,
                        stale_s=DEFAULT_STALE_S,
                        now_ns=time.time_ns(),
                    )
                    staged.set(rec.subject_id, state, event)
                    pending.extend(ready)
                except Exception as exc:  # keep the worker alive, lose nothing
                    sent.append(await reject(topics, STEP_ID, event, exc))  # rely hook: DLQ acked before commit
            for ev in classify_batch(model, pending):
                ev = dataclasses.replace(ev, latency_ns={**ev.latency_ns, "published_ns": time.time_ns()})
                sent.append(await topics.events.send(key=ev.subject_id.encode(), value=encode_event(ev)))
                metrics.observe_event(ev, until="published")  # rely hook
            await staged.flush(app.producer, sent)  # states move on only once `sent` is acknowledged
            metrics.stage_batch(STEP_ID, len(batch), len(sent))  # rely hook
