"""`emopipe replay S02 --fast` into the real broker: every CSV sample arrives, once, in order, co-partitioned."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from agents.cli import main
from deploy.settings import Settings
from pipeline.codec import decode_chunk
from pipeline.contract import StreamCursor, continuity_step
from pipeline.sources.e4 import E4_MODALITIES

PARTITIONS = 4


def create_raw_topics(bootstrap: str, settings: Settings) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            [NewTopic(settings.raw_topic(m), PARTITIONS, 1) for m in E4_MODALITIES.values()], timeout_ms=30_000
        )
    finally:
        admin.close()


def read_topic(bootstrap: str, topic: str, expect: int, timeout_s: float = 90.0) -> list:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=500)
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        records: list = []
        deadline = time.monotonic() + timeout_s
        while len(records) < expect and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
                records.extend(batch)
        records.extend(r for batch in consumer.poll(timeout_ms=1000).values() for r in batch)  # surplus?
        return records
    finally:
        consumer.close()


def csv_samples(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()[2:]
    rows = [[float(v) for v in ln.split(",")] for ln in lines if ln.strip()]
    return np.array(rows, dtype=np.float64).T


@pytest.mark.parametrize("encoding", ["binary", "json"])
def test_replay_s02_fast(kafka_bootstrap: str, unique_prefix: str, shared_data: Path, encoding: str) -> None:
    settings = Settings(topic_prefix=unique_prefix, kafka_bootstrap=kafka_bootstrap)
    create_raw_topics(kafka_bootstrap, settings)
    s02 = shared_data / "stress-predict" / "Raw_data" / "S02"
    rc = main(["--kafka", kafka_bootstrap, "replay", str(s02), "--fast", "--chunk-s", "2",
               "--encoding", encoding, "--topic-prefix", unique_prefix])  # fmt: skip
    assert rc == 0
    partitions_used = set()
    for name, modality in E4_MODALITIES.items():
        expected = csv_samples(s02 / f"{name}.csv")
        n = expected.shape[1]
        fs = 64.0 if name == "BVP" else 32.0 if name == "ACC" else 4.0
        n_chunks = -(-n // round(2 * fs))
        records = read_topic(kafka_bootstrap, settings.raw_topic(modality), n_chunks)
        assert len(records) == n_chunks, f"{modality}: {len(records)} records, expected {n_chunks}"
        assert {r.key for r in records} == {b"S02"}
        partitions_used |= {r.partition for r in records}
        chunks = [decode_chunk(r.value) for r in records]  # one partition: Kafka kept the send order
        assert [c.seq for c in chunks] == list(range(n_chunks))
        cursor: StreamCursor | None = None
        for c in chunks:
            cursor, report = continuity_step(cursor, c)
            assert not report.has_gap
        assert cursor is not None and cursor.n_samples == n
        got = np.concatenate([c.samples for c in chunks], axis=1).astype(np.float64)
        if name == "ACC":
            got *= 64.0
        np.testing.assert_array_equal(got, expected.astype(np.float32).astype(np.float64))
    assert len(partitions_used) == 1, f"S02's streams are spread over partitions {partitions_used}"
