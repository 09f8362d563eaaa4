"""Topic layout of emopipe, declared with explicit settings.

Raw sensor data arrives on one topic per modality, ``<prefix>.raw.<modality>``, keyed by
subject id. Every raw, window and event topic has the same partition count, and producers use
the default (murmur2) partitioner on the subject key, so all streams of one subject land in the
same partition *number* on every topic. Faust assigns the same partition number of co-partitioned
topics to the same worker, which is what lets the multimodal assembly and fusion stages join a
subject's streams locally, without a shuffle.

=============================  =========================================================
``<prefix>.raw.<modality>``    chunks from devices and gateways (JSON or binary encoding)
``<prefix>.windows``           filtered windows with features and quality (msgpack), keyed by subject
``<prefix>.dlq``               dead letters: original payload + reason (JSON)
``<prefix>.events``            emotion events (JSON, versioned contract)
``<prefix>.previews``          compact previews of completed windows for the dashboard (JSON, 1 h)
``<prefix>.markers``           condition markers (JSON, pipeline/markers.py), keyed by subject
=============================  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deploy.settings import MODALITIES, Settings

#: the stages' state tables (see agents/state.py), each with a changelog topic
STATE_TABLES: tuple[str, ...] = ("window-streams", "classify-subjects")

#: retention of the raw topics (7 days) and of the dead-letter topic (30 days)
RAW_RETENTION_MS = 7 * 24 * 3600 * 1000
DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000
#: retention of the window previews (pipeline/preview.py): only the latest matters to the dashboard
PREVIEW_RETENTION_MS = 3600 * 1000


def dlq_config() -> dict[str, str]:
    """Broker configuration of the dead-letter topic: long retention, records up to
    :data:`agents.dlq.DLQ_MAX_MESSAGE_BYTES` (every dead letter is bounded below that in agents/dlq.py)."""
    from agents.dlq import DLQ_MAX_MESSAGE_BYTES

    return {"retention.ms": str(DLQ_RETENTION_MS), "max.message.bytes": str(DLQ_MAX_MESSAGE_BYTES)}


@dataclass(frozen=True)
class TopicSpec:
    """Name, partition count and broker configuration of one topic."""

    name: str
    partitions: int
    config: dict[str, str]


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Every topic emopipe uses, with explicit partitions and configuration."""
    n = settings.partitions
    raw_cfg = {"retention.ms": str(RAW_RETENTION_MS), "cleanup.policy": "delete"}
    specs = [TopicSpec(settings.raw_topic(m), n, raw_cfg) for m in MODALITIES]
    specs.append(TopicSpec(settings.topic("dlq"), 1, dlq_config()))
    specs.append(TopicSpec(settings.topic("windows"), n, raw_cfg))
    specs.append(TopicSpec(settings.topic("events"), n, raw_cfg))
    specs.append(TopicSpec(settings.topic("previews"), n, {"retention.ms": str(PREVIEW_RETENTION_MS)}))
    specs.append(TopicSpec(settings.topic("markers"), n, raw_cfg))
    # changelogs of the stages' state tables (Faust names them <app id>-<table>-changelog); created up
    # front because several workers starting at once race to create them (Faust then crashes the agent
    # with PartitionsMismatch)
    changelog_cfg = {"cleanup.policy": "compact", "max.message.bytes": str(16 * 1024 * 1024)}
    specs += [TopicSpec(f"{settings.app_id}-{t}-changelog", n, changelog_cfg) for t in STATE_TABLES]
    return specs


def ensure_topics(settings: Settings, only: tuple[str, ...] | None = None) -> int:
    """Create every missing emopipe topic (idempotent, safe when several processes race); returns how many.

    ``only``: create just these topic names (e.g. the markers topic), with their usual settings.
    """
    import contextlib

    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from agents.connections import kafka_client_kwargs

    admin = KafkaAdminClient(**kafka_client_kwargs(settings), client_id="emopipe-topics")
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(s.name, s.partitions, settings.replication_factor, topic_configs=s.config)
            for s in topic_specs(settings)
            if s.name not in existing and (only is None or s.name in only)
        ]
        for topic in new:  # one by one: a topic another process just created must not block the rest
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics([topic])
        return len(new)
    finally:
        admin.close()


@dataclass(frozen=True)
class AppTopics:
    """Faust topic handles of one app (bytes in, bytes out; codecs live in pipeline/)."""

    raw_all: Any
    windows: Any
    dlq: Any
    events: Any
    previews: Any
    markers: Any
    #: what the classify stage reads: window records and condition markers (both keyed by subject)
    classify_in: Any


def declare_topics(app: Any, settings: Settings) -> AppTopics:
    """Declare emopipe's topics on a Faust app (created by the app with these settings)."""
    n = settings.partitions
    raw_cfg = {"retention.ms": str(RAW_RETENTION_MS)}

    def t(*names: str, partitions: int = n, config: dict[str, str] | None = None) -> Any:
        return app.topic(
            *names,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
            replicas=settings.replication_factor,
            config=config or raw_cfg,
        )

    return AppTopics(
        raw_all=t(*(settings.raw_topic(m) for m in MODALITIES)),
        windows=t(settings.topic("windows")),
        dlq=t(settings.topic("dlq"), partitions=1, config=dlq_config()),
        events=t(settings.topic("events")),
        previews=t(settings.topic("previews"), config={"retention.ms": str(PREVIEW_RETENTION_MS)}),
        markers=t(settings.topic("markers")),
        classify_in=t(settings.topic("windows"), settings.topic("markers")),
    )


async def declare_outputs(topics: AppTopics) -> None:
    """Create the topics a stage only writes to (Faust declares consumed topics by itself)."""
    for topic in (topics.windows, topics.dlq, topics.events, topics.previews):
        await topic.maybe_declare()
