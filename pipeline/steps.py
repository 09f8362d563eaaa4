"""The per-message steps of the live stages, as pure functions (no Kafka, no clocks, no torch).

- :func:`ingest_step`: one validated sensor chunk through its stream's reorder step and continuity
  check (:mod:`pipeline.reorder`), then each released chunk through :func:`window_step`; the
  completed windows become compact records with :func:`window_records` (stage ``ingest``).
- :func:`subject_step`: one window record into a subject's heads (:mod:`pipeline.heads`), returning the
  head inputs ready for inference; after the batched model calls, :func:`fusion_step` folds the heads'
  results into the subject's fusion slots and :func:`head_event` / :func:`fused_event` build the
  :class:`pipeline.events.EmotionEvent` objects (stage ``classify``).

``agents/`` wires these to Kafka topics and Faust tables; ``agents/offline.py`` runs the same functions
in one process without a broker, which is how streaming is checked against offline.

Fusion of a subject's heads: a fusion slot per window end collects the heads' results. It is complete
when every head seen for this subject delivered, or expires once the newest head result is ``grace``
past it (event time): a head whose stream stopped, or that lags, falls away after the grace instead of
holding the fused event. The fused event's composition equals offline as long as no head lags another by
more than the grace; every head event equals offline whatever the lag.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from pipeline.contract import ContinuityReport, SensorChunk
from pipeline.events import EmotionEvent, ModalityStatus
from pipeline.fusion import FUSION_VERSION, fuse
from pipeline.heads import HeadResult, HeadState, Pending, head_step
from pipeline.markers import ConditionState, Marker, condition_at, condition_init, condition_step
from pipeline.plan import StreamPlan, stream_config_for
from pipeline.quality import motion_penalty
from pipeline.records import WindowRecord
from pipeline.reorder import DEFAULT_MAX_HELD, Refused, ReorderState, reorder_step
from pipeline.stream import StreamState, Window, stream_init, stream_step

#: how long an incomplete head slot waits for a missing modality, in event time
DEFAULT_GRACE_S = 10.0
#: a modality whose windows lag the head's newest window by more than this (event time) no longer
#: holds the head's watermark back: the device stopped sending it, slots go on without it
DEFAULT_STALE_S = 300.0
#: how long a fusion slot waits for a head that has not delivered, in event time
DEFAULT_FUSION_GRACE_S = 10.0


def window_step(
    state: StreamState | None, chunk: SensorChunk, plan: StreamPlan | None = None
) -> tuple[StreamState, list[Window]]:
    """Advance a stream by one chunk (initialising it from the plan on its first chunk); return state and windows."""
    if state is None:
        state = stream_init(stream_config_for(chunk, plan))
    ts = chunk.timestamps_ns if chunk.fs_hz is None else None
    return stream_step(state, chunk.t0_ns, chunk.samples, chunk.seq, timestamps_ns=ts)


@dataclass(frozen=True)
class IngestStreamState:
    """Per-stream state of the ingest stage: reorder buffer and continuity cursor, and the windowing state.

    ``stream`` is None before the stream's first released chunk. (The state table stores ``stream`` as
    a header plus segments written once: :class:`agents.state.IncrementalStateTable`.)
    """

    reorder: ReorderState = field(default_factory=ReorderState)
    stream: StreamState | None = None


@dataclass(frozen=True)
class IngestOutput:
    """What :func:`ingest_step` produced for one message: per released chunk its report and windows."""

    chunks: tuple[tuple[SensorChunk, ContinuityReport, tuple[Window, ...]], ...] = ()
    refused: tuple[Refused, ...] = ()


def ingest_step(
    state: IngestStreamState | StreamState | None,
    chunk: SensorChunk,
    payload: bytes,
    position: int,
    *,
    plan: StreamPlan | None,
    decode: Callable[[bytes], SensorChunk],
    source: str = "",
    max_held: int = DEFAULT_MAX_HELD,
) -> tuple[IngestStreamState, IngestOutput]:
    """One validated chunk of a stream: reorder by ``seq``, check continuity, window what is released.

    Parameters
    ----------
    state : IngestStreamState, StreamState or None
        The stream's state; a bare StreamState (written by the window stage before ingest and window
        were one stage) keeps its windowing state and starts a fresh continuity cursor.
    chunk, payload, position, source, decode, max_held
        As :func:`pipeline.reorder.reorder_step`.
    plan : StreamPlan or None
        The worker's stream plan (window, hop, filters per modality).

    Raises
    ------
    ContinuityError
        As :func:`pipeline.reorder.reorder_step` (for the current chunk).
    """
    if isinstance(state, StreamState):
        state = IngestStreamState(ReorderState(), state)
    st = state or IngestStreamState()
    reorder, released, refused = reorder_step(
        st.reorder, chunk, payload, position, source=source, decode=decode, max_held=max_held
    )
    stream = st.stream
    out = []
    for r in released:
        stream, windows = window_step(stream, r.chunk, plan)
        out.append((r.chunk, r.report, tuple(windows)))
    return IngestStreamState(reorder, stream), IngestOutput(tuple(out), tuple(refused))


def window_records(
    chunk: SensorChunk, windows: Sequence[Window], *, ingest_ns: int, plan: StreamPlan | None = None
) -> list[WindowRecord]:
    """The records the ingest stage sends for a chunk's completed windows.

    ACC windows carry their motion factor; samples travel only for modalities whose heads read them
    (``plan``), rounded to float32 here so that the record and the offline path see the same values.
    """
    mp = plan.for_modality(chunk.modality) if plan is not None else None
    keep = mp is not None and mp.keep_samples
    out = []
    for w in windows:
        motion = None
        if w.modality == "acc" and w.samples.shape[0] == 3:
            q = motion_penalty(w.samples, w.fs_hz)
            motion = (q.score, q.reasons)
        n_ch = w.samples.shape[0]
        samples = w.samples.astype(np.float32).astype(np.float64) if keep else np.zeros((n_ch, 0))
        w = replace(w, samples=samples, raw=None)
        out.append(WindowRecord(chunk.subject_id, chunk.session_id, w, ingest_ns, chunk.synthetic, motion))
    return out


@dataclass(frozen=True)
class FusionState:
    """A subject's fusion slots: ``pending`` maps window end to the heads' results received for it."""

    pending: tuple[tuple[int, tuple[HeadResult, ...]], ...] = ()
    heads_seen: tuple[str, ...] = ()
    emitted_until_ns: int | None = None
    progress_ns: int = 0
    n_late: int = 0


@dataclass(frozen=True)
class SubjectState:
    """Per-subject state of the classify stage: each head's state, the fusion slots, the condition."""

    heads: tuple[tuple[str, HeadState], ...] = ()
    fusion: FusionState = FusionState()
    session_id: str = ""
    synthetic: bool = False
    last_ingest_ns: int = 0
    #: the subject's condition markers (:mod:`pipeline.markers`), None before the first
    condition: ConditionState | None = None
    #: windows of modalities no head reads, waiting for their fused event: (end_ns, modality, status)
    unread: tuple[tuple[int, str, ModalityStatus], ...] = ()

    def head(self, name: str) -> HeadState | None:
        """The state of one head, or None before its first window."""
        return dict(self.heads).get(name)


