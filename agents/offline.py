"""The live stages without Kafka: the offline reference of the streaming path.

:func:`offline_events` pushes chunks through exactly the functions the agents call
(:func:`pipeline.steps.window_step` and :func:`~pipeline.steps.window_records`,
:func:`pipeline.steps.subject_step`, :func:`agents.classify.run_heads`,
:func:`agents.classify.fuse_subjects`), in one process, with no broker. Integration tests compare the
events a real worker writes with these; scoring a recording (``emopipe score``) uses it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from agents.classify import fuse_subjects, run_heads
from pipeline.contract import SensorChunk
from pipeline.events import EmotionEvent
from pipeline.heads import Pending
from pipeline.plan import StreamPlan
from pipeline.records import WindowRecord
from pipeline.steps import DEFAULT_FUSION_GRACE_S, DEFAULT_GRACE_S, DEFAULT_STALE_S, window_records, window_step


def offline_windows(chunks: Iterable[SensorChunk], plan: StreamPlan | None = None) -> list[WindowRecord]:
    """Window records of a chunk sequence (any interleaving of streams), in production order."""
    states: dict[str, Any] = {}
    out: list[WindowRecord] = []
    for c in chunks:
        states[c.stream_key], windows = window_step(states.get(c.stream_key), c, plan)
        out += window_records(c, windows, ingest_ns=0, plan=plan)
    return out


def offline_events(
    heads: Sequence[Any],
    chunks: Iterable[SensorChunk],
    *,
    plan: StreamPlan | None = None,
    grace_s: float = DEFAULT_GRACE_S,
    stale_s: float = DEFAULT_STALE_S,
    fusion_grace_s: float = DEFAULT_FUSION_GRACE_S,
) -> list[EmotionEvent]:
    """Head and fused events of a chunk sequence computed in-process (latency stamps are meaningless).

    ``heads`` and ``plan`` as :func:`models.heads.load_heads` returns them.
    """
    from pipeline.steps import subject_step

    subjects: dict[str, Any] = {}
    pending: list[Pending] = []
    for rec in offline_windows(chunks, plan):
        subjects[rec.subject_id], ready = subject_step(
            heads, subjects.get(rec.subject_id), rec, grace_s=grace_s, stale_s=stale_s, now_ns=0
        )
        pending += ready
    results, failed = run_heads(heads, pending)
    if failed:
        raise failed[0][1]
    return fuse_subjects(subjects, results, fusion_grace_s=fusion_grace_s)
