"""``emopipe rebuild-redis``: replay the events topic into Redis (Redis is a view that can be rebuilt).

The Kafka ``events`` topic is the source of truth. This command reads it from a start time (Kafka
record timestamps, i.e. when the classify stage published each event) up to the end offsets seen at
start, and writes every event through the same idempotent :class:`~agents.redis_sink.RedisEventSink`
as the emit stage: an event already in Redis (same ``event_id``) is skipped, so running it on a
complete Redis changes nothing, and after a wipe or a lost AOF it restores the history.

Events are written per partition in offset order, so each subject's stream keeps its order. The
Redis stream entry ids are the time of the rebuild (``subscribe --since`` then counts from that time).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
import time
from dataclasses import dataclass
from typing import Any

from agents.commands.subscribe import parse_since_ms
from deploy.settings import Settings

logger = logging.getLogger(__name__)

HELP = "replay the Kafka events topic into Redis, idempotently (after a Redis loss or wipe)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``emopipe rebuild-redis``."""
    p.add_argument(
        "--since",
        default="all",
        help="events published since: 'all' (default), an age (10m, 2h), epoch ms or an ISO time",
    )
    p.add_argument("--subject", default=None, help="only this subject (default: every subject)")
    p.add_argument("--batch", type=int, default=500, help="records per Kafka poll (default 500)")


@dataclass
class RebuildCounts:
    """What a rebuild did."""

    read: int = 0
    written: int = 0
    already_present: int = 0
    skipped_subject: int = 0
    undecodable: int = 0


def _consumer(settings: Settings, topic: str, since_ms: int) -> tuple[Any, dict[Any, int]]:
    """A kafka-python consumer assigned to every partition of ``topic`` at ``since_ms``; and the end offsets."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        client_id="emopipe-rebuild-redis",
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    parts = sorted(consumer.partitions_for_topic(topic) or ())
    if not parts:
        consumer.close()
        msg = f"topic {topic!r} does not exist on {settings.kafka_bootstrap} (nothing to rebuild from)"
        raise SystemExit(msg)
    tps = [TopicPartition(topic, p) for p in parts]
    consumer.assign(tps)
    end = consumer.end_offsets(tps)
    starts = consumer.offsets_for_times(dict.fromkeys(tps, since_ms)) if since_ms > 0 else {}
    for tp in tps:
        found = starts.get(tp)
        if since_ms <= 0:
            consumer.seek_to_beginning(tp)
        elif found is None:
            consumer.seek(tp, end[tp])  # nothing at or after since_ms in this partition
        else:
            consumer.seek(tp, found.offset)
    return consumer, end


def _remaining(consumer: Any, end: dict[Any, int]) -> int:
    return sum(max(end[tp] - consumer.position(tp), 0) for tp in end)


async def rebuild(settings: Settings, *, since_ms: int, subject: str | None, batch: int = 500) -> RebuildCounts:
    """Replay the events topic from ``since_ms`` (epoch ms; 0 = all) into Redis; returns the counts."""
    from tqdm import tqdm

    from agents.redis_sink import RedisEventSink
    from pipeline.events import decode_event

    topic = settings.topic("events")
    consumer, end = _consumer(settings, topic, since_ms)
    sink = RedisEventSink(settings.redis_url, prefix=settings.topic_prefix)
    counts = RebuildCounts()
    want_key = None if subject is None else subject.encode()
    try:
        await sink.start()
        total = _remaining(consumer, end)
        empty_polls = 0
        with tqdm(total=total, unit="event", file=sys.stderr, disable=None, dynamic_ncols=True) as bar:
            while _remaining(consumer, end) > 0:
                polled = consumer.poll(timeout_ms=1000, max_records=batch)
                empty_polls = 0 if polled else empty_polls + 1
                if empty_polls >= 30:  # e.g. only transaction markers left before the end offsets
                    logger.warning("rebuild-redis: no records for 30 s with %d offsets left; stopping",
                                   _remaining(consumer, end))  # fmt: skip
                    break
                for tp, records in polled.items():
                    for r in records:
                        if r.offset >= end[tp]:
                            continue  # arrived after the start: the emit stage writes those
                        counts.read += 1
                        bar.update(1)
                        if want_key is not None and r.key != want_key:
                            counts.skipped_subject += 1
                            continue
                        try:
                            ev = decode_event(r.value)
                        except Exception as exc:  # a bad record must not stop the rebuild
                            counts.undecodable += 1
                            logger.warning("rebuild-redis: %s[%d]@%d not an event: %s", tp.topic, tp.partition,
                                           r.offset, exc)  # fmt: skip
                            continue
                        stamped = dataclasses.replace(
                            ev, latency_ns={**ev.latency_ns, "redis_write_ns": time.time_ns()}
                        )
                        if await sink.write(stamped):
                            counts.written += 1
                        else:
                            counts.already_present += 1
                    if records and records[-1].offset + 1 >= end[tp]:
                        consumer.pause(tp)
    finally:
        await sink.close()
        consumer.close()
    return counts


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild; prints a one-line summary."""
    since_ms = parse_since_ms(args.since, now_ms=time.time_ns() // 1_000_000)
    if args.batch < 1:
        print("emopipe rebuild-redis: --batch must be >= 1", file=sys.stderr)
        return 2
    counts = asyncio.run(rebuild(settings, since_ms=since_ms, subject=args.subject, batch=args.batch))
    print(
        f"rebuild-redis: read {counts.read} events from {settings.topic('events')}, wrote {counts.written}, "
        f"{counts.already_present} already in Redis, {counts.skipped_subject} of other subjects, "
        f"{counts.undecodable} undecodable",
        file=sys.stderr,
    )
    return 0
