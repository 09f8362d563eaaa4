"""The Faust application: built from :class:`~deploy.settings.Settings`, stages registered on it.

An app is built by :func:`create_app` (never at import time), so tests and several workers can
build apps with different settings in one process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import faust

from agents.connections import faust_credentials
from agents.exceptions import AgentError
from agents.topics import AppTopics, declare_topics
from deploy.settings import Settings
from pipeline.plan import StreamPlan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmoApp:
    """A Faust app with its topics, the settings it was built from, its heads and their stream plan."""

    app: faust.App
    topics: AppTopics
    settings: Settings
    plan: StreamPlan
    heads: tuple[Any, ...] = ()


def faust_options(settings: Settings) -> dict[str, Any]:
    """Faust settings derived from emopipe settings (explicit, tuned for a single small broker)."""
    return {
        "broker": [f"kafka://{h.strip()}" for h in settings.kafka_bootstrap.split(",")],
        # SASL/SCRAM over TLS when settings.kafka_security_protocol is SASL_SSL (agents/connections.py)
        "broker_credentials": faust_credentials(settings),
        "store": settings.store,
        "processing_guarantee": settings.processing_guarantee,
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "topic_allow_declare": True,
        "consumer_auto_offset_reset": "earliest",
        "datadir": str(settings.state_dir / settings.app_id),
        "web_enabled": settings.web_port > 0,
        "web_port": max(settings.web_port, 1),
        "web_host": settings.web_host,
        "web_bind": settings.web_host,
        # the default 60 s session timeout makes a dead worker's partitions wait a minute
        "broker_session_timeout": 10.0,
        "broker_heartbeat_interval": 1.0,
        "broker_commit_interval": 1.0,
        "producer_acks": -1,
        # state headers and segments are small, similar records: gzip about halves the changelog bytes
        "producer_compression_type": worker_compression(settings.worker_compression),
        "producer_max_request_size": 16 * 1024 * 1024,  # = agents.state.MAX_STATE_BYTES
        "table_cleanup_interval": 30.0,
        # with the default (True) a rebalance waits for the take_events buffers to drain; in our
        # two-worker kill tests that stalled a worker after the rebalance (no error logged)
        "stream_wait_empty": False,
        # values are bytes everywhere: codecs live in pipeline/ (sensor chunks) and agents/ (events)
        "key_serializer": "raw",
        "value_serializer": "raw",
    }


_READER_PACKAGES = {"lz4": "lz4", "zstd": "zstandard"}


def worker_compression(name: str) -> str | None:
    """aiokafka's ``compression_type`` for ``name`` ("none" -> None).

    Raises
    ------
    AgentError
        The codec's package is missing (aiokafka's lz4 and zstd need cramjam; gzip is built in).
    """
    if name == "none":
        return None
    from aiokafka import codec

    if not {"gzip": codec.has_gzip, "lz4": codec.has_lz4, "zstd": codec.has_zstd}[name]():
        msg = (
            f"EMOPIPE_WORKER_COMPRESSION={name} needs cramjam for the worker and {_READER_PACKAGES[name]} for "
            f"kafka-python readers: pip install cramjam {_READER_PACKAGES[name]} (or use gzip, built in)"
        )
        raise AgentError(msg)
    return name


#: every stage, in pipeline order
ALL_STAGES: tuple[str, ...] = ("ingest", "classify", "emit", "preview")


def create_app(settings: Settings, *, stages: tuple[str, ...] = ALL_STAGES) -> EmoApp:
    """Build the emopipe Faust app with the given stages registered.

    Parameters
    ----------
    settings
        Process settings (broker, store, partitions, processing guarantee, ...).
    stages
        Stage ids to register, in pipeline order.
    """
    plan, heads = _heads(settings, with_modules="classify" in stages)
    from agents import rebalance

    rebalance.install()  # no record fetched before a rebalance is delivered after it (agents/rebalance.py)
    app = faust.App(settings.app_id, **faust_options(settings))
    topics = declare_topics(app, settings)
    emo = EmoApp(app=app, topics=topics, settings=settings, plan=plan, heads=tuple(heads))
    for stage in stages:
        _register(emo, stage)
    from agents.endpoints import register_endpoints

    register_endpoints(emo, stages)  # /health /ready /metrics /status and the consumer-lag timer
    return emo


def _heads(settings: Settings, *, with_modules: bool) -> tuple[StreamPlan, list[Any]]:
    """The worker's stream plan from its heads' cards, and the heads themselves when it classifies.

    A card that does not fit (feature version, window, input kind) raises PlanError here, at start.
    """
    from models.heads import load_heads, load_plan

    names = settings.head_names
    if with_modules:
        heads, plan = load_heads(settings.model_dir, names, mains_hz=settings.mains_hz)
        logger.info("heads: %s", ", ".join(f"{h.spec.name}@{h.spec.version} ({h.spec.kind})" for h in heads))
        return plan, heads
    return load_plan(settings.model_dir, names, mains_hz=settings.mains_hz), []


def _register(emo: EmoApp, stage: str) -> None:
    if stage == "ingest":
        from agents.ingest import register_ingest

        register_ingest(emo)
    elif stage == "classify":
        from agents.classify import register_classify

        register_classify(emo)
    elif stage == "emit":
        from agents.emit import register_emit

        register_emit(emo)
    elif stage == "window":
        msg = "stage 'window' is part of stage 'ingest' since emopipe 0.9 (ingest decodes, reorders and windows)"
        raise ValueError(msg)
    elif stage == "preview":
        from agents.preview import register_preview

        register_preview(emo)
    else:
        msg = f"unknown stage {stage!r}"
        raise ValueError(msg)
