"""Worker HTTP endpoints on the Faust web server: ``/health``, ``/ready``, ``/metrics``, ``/status``.

Registered by :func:`register_endpoints` (called from :func:`agents.app.create_app`); served on
``settings.web_host:settings.web_port`` when the web server is enabled.

- ``GET /health`` -> 200 ``{"status": "ok", "worker", "stages", "uptime_s"}``: the process and its
  event loop answer (liveness).
- ``GET /ready`` -> 200 ``{"ready": true, "partitions": n, ...}`` once the worker has received its
  first partition assignment, is not rebalancing and its tables are recovered; else 503
  ``{"ready": false, "reason": ...}``.
- ``GET /metrics`` -> Prometheus text (:mod:`agents.metrics`).
- ``GET /status`` -> ``{"worker", "stages", "dead_letters_total", "last_dead_letters": [...]}``.

A timer refreshes ``emopipe_consumer_lag_messages{topic,partition}`` every :data:`LAG_INTERVAL_S`
seconds: the partition's highwater (log end offset, from the consumer's fetches) minus the
committed offset of this worker's consumer group.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from agents import metrics

logger = logging.getLogger(__name__)

#: seconds between two consumer-lag refreshes
LAG_INTERVAL_S = 5.0


def worker_id(web_port: int) -> str:
    """``host:pid`` (plus the web port when there is one): names this worker in /health and /status."""
    base = f"{socket.gethostname()}:{os.getpid()}"
    return f"{base}:{web_port}" if web_port > 0 else base


class ReadyState:
    """What /ready needs to know, updated by the app's rebalance callbacks."""

    def __init__(self) -> None:
        self.assigned_once = False

    def check(self, app: Any) -> tuple[bool, str, int]:
        """(ready, reason, assigned partitions)."""
        try:
            assignment = app.consumer.assignment()
        except Exception:  # consumer not created yet
            return False, "consumer not started", 0
        n = len(assignment)
        if not self.assigned_once:
            return False, "waiting for the first partition assignment", n
        if getattr(app, "rebalancing", False):
            return False, "rebalancing", n
        recovery = getattr(app.tables, "recovery", None)
        completed = getattr(recovery, "completed", None)
        if completed is not None and not completed.is_set():
            return False, "recovering tables from their changelogs", n
        return True, "", n


def committed_offsets(app: Any) -> dict[Any, int]:
    """Committed offset per assigned partition, as the Faust consumer knows it (None entries dropped)."""
    out: dict[Any, int] = {}
    known = getattr(app.consumer, "_committed_offset", {})  # updated at assignment and at every commit
    monitor = getattr(app, "monitor", None)
    from_monitor = getattr(monitor, "tp_committed_offsets", None) or {}
    for tp in app.consumer.assignment():
        value = from_monitor.get(tp, known.get(tp))
        if value is not None:
            out[tp] = int(value)
    return out


def partition_lags(app: Any) -> list[tuple[str, int, int]]:
    """(topic, partition, lag) for every assigned partition whose highwater is known."""
    committed = committed_offsets(app)
    lags = []
    for tp in sorted(app.consumer.assignment()):
        try:
            highwater = app.consumer.highwater(tp)
        except Exception:  # the consumer has not fetched this partition yet
            highwater = None
        if highwater is None:
            continue
        lags.append((tp.topic, tp.partition, max(int(highwater) - committed.get(tp, 0), 0)))
    return lags


def register_endpoints(emo: Any, stages: tuple[str, ...]) -> None:
    """Add the views and the lag timer to the Faust app of an :class:`~agents.app.EmoApp`."""
    app, settings = emo.app, emo.settings
    started = time.monotonic()
    wid = worker_id(settings.web_port)
    ready = ReadyState()
    metrics.get_metrics()  # registered once per process, before the first scrape

    @app.on_partitions_assigned.connect
    async def _on_assigned(*args: Any, **kwargs: Any) -> None:
        ready.assigned_once = True

    @app.page("/health")
    async def health(self: Any, request: Any) -> Any:
        return self.json({"status": "ok", "worker": wid, "stages": list(stages),
                          "uptime_s": round(time.monotonic() - started, 3)})  # fmt: skip

    @app.page("/ready")
    async def ready_view(self: Any, request: Any) -> Any:
        ok, reason, n = ready.check(app)
        body: dict[str, Any] = {"ready": ok, "worker": wid, "partitions": n}
        if not ok:
            body["reason"] = reason
        return self.json(body, status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics_view(self: Any, request: Any) -> Any:
        # aiohttp refuses a charset in content_type=, so the exposition type goes in as a header
        return self.bytes(metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/status")
    async def status(self: Any, request: Any) -> Any:
        total, last = metrics.recent_dead_letters()
        return self.json({"worker": wid, "stages": list(stages), "dead_letters_total": total,
                          "last_dead_letters": last})  # fmt: skip

    exported: set[tuple[str, str]] = set()

    @app.timer(LAG_INTERVAL_S)
    async def _refresh_lag() -> None:
        nonlocal exported
        try:
            exported = metrics.set_lag(partition_lags(app), previous=exported)
        except Exception:  # never let a metrics refresh disturb the worker
            logger.debug("consumer lag refresh failed", exc_info=True)
