"""The per-message steps of the live stages, as pure functions (no Kafka, no clocks, no torch).

- :func:`window_step`: one sensor chunk into a stream's state and its completed windows (stage ``window``).
- :func:`subject_step`: one window record into a subject's multimodal slots, personal baseline and the
  model inputs ready for inference (stage ``classify``); :func:`make_events` turns the model's
  probabilities for those inputs into :class:`pipeline.events.EmotionEvent` objects.

``agents/`` wires these to Kafka topics and Faust tables; ``agents/offline.py`` runs the same functions
in one process without a broker, which is how streaming is checked against offline. The ``model``
arguments are duck-typed (``card``, ``classes``, ``new_state()``, ``prepare()``; see
``models.registry.LoadedModel``), so this module never imports torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.assembly import AssemblerState, MultimodalWindow, assembler_init, assembler_step
from pipeline.contract import SensorChunk
from pipeline.events import EmotionEvent, ModalityStatus
from pipeline.exceptions import SignalError
from pipeline.records import WindowRecord
from pipeline.stream import StreamConfig, StreamState, default_config, stream_init, stream_step

#: nominal rate (Hz) onto which irregular feature streams (per-frame timestamps, no fs_hz) are put
IRREGULAR_RATE_HZ = {"video_features": 30.0, "audio_features": 100.0}


def stream_config_for(chunk: SensorChunk) -> StreamConfig:
    """Default stream configuration for the stream a chunk belongs to (rate, units, channel names).

    Irregular streams (``fs_hz`` None, per-frame ``timestamps_ns``) are sampled onto a nominal
    clock of :data:`IRREGULAR_RATE_HZ` (each sample holds the latest frame; see pipeline.stream).
    """
    fs_hz = chunk.fs_hz if chunk.fs_hz is not None else IRREGULAR_RATE_HZ.get(chunk.modality)
    if fs_hz is None:
        msg = f"stream {chunk.stream_key}: irregular {chunk.modality} stream has no nominal rate to window it on"
        raise SignalError(msg)
    units = chunk.units[0] if chunk.units else None
    return default_config(chunk.modality, fs_hz, units=units, channels=tuple(chunk.channels))


def window_step(state: StreamState | None, chunk: SensorChunk) -> tuple[StreamState, list[Any]]:
    """Advance a stream by one chunk (initialising it on its first chunk); return state and windows."""
    if state is None:
        state = stream_init(stream_config_for(chunk))
    ts = chunk.timestamps_ns if chunk.fs_hz is None else None
    return stream_step(state, chunk.t0_ns, chunk.samples, chunk.seq, timestamps_ns=ts)


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
