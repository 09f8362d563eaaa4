"""Fault tests against the real services: a Redis restart, a slow Redis and a broker restart.

Events flow from the events topic through a real ``emopipe worker --stages emit`` into a private
redis-server (deploy/redis/start.sh) while the fault happens. Each test measures events lost (must be
0), duplicates in Redis after the idempotent keys (must be 0) and the recovery time (from the end of
the fault until every event is in Redis). With ``EMOPIPE_RECORD_FAULTS=1`` the figures are merged into
``bench/results/faults.json`` as ``{fault: {lost, duplicates, recovery_s}}`` (see RELIABILITY.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from agents.client import EventClient
from agents.connections import free_port
from deploy.settings import REPO_ROOT
from pipeline.events import encode_event
from tests.integration.test_redis_persistence import _event, _redis_script

SUBJECTS = ("F01", "F02", "F03", "F04")
RATE_HZ = 40  # events per second in all, spread over the subjects


def record_fault(name: str, *, lost: int, duplicates: int, recovery_s: float, **extra: object) -> None:
    """Merge one fault's figures into bench/results/faults.json (only with EMOPIPE_RECORD_FAULTS=1)."""
    if os.environ.get("EMOPIPE_RECORD_FAULTS") != "1":
        return
    path = REPO_ROOT / "bench" / "results" / "faults.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = {"lost": lost, "duplicates": duplicates, "recovery_s": round(recovery_s, 2), **extra}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


