"""Stage ``classify``: every head of every subject, batched inference per head, fusion, events out.

Faust wiring of :func:`pipeline.steps.subject_step` (each head's assembly and input), the batched model
call of each head (:func:`run_heads`), :func:`pipeline.steps.fusion_step` and the event builders. Reads
``windows`` (keyed by subject). Per subject, a :class:`pipeline.steps.SubjectState` (each head's
pending slots and personal state, the fusion slots) lives in a changelog-backed table. All slots a batch
completes go through their head's model in one call. A head that raises sends the messages of its slots
to the DLQ and the other heads go on. Events (one per head that read a window, and one fused per window)
go to the ``events`` topic keyed by subject; the emit stage mirrors them into Redis.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from typing import Any

from agents import metrics
from agents.exceptions import HeadError
from agents.stage import BaseStage, ErrorPolicy, Out, run_stage
from agents.state import BatchStates, StateTable, store_options
from agents.topics import declare_outputs
from pipeline.events import EmotionEvent, encode_event
from pipeline.heads import HeadResult, Pending, head_results
from pipeline.markers import decode_marker
from pipeline.records import decode_window_record
from pipeline.steps import (
    SubjectState,
    condition_of,
    fused_event,
    fusion_step,
    head_event,
    subject_step,
    unread_for,
    with_marker,
)

logger = logging.getLogger(__name__)

STEP_ID = "classify"


def run_heads(
    heads: Sequence[Any], pending: Sequence[Pending]
) -> tuple[list[HeadResult], list[tuple[Pending, BaseException]]]:
    """One model call per head for all of its ready slots; a head that raises fails only its own slots."""
    results: list[HeadResult] = []
    failed: list[tuple[Pending, BaseException]] = []
    for head in heads:
        mine = [p for p in pending if p.head == head.spec.name]
        if not mine:
            continue
        try:
            proba = metrics.timed_predict(head, [p.x for p in mine])
            results += head_results(head, mine, proba, inference_done_ns=time.time_ns())
        except Exception as exc:
            failed += [(p, exc) for p in mine]
    return results, failed


def fuse_subjects(
    states: dict[str, SubjectState], results: Sequence[HeadResult], *, fusion_grace_s: float
) -> list[EmotionEvent]:
    """Head events and fused events of a batch's results, in time order per subject; updates ``states``."""
    events: list[EmotionEvent] = []
    by_subject: dict[str, list[HeadResult]] = {}
    for r in sorted(results, key=lambda r: (r.end_ns, r.head)):
        by_subject.setdefault(r.subject_id, []).append(r)
    for subject, rs in by_subject.items():
        before = states[subject]
        state, slots, _late = fusion_step(before, rs, grace_s=fusion_grace_s)
        states[subject] = state
        events += [head_event(r, condition=condition_of(state, r.end_ns)) for r in rs]
        events += [
            fused_event(slot, condition=condition_of(state, slot[0].end_ns), unread=unread_for(before, slot[0].end_ns))
            for slot in slots
        ]
    return events


class ClassifyStage(BaseStage):
    """Heads, fusion, events."""

    step_id = STEP_ID

    def __init__(self, emo: Any, table: StateTable, heads: Sequence[Any]) -> None:
        self.topics, self.settings, self.table, self.heads = emo.topics, emo.settings, table, list(heads)
        self.markers_topic = emo.settings.topic("markers")
        self._pending: list[Pending] = []

    def states(self) -> BatchStates:
        self._pending = []
        self._failed: list[tuple[Any, str]] = []
        return BatchStates(self.table)

    async def step(self, staged: BatchStates, event: Any) -> list[Out]:
        if event.message.topic == self.markers_topic:
            m = decode_marker(event.value)
            staged.set(m.subject_id, with_marker(staged.get(m.subject_id), m), event)
            return []
        rec = decode_window_record(event.value)
        s = self.settings
        failures: list[tuple[str, Exception]] = []
        state, ready = subject_step(
            self.heads, staged.get(rec.subject_id), rec, grace_s=s.grace_s, stale_s=s.stale_s,
            now_ns=time.time_ns(), token=event, failures=failures,
        )  # fmt: skip
        staged.set(rec.subject_id, state, event)
        self._pending += ready
        if failures:  # the other heads took the window; the record goes to the DLQ for the failed head(s)
            self._failed.append((event, "; ".join(f"head {h} failed: {e!r}" for h, e in failures)))
        return []

    async def finish(self, staged: BatchStates, errors: ErrorPolicy) -> tuple[list[Out], list[Any]]:
        results, failed = run_heads(self.heads, self._pending)
        reasons: dict[int, tuple[Any, list[str]]] = {id(e): (e, [r]) for e, r in self._failed}
        for p, exc in failed:
            reasons.setdefault(id(p.token), (p.token, []))[1].append(f"head {p.head} failed: {exc!r}")
        dead = [await errors(STEP_ID, e, HeadError("; ".join(dict.fromkeys(rs)))) for e, rs in reasons.values()]
        subjects = {r.subject_id for r in results}
        states = {sid: staged.get(sid) for sid in subjects}
        events = fuse_subjects(states, results, fusion_grace_s=self.settings.fusion_grace_s)
        for sid, st in states.items():  # the fusion slots are part of the subject's state
            staged.set(sid, st, staged.event_of(sid))
        outs = []
        for ev in events:
            ev = dataclasses.replace(ev, latency_ns={**ev.latency_ns, "published_ns": time.time_ns()})
            outs.append(Out(self.topics.events, ev.subject_id.encode(), encode_event(ev)))
        return outs, dead


def register_classify(emo: Any, *, batch_max: int = 64, batch_within_s: float = 0.05) -> None:
    """Register the classify agent with the worker's heads (``emo.heads``)."""
    app, topics, settings = emo.app, emo.topics, emo.settings
    opts = store_options(settings)
    table = StateTable(app, f"{STEP_ID}-subjects", partitions=settings.partitions, store_options=opts)
    stage = ClassifyStage(emo, table, emo.heads)
    errors = ErrorPolicy(topics, settings.error_policy)

    @app.agent(topics.classify_in, name=STEP_ID)
    async def classify(stream: Any) -> None:
        await declare_outputs(topics)
        await run_stage(
            stage, stream, producer=app.producer, errors=errors, batch_max=batch_max, within_s=batch_within_s
        )