def subject_state_from_legacy(obj: Any, head: str = "stress_binary") -> SubjectState:
    """A classify state pickled before heads existed (one model: the stress model) as a :class:`SubjectState`.

    Its assembler and personal baseline become the ``head`` head's state, so an upgraded worker keeps every
    subject's baseline; fusion starts empty.
    """
    d = dict(vars(obj))
    if "heads" in d:  # already the current layout
        return SubjectState(**{k: v for k, v in d.items() if k in SubjectState.__dataclass_fields__})
    hs = HeadState(d["assembler"], d["model_state"], tuple(d.get("last_end_ns", ())), int(d.get("first_end_ns", 0)))
    return SubjectState(
        heads=((head, hs),), session_id=d.get("session_id", ""), synthetic=bool(d.get("synthetic", False)),
        last_ingest_ns=int(d.get("last_ingest_ns", 0)),
    )  # fmt: skip


def subject_step(
    heads: Sequence[Any],
    state: SubjectState | None,
    rec: WindowRecord,
    *,
    grace_s: float,
    stale_s: float,
    now_ns: int,
    token: Any = None,
    failures: list[tuple[str, Exception]] | None = None,
) -> tuple[SubjectState, list[Pending]]:
    """Fold one window record into every head that reads its modality; return the slots ready for inference.

    A head that raises on this record keeps its previous state and the error is appended to ``failures``
    (the stage dead-letters the record with the head's name); the other heads go on. Without ``failures``
    the error propagates.
    """
    state = state or SubjectState()
    head_states = dict(state.heads)
    last_ingest = max(state.last_ingest_ns, rec.ingest_ns)
    ready: list[Pending] = []
    unread = state.unread
    if not any(rec.window.modality in h.spec.modalities for h in heads):
        # no head reads this modality: it still reaches the fused event, with weight 0 and the reason
        w = rec.window
        unread = (*unread, (w.end_ns, w.modality, ModalityStatus(True, w.quality, (*w.quality_reasons, "no_head"))))
    for head in heads:
        name = head.spec.name
        if rec.window.modality not in head.spec.modalities:
            continue
        try:
            head_states[name], slots = head_step(head, head_states.get(name), rec, grace_s=grace_s, stale_s=stale_s)
        except Exception as exc:
            if failures is None:
                raise
            failures.append((name, exc))
            continue
        ready += [
            Pending(name, rec.subject_id, rec.session_id, rec.synthetic, mm, x, last_ingest, now_ns, token)
            for mm, x in slots
        ]
    new = replace(
        state,
        heads=tuple(sorted(head_states.items())),
        session_id=rec.session_id,
        synthetic=state.synthetic or rec.synthetic,
        last_ingest_ns=last_ingest,
        unread=unread,
    )
    return new, ready


