"""Stage ``classify``: multimodal assembly, personal baseline, batched inference, event out.

Reads ``windows`` (keyed by subject). Per subject, a :class:`SubjectState` (the assembler's
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
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.dlq import reject
from agents.state import BatchStates, StateTable
from agents.topics import declare_outputs
from pipeline.assembly import AssemblerState, MultimodalWindow, assembler_init, assembler_step
from pipeline.events import EmotionEvent, ModalityStatus, encode_event
from pipeline.records import WindowRecord, decode_window_record

logger = logging.getLogger(__name__)

STEP_ID = "classify"
#: how long an incomplete multimodal slot waits for a missing modality, in event time
DEFAULT_GRACE_S = 10.0
#: a modality whose windows lag the subject's newest window by more than this (event time) no longer
#: holds the watermark back: the device stopped sending it, slots go on without it
DEFAULT_STALE_S = 300.0


@dataclass(frozen=True)
class SubjectState:
    """Picklable per-subject state of the classify stage."""

    assembler: AssemblerState
    model_state: Any
    last_end_ns: tuple[tuple[str, int], ...] = ()
    first_end_ns: int = 0
    session_id: str = ""
    synthetic: bool = False
    last_ingest_ns: int = 0


@dataclass(frozen=True)
class Pending:
    """A multimodal window whose model input is ready, waiting for the batched model call."""

    subject_id: str
    session_id: str
    synthetic: bool
    mm: MultimodalWindow
    x: Any
    ingest_ns: int
    window_close_ns: int


def merged_features(mm: MultimodalWindow) -> dict[str, float]:
    """All modality windows' features of one slot in one dict (keys are modality-prefixed)."""
    out: dict[str, float] = {}
    for w in mm.windows.values():
        out.update(w.features)
    return out


def subject_watermark_ns(
    last_end_ns: dict[str, int], modalities: tuple[str, ...], first_end_ns: int, stale_ns: int
) -> int:
    """Event-time watermark of one subject: the progress of its slowest live modality.

    A modality's progress is the end of its newest window; one not seen yet sits just before the
    subject's first window. A modality further than ``stale_ns`` behind the newest window is taken
    as stopped (or absent on this device) and ignored. Using the slowest live modality (not the
    fastest) means a burst on one topic cannot expire slots that another topic is still filling,
    and a modality that starts late still makes the first slots.
    """
    progress = [last_end_ns.get(m, first_end_ns - 1) for m in modalities]
    newest = max(progress)
    return min(t for t in progress if t >= newest - stale_ns)


def subject_step(
    model: Any, state: SubjectState | None, rec: WindowRecord, *, grace_s: float, stale_s: float, now_ns: int
) -> tuple[SubjectState, list[Pending]]:
    """Fold one window record into a subject's state; return the slots ready for inference."""
    if state is None:
        modalities = tuple(model.card["modalities"])
        state = SubjectState(assembler_init(modalities, grace_s=grace_s), model.new_state())
    if rec.window.modality not in state.assembler.modalities:
        return state, []  # a modality this model does not use
    window = rec.window
    if window.modality != "acc":  # only ACC samples are used here (motion check): keep the state small
        window = dataclasses.replace(window, samples=np.zeros((window.samples.shape[0], 0)), raw=None)
    last_end = dict(state.last_end_ns)
    last_end[rec.window.modality] = max(last_end.get(rec.window.modality, 0), rec.window.end_ns)
    first_end = state.first_end_ns or rec.window.end_ns
    watermark = subject_watermark_ns(last_end, state.assembler.modalities, first_end, round(stale_s * 1e9))
    last_ingest = max(state.last_ingest_ns, rec.ingest_ns)
    assembler, slots = assembler_step(state.assembler, window, watermark)
    model_state = state.model_state
    ready: list[Pending] = []
    for mm in slots:
        model_state, x = model.prepare(model_state, merged_features(mm))
        ready.append(Pending(rec.subject_id, rec.session_id, rec.synthetic, mm, x, last_ingest, now_ns))
    new = SubjectState(
        assembler, model_state, tuple(sorted(last_end.items())), first_end, rec.session_id, rec.synthetic, last_ingest
    )
    return new, ready


def make_events(model: Any, pending: Sequence[Pending], proba: Any, *, inference_done_ns: int) -> list[EmotionEvent]:
    """Build the events of a batch from the model's probabilities ``(B, C)``."""
    classes = tuple(model.classes)
    card = model.card
    events = []
    for p, row in zip(pending, np.asarray(proba, dtype=np.float64), strict=True):
        row = row / row.sum()
        mods = {
            m: ModalityStatus(
                bool(present), float(p.mm.quality.get(m, 0.0)), tuple(p.mm.quality_reasons.get(m, ("missing",)))
            )
            for m, present in p.mm.present.items()
        }
        events.append(
            EmotionEvent(
                subject_id=p.subject_id,
                session_id=p.session_id,
                window_start_ns=p.mm.start_ns,
                window_end_ns=p.mm.end_ns,
                label=classes[int(np.argmax(row))],
                probabilities={c: float(v) for c, v in zip(classes, row, strict=True)},
                modalities=mods,
                model_name=str(card["name"]),
                model_version=str(card["version"]),
                latency_ns={
                    "ingest_ns": p.ingest_ns,
                    "window_close_ns": p.window_close_ns,
                    "inference_done_ns": inference_done_ns,
                },
                synthetic=p.synthetic,
            )
        )
    return events


def classify_batch(model: Any, pending: Sequence[Pending]) -> list[EmotionEvent]:
    """One model call for every ready slot of a batch."""
    if not pending:
        return []
    x = np.stack([np.asarray(p.x, dtype=np.float32) for p in pending])
    proba = model.predict_proba(x)
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
                    await reject(topics, STEP_ID, event, exc)
            sent = []
            for ev in classify_batch(model, pending):
                ev = dataclasses.replace(ev, latency_ns={**ev.latency_ns, "published_ns": time.time_ns()})
                sent.append(await topics.events.send(key=ev.subject_id.encode(), value=encode_event(ev)))
            await staged.flush(app.producer, sent)  # states move on only once `sent` is acknowledged
