"""LSL and BrainFlow bridges against real libraries (liblsl outlet in-process, BrainFlow synthetic board)
and the real broker."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pylsl
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from agents.cli import main
from agents.commands.lsl_bridge import LslBridge, resolve
from agents.producer import ChunkProducer
from deploy.settings import Settings
from pipeline.codec import decode_chunk
from pipeline.contract import SensorChunk, StreamCursor, continuity_step

PARTITIONS = 4


def consume(bootstrap: str, topic: str, *, min_records: int, timeout_s: float = 60.0) -> list[SensorChunk]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        out: list[SensorChunk] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < min_records and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                out.extend(decode_chunk(r.value) for r in batch)
        return sorted(out, key=lambda c: c.seq)
    finally:
        consumer.close()


def make_topic(bootstrap: str, name: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, PARTITIONS, 1)], timeout_ms=30_000)
    finally:
        admin.close()


def test_lsl_bridge_forwards_samples_and_times(kafka_bootstrap: str, unique_prefix: str) -> None:
    settings = Settings(topic_prefix=unique_prefix, kafka_bootstrap=kafka_bootstrap)
    make_topic(kafka_bootstrap, settings.raw_topic("eeg"))
    name = f"emopipe-test-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo(name, "EEG", 4, 100.0, "float32", name)
    chans = info.desc().append_child("channels")
    for label in ("Fz", "Cz", "Pz", "Oz"):
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", "microvolts")
    outlet = pylsl.StreamOutlet(info, chunk_size=10)
    found = resolve("EEG", name, timeout_s=10.0)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((450, 4)).astype(np.float32)
    stamps = pylsl.local_clock() + np.arange(450) / 100.0
    with ChunkProducer(kafka_bootstrap, settings=settings) as producer:
        bridge = LslBridge(found, producer, subject_id="lsl-subject", chunk_s=1.0)
        time.sleep(0.5)  # let the inlet connect before data flows
        for k in range(0, 450, 50):
            outlet.push_chunk(data[k : k + 50].tolist(), float(stamps[k + 49]))
        deadline = time.monotonic() + 20
        while bridge.sent < 4 and time.monotonic() < deadline:
            bridge.pump(timeout_s=0.2)
        bridge.close()  # sends the last 50 samples as a short chunk
    assert bridge.sent == 5
    chunks = consume(kafka_bootstrap, settings.raw_topic("eeg"), min_records=5)
    assert [c.seq for c in chunks] == [0, 1, 2, 3, 4]
    assert chunks[0].channels == ("Fz", "Cz", "Pz", "Oz") and chunks[0].units == ("microvolts",) * 4
    assert chunks[0].fs_hz == 100.0 and chunks[0].subject_id == "lsl-subject"
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks], axis=1), data.T)
    # times are unix ns: near now, and 1 s apart (the sender stamped the samples 10 ms apart)
    assert abs(chunks[0].t0_ns / 1e9 - time.time()) < 60
    np.testing.assert_allclose(np.diff([c.t0_ns for c in chunks]) / 1e9, 1.0, atol=0.02)
    cursor: StreamCursor | None = None
    for c in chunks:
        cursor, report = continuity_step(cursor, c)
        assert not report.has_gap
    del outlet


def test_brainflow_synthetic_board_via_cli(kafka_bootstrap: str, unique_prefix: str) -> None:
    settings = Settings(topic_prefix=unique_prefix, kafka_bootstrap=kafka_bootstrap)
    make_topic(kafka_bootstrap, settings.raw_topic("eeg"))
    rc = main(["--kafka", kafka_bootstrap, "brainflow-bridge", "--board-id", "-1", "--subject", "bf",
               "--duration-s", "3.5", "--chunk-s", "0.5", "--topic-prefix", unique_prefix])  # fmt: skip
    assert rc == 0
    chunks = consume(kafka_bootstrap, settings.raw_topic("eeg"), min_records=6)
    assert len(chunks) >= 6
    assert all(c.synthetic and c.fs_hz == 250.0 and len(c.channels) == 16 for c in chunks)
    assert chunks[0].channels[:3] == ("Fz", "C3", "Cz")
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    assert all(c.n_samples == 125 for c in chunks[:-1])
    assert abs(chunks[0].t0_ns / 1e9 - time.time()) < 60
    cursor: StreamCursor | None = None
    for c in chunks:
        cursor, report = continuity_step(cursor, c, gap_tolerance_s=0.2)
        assert report.missing_seq == 0
    x = np.concatenate([c.samples for c in chunks], axis=1)
    assert x.std() > 0  # the synthetic board's sines and noise, not zeros


def test_missing_libraries_raise_import_error_with_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from agents.commands import brainflow_bridge, lsl_bridge

    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith(("pylsl", "brainflow")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install pylsl"):
        lsl_bridge.resolve("EEG", None, 1.0)
    with pytest.raises(ImportError, match="pip install brainflow"):
        brainflow_bridge.open_board(-1)
