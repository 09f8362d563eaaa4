"""Multimodal alignment of one subject's windows by event time (a fold).

Every modality's windows start on the same global grid (:mod:`pipeline.windowing`), so windows of
different modalities that describe the same stretch of time share ``end_ns``: a *slot* is keyed by
``end_ns``. A slot is emitted as soon as every expected modality has delivered its window, or when
the event-time watermark passes ``end_ns + grace``; absent modalities are flagged in ``present``.
Because each stream delivers its windows in time order, a complete slot also flushes every older
pending slot (what is missing there will never come). A window for an already emitted slot is late:
it is dropped and counted.

Motion: when an ``acc`` window is in the slot, the other modalities' quality is multiplied by the
motion factor of :func:`pipeline.quality.motion_penalty` (reason ``motion``). The ingest stage computes
that factor from the ACC samples and passes it with the window (``motion=``), so ACC samples need not
travel; an ACC window that still has its (3, n) samples and no given factor gets it computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pipeline.exceptions import SignalError
from pipeline.quality import motion_penalty
from pipeline.stream import Window
from pipeline.windowing import seconds_to_ns


@dataclass(frozen=True)
class MultimodalWindow:
    """One aligned slot.

    ``windows`` holds the windows that arrived; ``present`` has every expected modality;
    ``quality``/``quality_reasons`` are the per-modality values after the motion penalty.
    """

    start_ns: int
    end_ns: int
    windows: dict[str, Window]
    present: dict[str, bool]
    quality: dict[str, float] = field(default_factory=dict)
    quality_reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class AssemblerState:
    """Picklable state; ``pending`` maps ``end_ns`` to the windows received for that slot."""

    modalities: tuple[str, ...]
    grace_ns: int
    pending: tuple[tuple[int, tuple[tuple[str, Window], ...]], ...] = ()
    emitted_until_ns: int | None = None
    n_late: int = 0
    n_duplicates: int = 0
    #: motion factors of pending slots: (end_ns, score, reasons)
    motion: tuple[tuple[int, float, tuple[str, ...]], ...] = ()


def assembler_init(modalities: tuple[str, ...], *, grace_s: float) -> AssemblerState:
    """Assembler expecting ``modalities``; incomplete slots wait ``grace_s`` past their end."""
    if not modalities or len(set(modalities)) != len(modalities) or grace_s < 0:
        msg = f"need distinct modalities and grace_s >= 0, got {modalities}, {grace_s}"
        raise SignalError(msg)
    return AssemblerState(modalities=tuple(modalities), grace_ns=seconds_to_ns(grace_s))


def assembler_step(
    state: AssemblerState,
    window: Window | None,
    watermark_ns: int,
    *,
    motion: tuple[float, tuple[str, ...]] | None = None,
) -> tuple[AssemblerState, list[MultimodalWindow]]:
    """Add ``window`` (or None to only advance the watermark); return the slots now complete or expired.

    ``motion`` is the motion factor ``(score, reasons)`` of an ACC window (see the module docstring).
    """
    pending = {end: dict(ws) for end, ws in state.pending}
    motions = {end: (score, reasons) for end, score, reasons in state.motion}
    if window is not None:
        n_before = (state.n_late, state.n_duplicates)
        state, pending = _add(state, pending, window)
        if motion is not None and window.modality == "acc" and (state.n_late, state.n_duplicates) == n_before:
            motions[window.end_ns] = motion
    complete = [end for end, ws in pending.items() if len(ws) == len(state.modalities)]
    cutoff = max(complete, default=None)
    ready = sorted(
        end for end in pending if (cutoff is not None and end <= cutoff) or end + state.grace_ns <= watermark_ns
    )
    out = [_assemble(state.modalities, pending.pop(end), motions.pop(end, None)) for end in ready]
    emitted = state.emitted_until_ns
    if ready and (emitted is None or ready[-1] > emitted):
        emitted = ready[-1]
    new_pending = tuple((end, tuple(ws.items())) for end, ws in sorted(pending.items()))
    new_motion = tuple((end, score, reasons) for end, (score, reasons) in sorted(motions.items()))
    return replace(state, pending=new_pending, emitted_until_ns=emitted, motion=new_motion), out


def _add(
    state: AssemblerState, pending: dict[int, dict[str, Window]], window: Window
) -> tuple[AssemblerState, dict[int, dict[str, Window]]]:
    if window.modality not in state.modalities:
        msg = f"assembler does not expect modality {window.modality!r} (expects {state.modalities})"
        raise SignalError(msg)
    if state.emitted_until_ns is not None and window.end_ns <= state.emitted_until_ns:
        return replace(state, n_late=state.n_late + 1), pending
    slot = pending.setdefault(window.end_ns, {})
    if window.modality in slot:
        return replace(state, n_duplicates=state.n_duplicates + 1), pending
    slot[window.modality] = window
    return state, pending


def _assemble(
    modalities: tuple[str, ...], windows: dict[str, Window], motion: tuple[float, tuple[str, ...]] | None
) -> MultimodalWindow:
    quality = {m: w.quality for m, w in windows.items()}
    reasons = {m: w.quality_reasons for m, w in windows.items()}
    acc = windows.get("acc")
    if motion is None and acc is not None and acc.samples.shape[0] == 3 and acc.samples.shape[1] > 0:
        q = motion_penalty(acc.samples, acc.fs_hz)
        motion = (q.score, q.reasons)
    if acc is not None and motion is not None and motion[1]:
        for m in windows:
            if m != "acc":
                quality[m] *= motion[0]
                reasons[m] = (*reasons[m], *motion[1])
    return MultimodalWindow(
        start_ns=min(w.start_ns for w in windows.values()),
        end_ns=next(iter(windows.values())).end_ns,
        windows=dict(windows),
        present={m: m in windows for m in modalities},
        quality=quality,
        quality_reasons=reasons,
    )