def fusion_step(
    state: SubjectState, results: Sequence[HeadResult], *, grace_s: float
) -> tuple[SubjectState, list[tuple[HeadResult, ...]], list[HeadResult]]:
    """Fold a subject's new head results (in time order) into its fusion slots.

    Returns the new state, the fusion slots now complete or expired (each the results of one window end,
    in time order), and the results that came too late for their slot (their head events still go out).
    """
    f = state.fusion
    pending = {end: list(rs) for end, rs in f.pending}
    seen = set(f.heads_seen)
    late: list[HeadResult] = []
    progress = f.progress_ns
    for r in results:
        seen.add(r.head)
        progress = max(progress, r.end_ns)
        if f.emitted_until_ns is not None and r.end_ns <= f.emitted_until_ns:
            late.append(r)
            continue
        pending.setdefault(r.end_ns, []).append(r)
    grace_ns = round(grace_s * 1e9)
    complete = [end for end, rs in pending.items() if {r.head for r in rs} >= seen]
    cutoff = max(complete, default=None)
    ready = sorted(end for end in pending if (cutoff is not None and end <= cutoff) or end + grace_ns <= progress)
    slots = [tuple(sorted(pending.pop(end), key=lambda r: r.head)) for end in ready]
    emitted = f.emitted_until_ns
    if ready and (emitted is None or ready[-1] > emitted):
        emitted = ready[-1]
    fusion = FusionState(
        pending=tuple((end, tuple(rs)) for end, rs in sorted(pending.items())),
        heads_seen=tuple(sorted(seen)),
        emitted_until_ns=emitted,
        progress_ns=progress,
        n_late=f.n_late + len(late),
    )
    unread = tuple(u for u in state.unread if emitted is None or u[0] > emitted)
    return replace(state, fusion=fusion, unread=unread), slots, late


def with_marker(state: SubjectState | None, marker: Marker) -> SubjectState:
    """A subject's state with one condition marker folded in (any arrival order)."""
    state = state or SubjectState()
    return replace(state, condition=condition_step(state.condition or condition_init(), marker))


def condition_of(state: SubjectState, t_ns: int) -> str | None:
    """The subject's marked condition at event time ``t_ns`` (a window's end), or None."""
    return None if state.condition is None else condition_at(state.condition, t_ns)


def unread_for(state: SubjectState, end_ns: int) -> dict[str, ModalityStatus]:
    """The statuses of unread modalities' windows ending at ``end_ns`` (see :attr:`SubjectState.unread`)."""
    return {m: st for e, m, st in state.unread if e == end_ns}


def head_event(r: HeadResult, *, condition: str | None = None) -> EmotionEvent:
    """The head event of one head result."""
    reading = r.reading(1.0)
    return EmotionEvent(
        subject_id=r.subject_id, session_id=r.session_id, window_start_ns=r.start_ns, window_end_ns=r.end_ns,
        label=reading.label, probabilities=dict(reading.probabilities), modalities=dict(r.modalities),
        model_name=r.head, model_version=r.version, arousal=r.arousal, valence=r.valence,
        latency_ns=dict(r.latency_ns), synthetic=r.synthetic, kind="head", head=r.head,
        heads={r.head: reading}, condition=condition, confidence=r.quality,
    )  # fmt: skip


def fused_event(
    slot: Sequence[HeadResult],
    *,
    condition: str | None = None,
    unread: dict[str, ModalityStatus] | None = None,
) -> EmotionEvent:
    """The fused event of one fusion slot (the results of every head for one window end).

    ``unread``: windows of modalities no head reads (reported with weight 0, reason ``no_head``).
    """
    f = fuse([r.output() for r in slot])
    mods: dict[str, ModalityStatus] = dict(unread or {})
    for r in slot:
        w = f.weights[r.head]
        for m, st in r.modalities:
            share = st.weight * w
            prev = mods.get(m)
            mods[m] = replace(st, weight=share + (prev.weight if prev else 0.0))
    latency = {k: max(dict(r.latency_ns).get(k, 0) for r in slot) for k in dict(slot[0].latency_ns)}
    return EmotionEvent(
        subject_id=slot[0].subject_id, session_id=slot[0].session_id,
        window_start_ns=min(r.start_ns for r in slot), window_end_ns=slot[0].end_ns,
        label=f.label, probabilities=f.probabilities, modalities=mods, model_name="fusion",
        model_version=FUSION_VERSION, arousal=f.arousal, valence=f.valence, latency_ns=latency,
        synthetic=any(r.synthetic for r in slot), kind="fused",
        heads={r.head: r.reading(f.weights[r.head]) for r in slot}, condition=condition, confidence=f.confidence,
    )  # fmt: skip
