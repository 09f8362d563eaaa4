"""The worker's web endpoints on a real worker: /health, /ready, /metrics (with consumer lag), /status."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import numpy as np
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from agents.connections import free_port
from pipeline.codec import encode_binary
from pipeline.contract import SensorChunk
from tests.integration.kafka_util import consume_all

N_CHUNKS = 200


def _get(port: int, path: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == name
    }


def test_health_ready_metrics_status(kafka_bootstrap, unique_prefix, start_worker):
    port = free_port()
    worker = start_worker(
        unique_prefix,
        extra_env={"EMOPIPE_PARTITIONS": "2", "EMOPIPE_WEB_PORT": str(port)},
        args=("--stages", "ingest"),
    )
    seen_ready: list[int] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # /ready answers 503 until the worker has its partitions
        if worker.proc.poll() is not None:
            raise AssertionError(worker.log()[-3000:])
        try:
            status, body, _ = _get(port, "/ready")
        except (ConnectionError, urllib.error.URLError):
            time.sleep(0.2)
            continue
        seen_ready.append(status)
        if status == 200:
            break
        assert status == 503 and json.loads(body)["ready"] is False and json.loads(body)["reason"]
        time.sleep(0.2)
    ready = json.loads(body)
    assert seen_ready[-1] == 200 and ready["ready"] is True and ready["partitions"] >= 18, (seen_ready, ready)

    status, body, _ = _get(port, "/health")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["stages"] == ["ingest"]
    assert health["uptime_s"] > 0 and str(worker.proc.pid) in health["worker"]

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=10)
    t0 = 1_700_000_000_000_000_000
    for seq in range(N_CHUNKS):
        for subject in ("S02", "S03"):
            chunk = SensorChunk(subject, "s1", "e4", "eda", ("eda",), ("uS",), 4.0, t0 + seq * 2 * 10**9, seq,
                                np.full((1, 8), seq, dtype=np.float32))  # fmt: skip
            producer.send(f"{unique_prefix}.raw.eda", key=subject.encode(), value=encode_binary(chunk))
    producer.send(f"{unique_prefix}.raw.eda", key=b"S02", value=b"not a chunk")
    producer.flush()
    producer.close()
    dlq = consume_all(kafka_bootstrap, f"{unique_prefix}.dlq", expect=1)
    assert len(dlq) == 1

    # lag per partition: present for the assigned raw.eda partitions and back to 0 once all is committed
    deadline = time.monotonic() + 30
    lag: dict[tuple[tuple[str, str], ...], float] = {}
    while time.monotonic() < deadline:
        status, text, ctype = _get(port, "/metrics")
        lag = {k: v for k, v in _samples(text.decode(), "emopipe_consumer_lag_messages").items()
               if dict(k)["topic"] == f"{unique_prefix}.raw.eda"}  # fmt: skip
        if len(lag) == 2 and all(v == 0 for v in lag.values()):
            break
        time.sleep(1)
    assert status == 200 and ctype.startswith("text/plain"), ctype
    assert len(lag) == 2 and all(v == 0 for v in lag.values()), lag
    text_s = text.decode()
    messages = _samples(text_s, "emopipe_stage_messages_total")
    chunks = _samples(text_s, "emopipe_ingest_chunks_total")
    assert messages[(("stage", "ingest"),)] == 2 * N_CHUNKS + 1
    assert chunks == {(("modality", "eda"), ("outcome", "accepted")): 2 * N_CHUNKS}
    assert _samples(text_s, "emopipe_dead_letters_total") == {(("reason", "decode"), ("stage", "ingest")): 1.0}
    assert "process_resident_memory_bytes" in text_s
    # the ingest table's RocksDB databases use the shared memory budget (EMOPIPE_STATE_MEMORY_MB, default 64)
    store = _samples(text_s, "emopipe_state_store_memory_bytes")
    assert store[(("part", "budget"),)] == 64 * 2**20
    assert 0 < store[(("part", "cache"),)] <= 64 * 2**20
    assert _samples(text_s, "emopipe_python_allocated_blocks")[()] > 0

    status, body, _ = _get(port, "/status")
    st = json.loads(body)
    assert status == 200 and st["dead_letters_total"] == 1 and st["stages"] == ["ingest"]
    (last,) = st["last_dead_letters"]
    assert last["stage"] == "ingest" and last["reason"] == "decode" and last["topic"] == f"{unique_prefix}.raw.eda"
    assert set(last) == {"stage", "reason", "topic", "partition", "offset", "time_ms"}
    assert worker.proc.poll() is None
