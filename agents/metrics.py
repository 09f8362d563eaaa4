"""Prometheus metrics of a worker process, and the helpers the stages call to update them.

One :class:`Metrics` per process (:func:`get_metrics`), in its own registry (with the process and
platform collectors: resident memory, CPU, open files), exposed at ``/metrics`` by
:mod:`agents.endpoints`. Labels are low cardinality: stage, reason kind, topic and partition, head,
modality, sink, table; never subject ids.

=========================================  =========  ===========================================
name                                       type       labels
=========================================  =========  ===========================================
``emopipe_stage_messages_total``           counter    stage
``emopipe_stage_outputs_total``            counter    stage
``emopipe_stage_errors_total``             counter    stage (unexpected errors: bugs, not bad data)
``emopipe_dead_letters_total``             counter    stage, reason (kind: decode, contract, ...)
``emopipe_consumer_lag_messages``          gauge      topic, partition
``emopipe_latency_seconds``                histogram  head, modality, until ("published", "redis")
``emopipe_head_inference_seconds``         histogram  head
``emopipe_sink_failures_total``            counter    sink
``emopipe_sink_retries_total``             counter    sink
``emopipe_state_bytes_written_total``      counter    table
``emopipe_ingest_chunks_total``            counter    modality, outcome (accepted | held | reordered | gap | after_gap)
``emopipe_state_store_memory_bytes``       gauge      part (cache: the shared RocksDB cache, memtables included;
                                                      memtables; budget)
``emopipe_python_allocated_blocks``        gauge      (none: objects allocated by the interpreter, for leak hunts)
=========================================  =========  ===========================================

The module also keeps the process's recent dead letters for ``/status`` (:func:`recent_dead_letters`).
"""

from __future__ import annotations

import collections
import functools
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

#: latency buckets, s: 1 ms .. 2 min (window close -> published covers the multimodal grace wait)
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)
INFERENCE_BUCKETS_S = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)
#: how many recent dead letters /status shows
RECENT_DEAD_LETTERS = 10


@dataclass(frozen=True)
class Metrics:
    """The metric objects of one process."""

    registry: CollectorRegistry
    messages: Counter
    outputs: Counter
    errors: Counter
    dead_letters: Counter
    lag: Gauge
    latency: Histogram
    inference: Histogram
    sink_failures: Counter
    sink_retries: Counter
    state_bytes: Counter
    ingest_chunks: Counter
    store_memory: Gauge


def build_metrics(registry: CollectorRegistry | None = None, *, process: bool = True) -> Metrics:
    """Create (and register) every emopipe metric in ``registry`` (a new one by default)."""
    disable_created_metrics()  # no *_created series: they double the exposition for nothing we use
    reg = registry or CollectorRegistry(auto_describe=True)
    if process:
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)
    _python_blocks(reg)
    return Metrics(
        registry=reg,
        messages=Counter("emopipe_stage_messages", "Messages taken by a stage", ["stage"], registry=reg),
        outputs=Counter("emopipe_stage_outputs", "Records a stage sent downstream", ["stage"], registry=reg),
        errors=Counter("emopipe_stage_errors", "Unexpected errors (bugs) in a stage", ["stage"], registry=reg),
        dead_letters=Counter(
            "emopipe_dead_letters",
            "Messages sent to the DLQ, by stage and reason kind",
            ["stage", "reason"],
            registry=reg,
        ),
        lag=Gauge(
            "emopipe_consumer_lag_messages",
            "Highwater minus committed offset of an assigned partition",
            ["topic", "partition"],
            registry=reg,
        ),
        latency=Histogram(
            "emopipe_latency_seconds",
            "Window close -> event published (events topic) or written to Redis",
            ["head", "modality", "until"],
            buckets=LATENCY_BUCKETS_S,
            registry=reg,
        ),
        inference=Histogram(
            "emopipe_head_inference_seconds",
            "Model call time per batch, by head",
            ["head"],
            buckets=INFERENCE_BUCKETS_S,
            registry=reg,
        ),
        sink_failures=Counter("emopipe_sink_failures", "Failed sink writes", ["sink"], registry=reg),
        sink_retries=Counter("emopipe_sink_retries", "Sink writes retried", ["sink"], registry=reg),
        state_bytes=Counter(
            "emopipe_state_bytes_written", "Bytes of state written to a table (changelog)", ["table"], registry=reg
        ),
        ingest_chunks=Counter(
            "emopipe_ingest_chunks",
            "Chunks of the ingest stage: accepted (released in seq order into windowing), held (waiting for a "
            "missing seq), reordered (accepted after waiting), gap (missing seq given up on at the reorder bound), "
            "after_gap (accepted after lost chunks or a time gap: a device that disconnected, a clock jump)",
            ["modality", "outcome"],
            registry=reg,
        ),
        store_memory=Gauge(
            "emopipe_state_store_memory_bytes",
            "RocksDB memory of this worker's tables: the shared cache (memtables charged to it), the memtables, "
            "and the budget (EMOPIPE_STATE_MEMORY_MB)",
            ["part"],
            registry=reg,
        ),
    )


def _python_blocks(reg: CollectorRegistry) -> None:
    """Register ``emopipe_python_allocated_blocks`` (``sys.getallocatedblocks()`` at scrape time) in ``reg``."""
    Gauge(
        "emopipe_python_allocated_blocks", "Memory blocks allocated by the Python interpreter", registry=reg
    ).set_function(sys.getallocatedblocks)


