"""The live stages without Kafka: the offline reference of the streaming path.

:func:`offline_events` pushes chunks through exactly the functions the agents call
(:func:`pipeline.steps.window_step`, :func:`pipeline.steps.subject_step`,
:func:`agents.classify.classify_batch`), in one process, with no broker. Integration tests compare
the events a real worker writes to Redis with these; ``emopipe evaluate`` style offline scoring of a
recording can use it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agents.classify import classify_batch
from pipeline.contract import SensorChunk
from pipeline.events import EmotionEvent
from pipeline.records import WindowRecord
from pipeline.steps import DEFAULT_GRACE_S, DEFAULT_STALE_S, Pending, subject_step, window_step


def offline_windows(chunks: Iterable[SensorChunk]) -> list[WindowRecord]:
    """Window records of a chunk sequence (any interleaving of streams), in production order."""
    states: dict[str, Any] = {}
    out: list[WindowRecord] = []
    for c in chunks:
        states[c.stream_key], windows = window_step(states.get(c.stream_key), c)
        out.extend(WindowRecord(c.subject_id, c.session_id, w, 0, c.synthetic) for w in windows)
    return out


def offline_events(
    model: Any,
    chunks: Iterable[SensorChunk],
    *,
    grace_s: float = DEFAULT_GRACE_S,
    stale_s: float = DEFAULT_STALE_S,
) -> list[EmotionEvent]:
    """Emotion events of a chunk sequence computed in-process (latency stamps are meaningless)."""
    subjects: dict[str, Any] = {}
    pending: list[Pending] = []
    for rec in offline_windows(chunks):
        subjects[rec.subject_id], ready = subject_step(
            model, subjects.get(rec.subject_id), rec, grace_s=grace_s, stale_s=stale_s, now_ns=0
        )
        pending.extend(ready)
    return classify_batch(model, pending)
