"""The ingest stage through a real Faust worker against the real Kafka 4.x broker.

Produces valid, out-of-order and invalid sensor chunks with kafka-python and asserts exactly what
arrives on the windows topic (the offline windows of the valid chunks in ``seq`` order) and on the
dead-letter topic (every invalid one, with its reason).
"""

from __future__ import annotations

import json

import numpy as np
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from agents.dlq import decode_dead_letter
from agents.offline import offline_windows
from deploy.settings import MODALITIES
from pipeline.codec import encode_binary, encode_json
from pipeline.contract import SensorChunk
from pipeline.records import decode_window_record
from tests.integration.kafka_util import consume_all


def _chunk(seq: int, *, subject: str = "S02", modality: str = "eda", n: int = 240, fs_hz: float = 4.0) -> SensorChunk:
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
            + [NewTopic(f"{prefix}.windows", partitions, 1)]
        )
    finally:
        admin.close()


def test_ingest_windows_valid_chunks_in_order_and_dead_letters_the_rest(kafka_bootstrap, unique_prefix, start_worker):
    _create_topics(kafka_bootstrap, unique_prefix, partitions=2)
    worker = start_worker(
        unique_prefix, extra_env={"EMOPIPE_PARTITIONS": "2", "EMOPIPE_STORE": "memory://"}, args=("--stages", "ingest")
    )
    worker.wait_ready()

    good = [_chunk(0), _chunk(1), _chunk(2)] + [_chunk(i, subject="S03") for i in range(3)]
    nan_chunk = _chunk(4)
    nan_samples = nan_chunk.samples.copy()
    nan_samples[0, 3] = np.nan
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    raw_eda = f"{unique_prefix}.raw.eda"
    sends = [
        (raw_eda, b"S02", encode_binary(good[0])),
        (raw_eda, b"S02", encode_json(good[1])),  # JSON encoding is accepted too
        (raw_eda, b"S03", encode_binary(good[3])),
        (raw_eda, b"S03", encode_binary(good[5])),  # S03 seq 2 before seq 1: held by the reorder step
        (raw_eda, b"S02", b"\x00garbage\xff"),  # not a chunk at all
        (raw_eda, b"S02", encode_binary(good[1])),  # duplicate seq 1 of the S02 stream
        (raw_eda, b"S03", encode_binary(good[4])),  # ... then seq 1: both released in order
        (raw_eda, b"S02", encode_binary(good[2])),
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

    expected = offline_windows(good)  # the valid chunks in seq order, stream by stream
    got = consume_all(kafka_bootstrap, f"{unique_prefix}.windows", expect=len(expected), timeout_s=90)
    dlq = consume_all(kafka_bootstrap, f"{unique_prefix}.dlq", expect=6, timeout_s=30)

    recs = [decode_window_record(v) for _, v, _ in got]
    assert len(expected) == 2 * 24  # 180 s of each stream, off the 5 s grid: 60 s windows every 5 s
    keyed = {(r.subject_id, r.window.end_ns): r for r in recs}
    assert len(keyed) == len(recs), "a window was emitted twice"
    assert sorted(keyed) == sorted((r.subject_id, r.window.end_ns) for r in expected)
    for want in expected:
        r = keyed[(want.subject_id, want.window.end_ns)]
        assert r.window.gap_fraction == want.window.gap_fraction == 0.0  # S03's swapped chunks left no gap
        assert r.window.features.keys() == want.window.features.keys()
        assert all(np.isclose(r.window.features[k], v, equal_nan=True) for k, v in want.window.features.items())
    assert all(k == decode_window_record(v).subject_id.encode() for k, v, _ in got)

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
