"""Markers on Kafka: publish condition markers and read back what a topic retains for one subject.

Markers go to ``<prefix>.markers`` keyed by subject id with the default (murmur2) partitioner, so a
subject's markers share the partition number of its sensor streams on every other topic (the
classify stage can fold them next to the subject's windows). :func:`read_subject` reads any
co-partitioned topic (raw streams, markers) for one subject from the retained beginning to the
current end, reading only the subject's partition.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from agents.exceptions import DeliveryError
from deploy.settings import Settings
from pipeline.exceptions import ContractError
from pipeline.markers import Marker, decode_marker, encode_marker

logger = logging.getLogger(__name__)


def subject_partition(subject_id: str, n_partitions: int) -> int:
    """The partition kafka-python's (and Java's) default partitioner picks for a subject key."""
    from kafka.partitioner.default import murmur2

    return (murmur2(subject_id.encode()) & 0x7FFFFFFF) % n_partitions


class MarkerProducer:
    """Send markers to the markers topic (idempotent producer, acks=all); use as a context manager."""

    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaProducer

        self.topic = settings.topic("markers")
        self._producer = KafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            client_id="emopipe-markers",
        )
        self._futures: list[Any] = []
        self.sent = 0

    def send(self, marker: Marker) -> None:
        """Validate, encode and send one marker (ContractError if it breaks the contract)."""
        self._futures.append(
            self._producer.send(self.topic, key=marker.subject_id.encode(), value=encode_marker(marker))
        )
        self.sent += 1

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait for every sent marker to be acknowledged; DeliveryError on failure."""
        self._producer.flush(timeout=timeout_s)
        failed = [f.exception for f in self._futures if f.failed()]
        self._futures = [f for f in self._futures if not f.is_done]
        if failed:
            msg = f"{len(failed)} marker(s) not delivered to {self.topic}: {failed[0]}"
            raise DeliveryError(msg)

    def close(self) -> None:
        """Flush and close."""
        try:
            self.flush()
        finally:
            self._producer.close()

    def __enter__(self) -> MarkerProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send_markers(markers: Iterable[Marker], settings: Settings) -> int:
    """Publish markers and wait for them; returns how many."""
    with MarkerProducer(settings) as p:
        for m in markers:
            p.send(m)
        n = p.sent
    return n


def read_subject(
    settings: Settings, topics: Iterable[str], subject_id: str, *, timeout_s: float = 30.0
) -> Iterator[tuple[str, bytes]]:
    """Every retained message of ``subject_id`` on ``topics``: ``(topic, value)``, in offset order per topic.

    Reads only the subject's partition of each topic (all emopipe topics are co-partitioned by subject),
    from the beginning to the end offsets taken at the start; messages of other subjects sharing the
    partition are skipped by key.
    """
    import time

    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        client_id="emopipe-export",
        group_id=None,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    key = subject_id.encode()
    try:
        existing = consumer.topics()
        tps = []
        for t in topics:
            if t not in existing:
                continue
            parts = consumer.partitions_for_topic(t) or set()
            if parts:
                tps.append(TopicPartition(t, subject_partition(subject_id, len(parts))))
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        todo = {tp for tp in tps if end[tp] > consumer.position(tp)}
        deadline = time.monotonic() + timeout_s
        while todo:
            if time.monotonic() > deadline:
                msg = f"reading {sorted(tp.topic for tp in todo)} did not reach the end offsets in {timeout_s:.0f} s"
                raise TimeoutError(msg)
            batch = consumer.poll(timeout_ms=500, max_records=5000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset < end[tp] and r.key == key:
                        yield tp.topic, r.value
            for tp in list(todo):
                if consumer.position(tp) >= end[tp]:
                    todo.discard(tp)
                    consumer.pause(tp)
            deadline = time.monotonic() + timeout_s if batch else deadline
    finally:
        consumer.close()


def read_markers(settings: Settings, subject_id: str, session_id: str | None = None) -> list[Marker]:
    """The retained markers of a subject (optionally of one session); malformed ones are logged and skipped."""
    out = []
    for _, value in read_subject(settings, [settings.topic("markers")], subject_id):
        try:
            m = decode_marker(value)
        except ContractError as exc:
            logger.warning("skipping a malformed marker: %s", exc)
            continue
        if m.subject_id == subject_id and (session_id is None or m.session_id == session_id):
            out.append(m)
    return out