class EventFeed:
    """Produces events to the events topic at a steady rate in a thread; remembers their ids."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        self.topic = topic
        self.ids: list[str] = []
        self._acked: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            subject = SUBJECTS[i % len(SUBJECTS)]
            ev = _event(subject, i // len(SUBJECTS))
            fut = self.producer.send(self.topic, key=subject.encode(), value=encode_event(ev))
            fut.add_callback(lambda _md, eid=ev.event_id: self._acked.append(eid))
            self.ids.append(ev.event_id)
            i += 1
            time.sleep(1 / RATE_HZ)

    def start(self) -> EventFeed:
        self._thread.start()
        return self

    def acked(self) -> list[str]:
        """Ids of the events the broker acknowledged (what the pipeline must not lose)."""
        return list(self._acked)

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(10)
        self.producer.flush()
        self.producer.close()
        return self.ids


def _stored_ids(url: str, prefix: str) -> list[str]:
    client = EventClient(url, prefix=prefix)
    try:
        return [ev.event_id for s in SUBJECTS for ev in client.history(s)]
    finally:
        client.close()


def _wait_all(url: str, prefix: str, expect: set[str], timeout_s: float) -> tuple[list[str], float]:
    """Poll Redis until every expected id is stored; returns (stored ids, time it took)."""
    t0 = time.monotonic()
    stored: list[str] = []
    while time.monotonic() - t0 < timeout_s:
        try:
            stored = _stored_ids(url, prefix)
        except redis.exceptions.ConnectionError:
            stored = []
        if expect <= set(stored):
            break
        time.sleep(0.2)
    return stored, time.monotonic() - t0


@pytest.fixture
def sink_setup(tmp_path: Path, kafka_bootstrap, unique_prefix, start_worker):
    port = free_port()
    env = {**os.environ, "REDIS_PORT": str(port), "REDIS_DATA_DIR": str(tmp_path / "redis")}
    _redis_script("start.sh", env)
    url = f"redis://127.0.0.1:{port}/0"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(f"{unique_prefix}.events", 2, 1)])
    finally:
        admin.close()
    worker = start_worker(
        unique_prefix,
        extra_env={"EMOPIPE_PARTITIONS": "2", "EMOPIPE_STORE": "memory://", "EMOPIPE_REDIS_URL": url},
        args=("--stages", "emit"),
    )
    worker.wait_ready()
    try:
        yield url, env, worker, kafka_bootstrap
    finally:
        _redis_script("stop.sh", env)


def _check(name: str, expect: list[str], stored: list[str], recovery_s: float, **extra: object) -> None:
    lost = len(set(expect) - set(stored))
    duplicates = len(stored) - len(set(stored))
    record_fault(name, lost=lost, duplicates=duplicates, recovery_s=recovery_s, events=len(expect), **extra)
    print(f"{name}: {len(expect)} events, lost {lost}, duplicates {duplicates}, recovery {recovery_s:.2f} s")
    assert (lost, duplicates) == (0, 0)
    assert set(stored) == set(expect)


def test_redis_restart_loses_nothing(sink_setup, unique_prefix):
    url, env, worker, bootstrap = sink_setup
    feed = EventFeed(bootstrap, f"{unique_prefix}.events")
    feed.start()
    time.sleep(3)
    _redis_script("stop.sh", env)  # SIGTERM: Redis writes its AOF and exits; events keep coming into Kafka
    down_s = 5.0
    time.sleep(down_s)
    _redis_script("start.sh", env)
    restarted = time.monotonic()
    time.sleep(2)
    expect = feed.stop()
    stored, _ = _wait_all(url, unique_prefix, set(expect), 60)
    recovery_s = time.monotonic() - restarted  # from the restart to every event in Redis (feed ran 2 s more)
    assert worker.proc.poll() is None, "the emit worker died while Redis was down"
    _check("redis_restart", expect, stored, recovery_s, down_s=down_s)


def test_slow_redis_loses_nothing(sink_setup, unique_prefix):
    url, _env, worker, bootstrap = sink_setup
    feed = EventFeed(bootstrap, f"{unique_prefix}.events")
    feed.start()
    r = redis.Redis.from_url(url)
    slow_s = 0.0
    for _ in range(4):  # every write blocks for 1.5 s, four times in a row: a sink far slower than the input
        time.sleep(0.5)
        r.client_pause(1500, all=False)
        time.sleep(1.5)
        slow_s += 1.5
    ended = time.monotonic()
    expect = feed.stop()
    stored, _ = _wait_all(url, unique_prefix, set(expect), 60)
    recovery_s = time.monotonic() - ended
    assert worker.proc.poll() is None
    _check("slow_sink", expect, stored, recovery_s, paused_s=slow_s)


@pytest.mark.slow  # ~2 min on 2 cores: two broker starts and the consumer group's rejoin
def test_broker_restart_loses_nothing(tmp_path: Path, unique_prefix, start_worker, redis_url):
    """A private broker (deploy/kafka/start.sh) is stopped for 10 s and started again under the feed."""
    from tests.integration.conftest import DEPLOY

    port = free_port()
    env = {**os.environ, "KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(free_port()),
           "KAFKA_DATA_DIR": str(tmp_path / "kafka")}  # fmt: skip
    kafka = [str(DEPLOY / "kafka" / "start.sh")], [str(DEPLOY / "kafka" / "stop.sh")]
    subprocess.run(["bash", *kafka[0]], env=env, check=True, capture_output=True, timeout=120)
    bootstrap = f"127.0.0.1:{port}"
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            admin.create_topics([NewTopic(f"{unique_prefix}.events", 2, 1)])
        finally:
            admin.close()
        worker = start_worker(
            unique_prefix,
            extra_env={"EMOPIPE_PARTITIONS": "2", "EMOPIPE_STORE": "memory://", "EMOPIPE_KAFKA_BOOTSTRAP": bootstrap},
            args=("--stages", "emit"),
        )
        worker.wait_ready()
        feed = EventFeed(bootstrap, f"{unique_prefix}.events").start()
        time.sleep(3)
        subprocess.run(["bash", *kafka[1]], env=env, check=True, capture_output=True, timeout=60)
        down_s = 10.0
        time.sleep(down_s)
        subprocess.run(["bash", *kafka[0]], env=env, check=True, capture_output=True, timeout=120)
        restarted = time.monotonic()
        time.sleep(2)
        feed.stop()
        expect = feed.acked()
        stored, _ = _wait_all(redis_url, unique_prefix, set(expect), 90)
        recovery_s = time.monotonic() - restarted
        assert worker.proc.poll() is None, "the worker died while the broker was down"
        _check("broker_restart", expect, stored, recovery_s, down_s=down_s, produced=len(feed.ids))
    finally:
        subprocess.run(["bash", *kafka[1]], env=env, check=False, capture_output=True, timeout=60)
