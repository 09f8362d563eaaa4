"""The ingest stage through a real Faust worker against the real Kafka 4.x broker.

Produces valid and invalid sensor chunks with kafka-python and asserts exactly what arrives on the
valid topics and the dead-letter topic.
"""

from __future__ import annotations

import json

import numpy as np
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from agents.dlq import decode_dead_letter
from deploy.settings import MODALITIES
from pipeline.codec import decode_chunk, encode_binary, encode_json
from pipeline.contract import SensorChunk
from tests.integration.kafka_util import consume_all


def _chunk(seq: int, *, subject: str = "S02", modality: str = "eda", n: int = 16, fs_hz: float = 4.0) -> SensorChunk:
    t0_ns = 1_644_227_574_000_000_000 + round(seq * n * 1e9 / fs_hz)
    samples = (np.arange(n, dtype=np.float32) + seq).reshape(1, n)
    return SensorChunk(
        subject_id=subject,
        session_id="s1",
        device_id="e4-test",
        modality=modality,
        channels=("eda",),
        units=("uS",),
        fs_hz=fs_hz,
        t0_ns=t0_ns,
        seq=seq,
        samples=samples,
    )


def _create_topics(bootstrap: str, prefix: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            [NewTopic(f"{prefix}.raw.{m}", partitions, 1) for m in MODALITIES]
            + [NewTopic(f"{prefix}.valid.{m}", partitions, 1) for m in MODALITIES]
        )
    finally:
        admin.close()


def test_ingest_forwards_valid_chunks_and_dead_letters_the_rest(kafka_bootstrap, unique_prefix, start_worker):
    _create_topics(kafka_bootstrap, unique_prefix, partitions=2)
    worker = start_worker(
        unique_prefix, extra_env={"EMOPIPE_PARTITIONS": "2", "EMOPIPE_STORE": "memory://"}, args=("--stages", "ingest")
    )
    worker.wait_ready()

    good = [_chunk(0), _chunk(1), _chunk(2, subject="S03"), _chunk(3)]
    nan_chunk = _chunk(4)
    nan_samples = nan_chunk.samples.copy()
    nan_samples[0, 3] = np.nan
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    raw_eda = f"{unique_prefix}.raw.eda"
    sends = [
        (raw_eda, b"S02", encode_binary(good[0])),
        (raw_eda, b"S02", encode_json(good[1])),  # JSON encoding is accepted too
        (raw_eda, b"S03", encode_binary(good[2])),
        (raw_eda, b"S02", b"\x00garbage\xff"),  # not a chunk at all
        (raw_eda, b"S02", encode_binary(good[1])),  # duplicate seq 1 of the S02 stream
        (raw_eda, b"S02", encode_binary(good[3])),
        (f"{unique_prefix}.raw.bvp", b"S02", encode_binary(_chunk(7))),  # EDA chunk on the BVP topic
        (raw_eda, b"S99", encode_binary(_chunk(8))),  # key is not the subject id
        (raw_eda, b"S02", json.dumps({"schema_version": 1, "subject_id": "S02"}).encode()),  # fields missing
    ]
    json_body = json.loads(encode_json(nan_chunk, validate=False))
    json_body["samples"][0][3] = "NaN"
    sends.append((raw_eda, b"S02", json.dumps(json_body).encode()))
    for topic, key, value in sends:
        producer.send(topic, key=key, value=value).get(timeout=30)
    producer.close()

    valid = consume_all(kafka_bootstrap, f"{unique_prefix}.valid.eda", expect=4, timeout_s=90)
    dlq = consume_all(kafka_bootstrap, f"{unique_prefix}.dlq", expect=6, timeout_s=30)

    got = sorted((decode_chunk(v) for _, v, _ in valid), key=lambda c: c.seq)
    assert [(c.subject_id, c.seq) for c in got] == [("S02", 0), ("S02", 1), ("S03", 2), ("S02", 3)]
    for c, original in zip(got, sorted(good, key=lambda c: c.seq), strict=True):
        assert c == original  # bit-exact after JSON or binary in, binary out
    assert all(
        k == c.subject_id.encode()
        for (k, _, _), c in zip(valid, map(decode_chunk, (v for _, v, _ in valid)), strict=True)
    )

    letters = [decode_dead_letter(v) for _, v, _ in dlq]
    assert len(letters) == 6, [lt.reason for lt in letters]
    reasons = " | ".join(lt.reason for lt in letters)
    assert "unknown encoding" in reasons
    assert "duplicate seq 1" in reasons
    assert "arrived on topic" in reasons
    assert "must be the subject id" in reasons
    assert sum("NaN" in lt.reason or "nan" in lt.reason.lower() for lt in letters) >= 1
    # nothing is lost: every dead letter carries the original bytes
    payloads = {lt.payload() for lt in letters}
    assert b"\x00garbage\xff" in payloads
    assert all(h.get("reason") for _, _, h in dlq)
    assert worker.proc.poll() is None, "the worker must keep running after bad input"