@functools.cache
def get_metrics() -> Metrics:
    """The process's metrics (built, and registered, once per process)."""
    return build_metrics()


def render() -> bytes:
    """Prometheus text exposition of the process's metrics."""
    return generate_latest(get_metrics().registry)


# --- hooks called by the stages (one line each) --------------------------------------------------


def stage_batch(stage: str, taken: int, sent: int) -> None:
    """A stage took ``taken`` messages and sent ``sent`` records (its dead letters included).

    The dead letters of the batch (counted by :func:`dead_letter` since the stage's previous call) are
    subtracted, so ``emopipe_stage_outputs_total`` counts records sent downstream only.
    """
    m = get_metrics()
    with _recent_lock:
        dead = _dead_since_batch.pop(stage, 0)
    m.messages.labels(stage).inc(taken)
    m.outputs.labels(stage).inc(max(sent - dead, 0))


def event_emitted(stage: str, ev: Any, stamps: dict[str, int], written: bool) -> None:
    """The emit stage handled one event: count it and observe its latency to Redis (the classify stage
    observes the latency to publication, so each event is counted once per ``until``)."""
    stage_batch(stage, 1, int(written))
    if written:
        observe_event(_Stamped(ev, stamps), until="redis")


@dataclass(frozen=True)
class _Stamped:
    """An event seen with other latency stamps (no copy of the event)."""

    ev: Any
    latency_ns: dict[str, int]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ev, name)


def stage_error(stage: str) -> None:
    """An unexpected error (a bug, not bad data) in a stage."""
    get_metrics().errors.labels(stage).inc()


_recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=RECENT_DEAD_LETTERS)
_recent_lock = threading.Lock()
_dead_total = [0]
_dead_since_batch: dict[str, int] = {}


def dead_letter(stage: str, kind: str, *, topic: str, partition: int, offset: int) -> None:
    """A message went to the DLQ: count it by stage and reason kind, remember it for ``/status``."""
    get_metrics().dead_letters.labels(stage, kind).inc()
    entry = {"stage": stage, "reason": kind, "topic": topic, "partition": partition, "offset": offset,
             "time_ms": time.time_ns() // 1_000_000}  # fmt: skip
    with _recent_lock:
        _recent.append(entry)
        _dead_total[0] += 1
        _dead_since_batch[stage] = _dead_since_batch.get(stage, 0) + 1


def recent_dead_letters() -> tuple[int, list[dict[str, Any]]]:
    """(dead letters sent by this process, the last ones, newest first)."""
    with _recent_lock:
        return _dead_total[0], list(reversed(_recent))


def observe_event(ev: Any, *, until: str = "redis") -> None:
    """Latency of an event from its window close to ``until`` ("published" or "redis"), per present modality.

    Reads the event's latency stamps (``window_close_ns`` and ``published_ns`` / ``redis_write_ns``).
    """
    stamps = getattr(ev, "latency_ns", {}) or {}
    close_ns = stamps.get("window_close_ns")
    end_ns = stamps.get("redis_write_ns" if until == "redis" else "published_ns")
    if close_ns is None or end_ns is None:
        return
    seconds = max(end_ns - close_ns, 0) / 1e9
    head = getattr(ev, "head", None) or getattr(ev, "model_name", "") or "unknown"
    hist = get_metrics().latency
    present = [m for m, s in (getattr(ev, "modalities", {}) or {}).items() if getattr(s, "present", False)]
    for modality in present or ["none"]:
        hist.labels(head, modality, until).observe(seconds)


def timed_predict(model: Any, x: Any) -> Any:
    """``model.predict_proba(x)``, timed into ``emopipe_head_inference_seconds{head=<card name>}``."""
    card = getattr(model, "card", None)
    head = (card.get("name") if isinstance(card, dict) else getattr(card, "name", None)) or type(model).__name__
    t0 = time.perf_counter()
    try:
        return model.predict_proba(x)
    finally:
        get_metrics().inference.labels(str(head)).observe(time.perf_counter() - t0)


def sink_failed(sink: str, *, retrying: bool) -> None:
    """A sink write failed (and will be retried when ``retrying``)."""
    m = get_metrics()
    m.sink_failures.labels(sink).inc()
    if retrying:
        m.sink_retries.labels(sink).inc()


def ingest_chunks(modality: str, **counts: int) -> None:
    """Count ingest chunk outcomes, e.g. ``ingest_chunks("eda", accepted=2, reordered=1)``."""
    c = get_metrics().ingest_chunks
    for outcome, n in counts.items():
        if n:
            c.labels(modality, outcome).inc(n)


def watch_store_memory(usage: dict[str, Callable[[], float]]) -> None:
    """Report RocksDB memory at scrape time: ``usage`` maps a part name to a callable giving bytes."""
    g = get_metrics().store_memory
    for part, fn in usage.items():
        g.labels(part).set_function(fn)


def state_written(table: str, nbytes: int) -> None:
    """``nbytes`` of state written to ``table``."""
    get_metrics().state_bytes.labels(table).inc(nbytes)


def set_lag(lags: Iterable[tuple[str, int, int]], *, previous: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Set the lag gauge for (topic, partition, lag) and drop partitions no longer assigned.

    Returns the label set now exported (pass it back as ``previous`` next time).
    """
    gauge = get_metrics().lag
    now: set[tuple[str, str]] = set()
    for topic, partition, lag in lags:
        labels = (topic, str(partition))
        gauge.labels(*labels).set(lag)
        now.add(labels)
    for labels in previous - now:
        gauge.remove(*labels)
    return now
