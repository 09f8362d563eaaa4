"""Real services for integration tests: Kafka 4.x and redis-server started by deploy/.

`bash run.sh test` starts both and exports EMOPIPE_KAFKA_BOOTSTRAP / EMOPIPE_REDIS_URL; when they
are not set (plain `pytest tests/integration`), the fixtures start private instances on free ports
with deploy/kafka/start.sh and deploy/redis/start.sh and stop them at the end of the session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agents.connections import free_port
from deploy.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a real Kafka 4.x broker (KRaft, single node)."""
    env_value = os.environ.get("EMOPIPE_KAFKA_BOOTSTRAP")
    if env_value:
        yield env_value
        return
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "KAFKA_DATA_DIR": str(tmp_path_factory.mktemp("kafka")),
    }
    subprocess.run(["bash", str(DEPLOY / "kafka" / "start.sh")], env=env, check=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run(["bash", str(DEPLOY / "kafka" / "stop.sh")], env=env, check=False)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real redis-server."""
    env_value = os.environ.get("EMOPIPE_REDIS_URL")
    if env_value:
        yield env_value
        return
    port = free_port()
    env = {**os.environ, "REDIS_PORT": str(port), "REDIS_DATA_DIR": str(tmp_path_factory.mktemp("redis"))}
    subprocess.run(["bash", str(DEPLOY / "redis" / "start.sh")], env=env, check=True)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        subprocess.run(["bash", str(DEPLOY / "redis" / "stop.sh")], env=env, check=False)


@pytest.fixture
def unique_prefix() -> str:
    """A topic prefix / app id no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"


class WorkerProcess:
    """A real `emopipe worker` subprocess with its log file."""

    def __init__(self, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"worker exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            if "Ready" in self.log():
                return
            time.sleep(0.2)
        pytest.fail(f"worker not ready after {timeout_s} s:\n{self.log()[-4000:]}")

    def stop(self, sig: int = 15, timeout_s: float = 30.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def start_worker(tmp_path: Path, kafka_bootstrap: str, redis_url: str) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory: start real `emopipe worker` processes; all are stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(prefix: str, *, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> WorkerProcess:
        n = len(started)
        env = {
            **os.environ,
            "EMOPIPE_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "EMOPIPE_REDIS_URL": redis_url,
            "EMOPIPE_TOPIC_PREFIX": prefix,
            "EMOPIPE_APP_ID": prefix,
            "EMOPIPE_STATE_DIR": str(tmp_path / f"state{n}"),
            "EMOPIPE_WEB_PORT": "0",
            **(extra_env or {}),
        }
        log_path = tmp_path / f"worker{n}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "agents.cli", "worker", *args],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        w = WorkerProcess(proc, log_path)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
