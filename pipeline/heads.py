"""The per-head fold of the classify stage (pure; duck-typed heads, no torch here).

A *head* is a model card plus its module (``models.heads``): it reads the windows of its card's
modalities. Each head of each subject has its own :class:`HeadState`: an assembler over the head's
modalities (a slot per window end, complete when every one of them delivered, or expired by the head's
event-time watermark: the progress of its slowest live modality, :func:`head_watermark_ns`) and the
head's own per-subject state (personal baseline, speaker statistics, ...). So heads are independent: a
head whose stream stops or that raises does not hold or break the others, and each head's outputs depend
only on its own streams, which is what makes every head's live output equal its offline reference.

A head object provides ``spec`` (:class:`pipeline.plan.HeadSpec`), ``new_state()``,
``prepare(state, mm) -> (state, x)`` for one :class:`~pipeline.assembly.MultimodalWindow` in time order,
and ``predict_proba(xs) -> (B, C)`` for a batch of prepared inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pipeline.assembly import AssemblerState, MultimodalWindow, assembler_init, assembler_step
from pipeline.events import HeadReading, ModalityStatus
from pipeline.fusion import HeadOutput, class_coords, head_affect
from pipeline.plan import HeadSpec
from pipeline.records import WindowRecord
from pipeline.stream import Window


@dataclass(frozen=True)
class HeadState:
    """One head's state for one subject."""

    assembler: AssemblerState
    model_state: Any
    last_end_ns: tuple[tuple[str, int], ...] = ()
    first_end_ns: int = 0


@dataclass(frozen=True)
class Pending:
    """A slot of one head whose model input is ready, waiting for the batched model call.

    ``token`` is opaque to this module: the stage puts there what it needs to dead-letter the message
    that released the slot if the head raises.
    """

    head: str
    subject_id: str
    session_id: str
    synthetic: bool
    mm: MultimodalWindow
    x: Any
    ingest_ns: int
    window_close_ns: int
    token: Any = None


@dataclass(frozen=True)
class HeadResult:
    """A head's reading of one slot (what head events and fusion are made of)."""

    head: str
    version: str
    subject_id: str
    session_id: str
    start_ns: int
    end_ns: int
    classes: tuple[str, ...]
    proba: tuple[float, ...]
    quality: float
    arousal: float
    valence: float
    modalities: tuple[tuple[str, ModalityStatus], ...]
    synthetic: bool
    latency_ns: tuple[tuple[str, int], ...]
    #: (arousal, valence) of each class, as the head's card places them
    class_affect: tuple[tuple[float, float], ...] = ()

    def reading(self, weight: float) -> HeadReading:
        """This result as the ``heads`` entry of an event, with its fusion weight."""
        probs = dict(zip(self.classes, self.proba, strict=True))
        return HeadReading(
            model_name=self.head, model_version=self.version, label=max(probs, key=lambda k: probs[k]),
            probabilities=probs, arousal=self.arousal, valence=self.valence, weight=weight, quality=self.quality,
            modalities=tuple(m for m, _ in self.modalities), synthetic=self.synthetic,
        )  # fmt: skip

    def output(self) -> HeadOutput:
        """This result as a :class:`pipeline.fusion.HeadOutput`."""
        affect = dict(zip(self.classes, self.class_affect, strict=True))
        mods = tuple(m for m, _ in self.modalities)
        return HeadOutput(
            self.head, self.version, self.classes, np.asarray(self.proba), self.quality, mods, self.synthetic, affect
        )


def head_watermark_ns(
    last_end_ns: dict[str, int], modalities: tuple[str, ...], first_end_ns: int, stale_ns: int
) -> int:
    """Event-time watermark of one head of one subject: the progress of its slowest live modality.

    A modality's progress is the end of its newest window; one not seen yet sits just before the head's
    first window. A modality further than ``stale_ns`` behind the newest window is taken as stopped (or
    absent on this device) and ignored. Using the slowest live modality (not the fastest) means a burst
    on one topic cannot expire slots that another topic is still filling, and a modality that starts
    late still makes the first slots.
    """
    progress = [last_end_ns.get(m, first_end_ns - 1) for m in modalities]
    newest = max(progress)
    return min(t for t in progress if t >= newest - stale_ns)


