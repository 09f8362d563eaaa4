"""Credentials end to end: Kafka SASL/SCRAM-SHA-512 over TLS and Redis ACL users over TLS.

Starts its own broker (``KAFKA_SECURE=1 deploy/kafka/start.sh``) and Redis (``REDIS_SECURE=1
deploy/redis/start.sh``) on free ports, runs a real worker and a short real replay with the
credentials from ``EMOPIPE_*`` settings, and checks that:

- the events arrive in Redis (one per window, as offline);
- a client without credentials, or with a wrong password, is refused by Kafka and by Redis
  (and the broker's log says it refused the authentication, so the refusal is not a network fault);
- the passwords appear nowhere: worker log, broker and Redis logs, ``--help``, settings repr,
  dead letters, the CLI's error message.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from agents.client import EventClient
from agents.connections import free_port, kafka_client_kwargs, sync_redis
from agents.offline import offline_events
from agents.producer import ChunkProducer
from agents.topics import ensure_topics
from deploy.settings import REPO_ROOT, Settings
from models.heads import load_heads
from tests.integration.test_e2e import _chunks, _wait_events

DEPLOY = REPO_ROOT / "deploy"


@dataclass(frozen=True)
class SecureServices:
    kafka_port: int
    redis_port: int
    kafka_dir: Path
    redis_dir: Path
    kafka_password: str
    redis_password: str

    def env(self, *, kafka_password: str | None = None, redis_password: str | None = None) -> dict[str, str]:
        """EMOPIPE_* settings of a client with these credentials (the right ones by default)."""
        return {
            "EMOPIPE_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.kafka_port}",
            "EMOPIPE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "EMOPIPE_KAFKA_SASL_USERNAME": "emopipe",
            "EMOPIPE_KAFKA_SASL_PASSWORD": kafka_password or self.kafka_password,
            "EMOPIPE_KAFKA_SSL_CAFILE": str(self.kafka_dir / "tls" / "ca.crt"),
            "EMOPIPE_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "EMOPIPE_REDIS_TLS": "true",
            "EMOPIPE_REDIS_SSL_CAFILE": str(self.redis_dir / "tls" / "ca.crt"),
            "EMOPIPE_REDIS_USERNAME": "emopipe",
            "EMOPIPE_REDIS_PASSWORD": redis_password or self.redis_password,
        }

    def settings(self, prefix: str, **kw: str) -> Settings:
        fields = {k.removeprefix("EMOPIPE_").lower(): v for k, v in self.env(**kw).items()}
        return Settings(**fields, topic_prefix=prefix, app_id=prefix, partitions=2)  # type: ignore[arg-type]

    def secrets(self) -> list[str]:
        return [self.kafka_password, self.redis_password]


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureServices]:
    root = tmp_path_factory.mktemp("secure")
    svc = SecureServices(
        kafka_port=free_port(),
        redis_port=free_port(),
        kafka_dir=root / "kafka",
        redis_dir=root / "redis",
        kafka_password=f"kpw-{secrets.token_hex(12)}",
        redis_password=f"rpw-{secrets.token_hex(12)}",
    )
    kenv = {
        **os.environ,
        "KAFKA_SECURE": "1",
        "KAFKA_PORT": str(svc.kafka_port),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "KAFKA_DATA_DIR": str(svc.kafka_dir),
        "KAFKA_CLIENT_USER": "emopipe",
        "KAFKA_CLIENT_PASSWORD": svc.kafka_password,
    }
    renv = {
        **os.environ,
        "REDIS_SECURE": "1",
        "REDIS_PORT": str(svc.redis_port),
        "REDIS_DATA_DIR": str(svc.redis_dir),
        "REDIS_CLIENT_USER": "emopipe",
        "REDIS_CLIENT_PASSWORD": svc.redis_password,
    }
    started: list[tuple[str, dict[str, str]]] = []
    try:
        for name, env in (("kafka", kenv), ("redis", renv)):
            out = subprocess.run(["bash", str(DEPLOY / name / "start.sh")], env=env, capture_output=True, text=True)
            started.append((name, env))
            assert out.returncode == 0, f"secure {name} did not start:\n{out.stderr[-3000:]}"
            for s in svc.secrets():
                assert s not in out.stdout + out.stderr, f"{name}/start.sh printed a secret"
        yield svc
    finally:
        for name, env in started:
            subprocess.run(["bash", str(DEPLOY / name / "stop.sh")], env=env, check=False, capture_output=True)


def test_settings_never_show_secrets(secure: SecureServices) -> None:
    s = secure.settings("tshow")
    for text in (repr(s), str(s), s.model_dump_json()):
        for secret in secure.secrets():
            assert secret not in text
    env = {**os.environ, **secure.env()}
    for argv in (["--help"], ["worker", "--help"], ["subscribe", "--help"], ["replay", "--help"]):
        out = subprocess.run(
            [sys.executable, "-m", "agents.cli", *argv], cwd=REPO_ROOT, env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        for secret in secure.secrets():
            assert secret not in out.stdout + out.stderr, argv


def test_kafka_refuses_missing_or_wrong_credentials(secure: SecureServices, unique_prefix: str) -> None:
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    log = secure.kafka_dir / "kafka.log"
    # the right credentials work
    admin = KafkaAdminClient(**kafka_client_kwargs(secure.settings(unique_prefix)), bootstrap_timeout_ms=20000)
    assert isinstance(admin.list_topics(), list)
    admin.close()
    before = log.read_text(errors="replace").count("Failed authentication")
    wrong = kafka_client_kwargs(secure.settings(unique_prefix, kafka_password="not-the-password"))
    none = {"bootstrap_servers": f"127.0.0.1:{secure.kafka_port}"}  # plain text, no credentials
    for kwargs in (wrong, none):
        with pytest.raises(KafkaError):
            KafkaAdminClient(**kwargs, bootstrap_timeout_ms=4000).list_topics()
    # the broker itself refused both (not a timeout on the network): one line per attempt, at least
    text = log.read_text(errors="replace")
    assert text.count("Failed authentication") >= before + 2, text[-3000:]
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in text
    assert "SSL handshake failed" in text
    for secret in secure.secrets():
        assert secret not in text


def test_redis_refuses_missing_or_wrong_credentials(secure: SecureServices) -> None:
    ok = sync_redis(secure.settings("tr"))
    assert ok.ping()
    with pytest.raises(redis.exceptions.NoPermissionError):
        ok.config_get("*")  # the worker user has no admin commands
    ok.close()
    with pytest.raises(redis.exceptions.AuthenticationError):
        sync_redis(secure.settings("tr", redis_password="not-the-password")).ping()
    ca = str(secure.redis_dir / "tls" / "ca.crt")
    with pytest.raises(redis.exceptions.AuthenticationError):  # TLS but no user: the default user is off
        redis.Redis.from_url(f"rediss://127.0.0.1:{secure.redis_port}/0", ssl_ca_certs=ca).ping()
    with pytest.raises(redis.exceptions.ConnectionError):  # plain text on the TLS port
        redis.Redis.from_url(f"redis://127.0.0.1:{secure.redis_port}/0", socket_timeout=5).ping()


def test_cli_reports_refused_redis_credentials_without_secret(secure: SecureServices) -> None:
    env = {**os.environ, **secure.env(redis_password="wrong-password-xyz")}
    out = subprocess.run(
        [sys.executable, "-m", "agents.cli", "subscribe", "--latest", "--subject", "S02"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "refused the credentials" in out.stderr
    assert "Traceback" not in out.stderr
    assert "wrong-password-xyz" not in out.stderr + out.stdout


def test_pipeline_with_credentials(secure, shared_data, unique_prefix, tmp_path) -> None:
    settings = secure.settings(unique_prefix)
    chunks = _chunks(shared_data, "S02", minutes=3)
    heads, plan = load_heads(Settings().model_dir, Settings().head_names)
    expected = [e for e in offline_events(heads, chunks, plan=plan) if e.kind == "fused"]
    assert len(expected) >= 20
    ensure_topics(settings)
    env = {
        **os.environ,
        **secure.env(),
        "EMOPIPE_TOPIC_PREFIX": unique_prefix,
        "EMOPIPE_APP_ID": unique_prefix,
        "EMOPIPE_PARTITIONS": "2",
        "EMOPIPE_STATE_DIR": str(tmp_path / "state"),
        "EMOPIPE_WEB_PORT": "0",
        "EMOPIPE_LOG_LEVEL": "DEBUG",  # the most talkative level must not print a secret either
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "worker"], cwd=REPO_ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "Ready" not in log_path.read_text(errors="replace"):
            assert proc.poll() is None, f"worker exited:\n{log_path.read_text(errors='replace')[-4000:]}"
            assert time.monotonic() < deadline, f"worker not ready:\n{log_path.read_text(errors='replace')[-4000:]}"
            time.sleep(0.3)
        with ChunkProducer(settings.kafka_bootstrap, settings=settings) as producer:
            for c in chunks:
                producer.send(c)
        # one malformed message: its dead letter must carry the reason and payload, no secret
        from kafka import KafkaProducer

        bad = KafkaProducer(**kafka_client_kwargs(settings), acks="all")
        bad.send(settings.raw_topic("eda"), key=b"S99", value=b'{"not": "a chunk"}').get(30)
        bad.close()
        client = EventClient.from_settings(settings)
        events = _wait_events(client, "S02", len(expected), timeout_s=150)
        assert [e.window_end_ns for e in events] == [e.window_end_ns for e in expected], "one event per window"
        assert [e.label for e in events] == [e.label for e in expected]
        client.close()
        letters = _read_topic(settings, settings.topic("dlq"), expect=1)
        assert len(letters) == 1 and json.loads(letters[0])["reason"]
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    worker_log = log_path.read_text(errors="replace")
    assert "Crashed" not in worker_log
    everything = [worker_log, *(x.decode(errors="replace") for x in letters)]
    everything += [
        p.read_text(errors="replace") for p in (secure.kafka_dir / "kafka.log", secure.redis_dir / "redis.log")
    ]
    for text in everything:
        for secret in secure.secrets():
            assert secret not in text


def _read_topic(settings: Settings, topic: str, *, expect: int, timeout_s: float = 30.0) -> list[bytes]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**kafka_client_kwargs(settings), enable_auto_commit=False, consumer_timeout_ms=500)
    out: list[bytes] = []
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(out) < expect:
            for records in consumer.poll(timeout_ms=300).values():
                out.extend(r.value for r in records)
        end = time.monotonic() + 1.0  # surplus records would show up now
        while time.monotonic() < end:
            for records in consumer.poll(timeout_ms=300).values():
                out.extend(r.value for r in records)
    finally:
        consumer.close()
    return out
