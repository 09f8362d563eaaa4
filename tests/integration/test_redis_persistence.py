"""Redis history survives a restart (AOF, deploy/redis/start.sh) and is rebuilt from Kafka after a wipe.

Events go to a real events topic; a real ``emopipe worker --stages emit`` mirrors them into a private
redis-server started with the project's scripts. Redis is stopped and started again (history must be
complete thanks to the append-only file), then wiped (FLUSHALL) and rebuilt with ``emopipe
rebuild-redis``: history complete again, per-subject order kept, and a second rebuild writes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from agents.client import EventClient
from agents.connections import free_port
from deploy.settings import REPO_ROOT
from pipeline.events import EmotionEvent, ModalityStatus, encode_event
from tests.integration.conftest import DEPLOY

N_PER_SUBJECT = 40
SUBJECTS = ("S02", "S03", "S07")


def _event(subject: str, i: int) -> EmotionEvent:
    p = round(0.05 + 0.9 * ((i * 7) % 10) / 10, 6)
    end_s = 1_700_000_000 + 60 + 5 * i
    return EmotionEvent(
        subject_id=subject,
        session_id="s1",
        window_start_ns=(end_s - 60) * 10**9,
        window_end_ns=end_s * 10**9,
        label="stress" if p >= 0.5 else "non_stress",
        probabilities={"non_stress": round(1 - p, 6), "stress": p},
        modalities={"eda": ModalityStatus(True, 0.9)},
        model_name="stress_binary",
        model_version="1",
        latency_ns={"window_close_ns": 1, "inference_done_ns": 2, "published_ns": 3},
    )


def _redis_script(name: str, env: dict[str, str]) -> None:
    subprocess.run(["bash", str(DEPLOY / "redis" / name)], env=env, check=True, capture_output=True, timeout=60)


def _history(url: str, prefix: str) -> dict[str, list[str]]:
    client = EventClient(url, prefix=prefix)
    try:
        return {s: [ev.event_id for ev in client.history(s)] for s in SUBJECTS}
    finally:
        client.close()


def _wait_history(url: str, prefix: str, expect: dict[str, list[str]], timeout_s: float) -> dict[str, list[str]]:
    deadline = time.monotonic() + timeout_s
    got: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        got = _history(url, prefix)
        if all(len(got[s]) >= len(expect[s]) for s in SUBJECTS):
            return got
        time.sleep(0.3)
    return got


def _rebuild(kafka_bootstrap: str, url: str, prefix: str, *args: str) -> str:
    env = {**os.environ, "EMOPIPE_KAFKA_BOOTSTRAP": kafka_bootstrap, "EMOPIPE_REDIS_URL": url,
           "EMOPIPE_TOPIC_PREFIX": prefix}  # fmt: skip
    res = subprocess.run(
        [sys.executable, "-m", "agents.cli", "rebuild-redis", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stderr


@pytest.fixture
def private_redis(tmp_path: Path):
    """A redis-server of its own (it gets restarted and wiped), started by deploy/redis/start.sh."""
    port = free_port()
    env = {**os.environ, "REDIS_PORT": str(port), "REDIS_DATA_DIR": str(tmp_path / "redis")}
    _redis_script("start.sh", env)
    try:
        yield f"redis://127.0.0.1:{port}/0", env
    finally:
        _redis_script("stop.sh", env)


def test_history_survives_restart_and_is_rebuilt_after_wipe(
    kafka_bootstrap, unique_prefix, start_worker, private_redis
):
    url, redis_env = private_redis
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(f"{unique_prefix}.events", 2, 1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    expect: dict[str, list[str]] = {s: [] for s in SUBJECTS}
    for i in range(N_PER_SUBJECT):
        for s in SUBJECTS:
            ev = _event(s, i)
            producer.send(f"{unique_prefix}.events", key=s.encode(), value=encode_event(ev))
            expect[s].append(ev.event_id)
    producer.flush()
    producer.close()

    worker = start_worker(
        unique_prefix,
        extra_env={"EMOPIPE_PARTITIONS": "2", "EMOPIPE_STORE": "memory://", "EMOPIPE_REDIS_URL": url},
        args=("--stages", "emit"),
    )
    worker.wait_ready()
    assert _wait_history(url, unique_prefix, expect, 90) == expect, "the emit stage did not mirror every event"
    worker.stop()

    # (a) restart with the project's scripts: the append-only file brings the history back
    _redis_script("stop.sh", redis_env)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(url).ping()
    _redis_script("start.sh", redis_env)
    assert (Path(redis_env["REDIS_DATA_DIR"]) / "appendonlydir").is_dir()
    assert _history(url, unique_prefix) == expect, "history lost across a Redis restart"

    # (b) wipe, then rebuild from the events topic
    redis.Redis.from_url(url).flushall()
    assert _history(url, unique_prefix) == {s: [] for s in SUBJECTS}
    out = _rebuild(kafka_bootstrap, url, unique_prefix, "--since", "all", "--subject", "S03")
    assert f"wrote {N_PER_SUBJECT}," in out, out
    got = _history(url, unique_prefix)
    assert got["S03"] == expect["S03"] and got["S02"] == [] and got["S07"] == []
    out = _rebuild(kafka_bootstrap, url, unique_prefix)  # everything, S03 already there
    total = N_PER_SUBJECT * len(SUBJECTS)
    assert f"read {total} events" in out and f"wrote {total - N_PER_SUBJECT}," in out, out
    assert f"{N_PER_SUBJECT} already in Redis" in out, out
    assert _history(url, unique_prefix) == expect, "rebuild-redis did not restore the history in order"
    latest = EventClient(url, prefix=unique_prefix).latest("S07")
    assert latest is not None and latest.event_id == expect["S07"][-1]
    out = _rebuild(kafka_bootstrap, url, unique_prefix)  # idempotent: a second run writes nothing
    assert "wrote 0," in out and f"{total} already in Redis" in out, out
    assert _history(url, unique_prefix) == expect
    # --since in the future: nothing to replay
    assert "read 0 events" in _rebuild(kafka_bootstrap, url, unique_prefix, "--since", "2999-01-01T00:00:00+00:00")
