"""ChunkProducer against the real broker: delivery errors surface; `emopipe simulate` publishes synthetic chunks."""

from __future__ import annotations

import time

import numpy as np
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from agents.cli import main
from agents.exceptions import DeliveryError
from agents.producer import ChunkProducer
from deploy.settings import Settings
from pipeline.codec import decode_chunk
from pipeline.contract import SensorChunk
from pipeline.simulate import LAYOUT


def create(bootstrap: str, topics: list[NewTopic]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(topics, timeout_ms=30_000)
    finally:
        admin.close()


def read_all(bootstrap: str, topic: str, partitions: int, expect: int, timeout_s: float = 60.0) -> list:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        out: list = []
        deadline = time.monotonic() + timeout_s
        while len(out) < expect and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(batch)
        return out
    finally:
        consumer.close()


def big_chunk(seq: int) -> SensorChunk:
    x = np.random.default_rng(seq).standard_normal((4, 2000)).astype(np.float32)  # ~32 kB, incompressible
    return SensorChunk("S1", "x", "dev", "eeg", ("a", "b", "c", "d"), ("uV",) * 4, 250.0, 10**18, seq, x)


def test_broker_rejection_raises_delivery_error(kafka_bootstrap: str, unique_prefix: str) -> None:
    settings = Settings(topic_prefix=unique_prefix, kafka_bootstrap=kafka_bootstrap)
    create(kafka_bootstrap, [NewTopic(settings.raw_topic("eeg"), 1, 1, topic_configs={"max.message.bytes": "4096"})])
    producer = ChunkProducer(kafka_bootstrap, settings=settings, compression="none")
    producer.send(big_chunk(0))
    with pytest.raises(DeliveryError, match="1 record\\(s\\) not delivered"):
        producer.flush(timeout_s=30)
    producer.close()  # failures were reported once; close is clean
    with (
        ChunkProducer(kafka_bootstrap, settings=settings, max_request_size=1000) as small,
        pytest.raises(DeliveryError, match="cannot send"),
    ):
        small.send(big_chunk(1))  # refused by the client before it is sent


def test_simulate_command_publishes_synthetic_chunks(kafka_bootstrap: str, unique_prefix: str) -> None:
    settings = Settings(topic_prefix=unique_prefix, kafka_bootstrap=kafka_bootstrap)
    mods = ("eda", "video_features")
    create(kafka_bootstrap, [NewTopic(settings.raw_topic(m), 4, 1) for m in mods])
    args = ["simulate", "--subjects", "3", "--duration-s", "20", "--fast", "--modalities", *mods]
    rc = main(["--kafka", kafka_bootstrap, *args, "--seed", "5", "--topic-prefix", unique_prefix, "--encoding", "json"])
    assert rc == 0
    eda = read_all(kafka_bootstrap, settings.raw_topic("eda"), 4, expect=60)
    assert len(eda) == 60  # 3 subjects x 20 one-second chunks
    chunks = [decode_chunk(r.value) for r in eda]
    assert all(c.synthetic for c in chunks)
    assert sum(c.n_samples for c in chunks) == 3 * 20 * int(LAYOUT["eda"][0] or 0)
    by_subject: dict[bytes, set[int]] = {}
    for r in eda:
        by_subject.setdefault(r.key, set()).add(r.partition)
    assert set(by_subject) == {b"sim01", b"sim02", b"sim03"}
    assert all(len(p) == 1 for p in by_subject.values())
    video = [decode_chunk(r.value) for r in read_all(kafka_bootstrap, settings.raw_topic("video_features"), 4, 60)]
    assert all(c.synthetic and c.fs_hz is None and c.timestamps_ns is not None for c in video)
