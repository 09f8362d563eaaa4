"""Small kafka-python helpers for integration tests."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition


def consume_all(
    bootstrap: str, topic: str, *, expect: int, timeout_s: float = 60.0
) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
    """Read a topic from the beginning until `expect` records arrived (or time runs out).

    Returns (key, value, headers) tuples in partition-then-offset order of arrival. Reads on for
    one more second after `expect` records so that surplus records are caught, not hidden.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest", consumer_timeout_ms=500
    )
    out: list[tuple[bytes | None, bytes, dict[str, bytes]]] = []
    try:
        deadline = time.monotonic() + timeout_s
        while not consumer.partitions_for_topic(topic):
            if time.monotonic() > deadline:
                return out
            time.sleep(0.2)
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        extra_until: float | None = None
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=300)
            for records in batch.values():
                out.extend((r.key, r.value, dict(r.headers or [])) for r in records)
            if len(out) >= expect:
                extra_until = extra_until or time.monotonic() + 1.0
                if time.monotonic() > extra_until:
                    break
    finally:
        consumer.close()
    return out