def head_step(
    head: Any, state: HeadState | None, rec: WindowRecord, *, grace_s: float, stale_s: float
) -> tuple[HeadState, list[tuple[MultimodalWindow, Any]]]:
    """Fold one window record into one head's state; return its ready slots with their model inputs."""
    spec: HeadSpec = head.spec
    if state is None:
        state = HeadState(assembler_init(spec.modalities, grace_s=grace_s), head.new_state())
    window = rec.window
    if not spec.needs_samples and window.samples.size:
        window = _without_samples(window)
    last_end = dict(state.last_end_ns)
    last_end[window.modality] = max(last_end.get(window.modality, 0), window.end_ns)
    first_end = state.first_end_ns or window.end_ns
    watermark = head_watermark_ns(last_end, spec.modalities, first_end, round(stale_s * 1e9))
    assembler, slots = assembler_step(state.assembler, window, watermark, motion=rec.motion)
    model_state = state.model_state
    ready: list[tuple[MultimodalWindow, Any]] = []
    for mm in slots:
        model_state, x = head.prepare(model_state, mm)
        ready.append((mm, x))
    return HeadState(assembler, model_state, tuple(sorted(last_end.items())), first_end), ready


def _without_samples(w: Window) -> Window:
    return replace(w, samples=np.zeros((w.samples.shape[0], 0)), raw=None)


def head_quality(spec: HeadSpec, mm: MultimodalWindow) -> float:
    """Quality of a head's input in 0..1: the mean over its modalities of quality (0 when missing)."""
    return float(np.mean([mm.quality.get(m, 0.0) if mm.present.get(m, False) else 0.0 for m in spec.modalities]))


def modality_status(spec: HeadSpec, mm: MultimodalWindow, weight: float) -> tuple[tuple[str, ModalityStatus], ...]:
    """Each modality of a head's slot with presence, quality, reasons and its share of ``weight``.

    The head's weight is split over its present modalities in proportion to their quality.
    """
    q = {m: (mm.quality.get(m, 0.0) if mm.present.get(m, False) else 0.0) for m in spec.modalities}
    total = sum(q.values())
    return tuple(
        (
            m,
            ModalityStatus(
                bool(mm.present.get(m, False)),
                float(mm.quality.get(m, 0.0)),
                tuple(mm.quality_reasons.get(m, ("missing",))),
                weight * q[m] / total if total > 0 else 0.0,
            ),
        )
        for m in spec.modalities
    )


def head_results(head: Any, pending: Sequence[Pending], proba: Any, *, inference_done_ns: int) -> list[HeadResult]:
    """Results of one head's batch from its probabilities ``(B, C)``."""
    spec: HeadSpec = head.spec
    rows = np.asarray(proba, dtype=np.float64)
    if rows.shape != (len(pending), len(spec.classes)):
        msg = f"head {spec.name}: probabilities of shape {rows.shape} for {len(pending)} windows"
        raise ValueError(msg)
    coords = tuple((float(a), float(v)) for a, v in class_coords(spec.classes, spec.affect))
    out = []
    for p, row in zip(pending, rows, strict=True):
        row = row / row.sum()
        q = head_quality(spec, p.mm)
        res = HeadResult(
            head=spec.name, version=spec.version, subject_id=p.subject_id, session_id=p.session_id,
            start_ns=p.mm.start_ns, end_ns=p.mm.end_ns, classes=spec.classes,
            proba=tuple(float(v) for v in row), quality=q, arousal=0.0, valence=0.0,
            modalities=modality_status(spec, p.mm, 1.0), synthetic=p.synthetic or spec.synthetic,
            latency_ns=(("ingest_ns", p.ingest_ns), ("window_close_ns", p.window_close_ns),
                        ("inference_done_ns", inference_done_ns)),
            class_affect=coords,
        )  # fmt: skip
        a, v = head_affect(res.output())
        out.append(replace(res, arousal=a, valence=v))
    return out
