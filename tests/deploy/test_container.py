"""The image (deploy/docker/Dockerfile) and the one-box compose file, checked statically and against the scripts."""

from __future__ import annotations

import json
import re
import subprocess

import yaml

from deploy.settings import Settings
from tests.deploy.conftest import DEPLOY, tool

DOCKER = DEPLOY / "docker"


def _default_port(script: str, var: str) -> int:
    text = (DEPLOY / script).read_text()
    m = re.search(r"\$\{" + var + r":-(\d+)\}", text)
    assert m, f"no default for {var} in {script}"
    return int(m.group(1))


def _compose(*env: str) -> dict:
    args = [tool("composecheck")]
    for e in env:
        args += ["-env", e]
    out = subprocess.run([*args, str(DOCKER / "compose.yaml")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_hadolint_passes() -> None:
    out = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKER / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install curl\nUSER root\n")
    out = subprocess.run([tool("hadolint"), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "DL3006" in out.stdout  # untagged base image: the linter really runs


def test_dockerfile_matches_the_scripts(settings_fields) -> None:
    text = (DOCKER / "Dockerfile").read_text()
    for name in set(re.findall(r"\bEMOPIPE_[A-Z_]+", text)):
        assert name in settings_fields, f"Dockerfile sets {name}, which is no deploy/settings.py field"
    web_port = Settings.model_fields["web_port"].default
    assert f"EXPOSE {web_port}" in text and f"EMOPIPE_WEB_PORT={web_port}" in text
    assert re.search(r"^USER 10001", text, re.M), "runs as the unprivileged user"
    assert "HEALTHCHECK" in text and "healthcheck.py" in text
    assert "download.pytorch.org/whl/cpu" in text, "CPU-only torch"
    assert (DOCKER / "healthcheck.py").read_text().count('"/health"') == 1


def test_compose_config_parses_and_validates() -> None:
    project = _compose()
    assert set(project["services"]) == {"kafka", "redis", "worker", "dashboard"}
    assert project["services"]["worker"]["deploy"]["replicas"] == 2
    assert _compose("WORKERS=3")["services"]["worker"]["deploy"]["replicas"] == 3


def test_compose_rejects_a_broken_file(tmp_path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  w:\n    image: x\n    deploy:\n      replicas: many\n")
    out = subprocess.run([tool("composecheck"), str(bad)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "invalid compose file" in out.stderr


def test_compose_matches_the_scripts(settings_fields) -> None:
    project = _compose()
    services = project["services"]
    kafka_port = _default_port("kafka/start.sh", "KAFKA_PORT")
    redis_port = _default_port("redis/start.sh", "REDIS_PORT")
    web_port = Settings.model_fields["web_port"].default
    assert [p["target"] for p in services["kafka"]["ports"]] == [kafka_port]
    assert [p["target"] for p in services["redis"]["ports"]] == [redis_port]
    assert services["redis"]["command"][:3] == ["redis-server", "--port", str(redis_port)]
    assert f"PLAINTEXT://:{kafka_port}" in services["kafka"]["environment"]["KAFKA_LISTENERS"]
    pom = (DEPLOY / "kafka" / "pom.xml").read_text()
    kafka_version = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom).group(1)
    assert services["kafka"]["image"] == f"apache/kafka:{kafka_version}", "same Kafka as the local scripts"
    for name in ("worker", "dashboard"):
        env = services[name]["environment"]
        for key in env:
            if key.startswith("EMOPIPE_"):
                assert key in settings_fields, f"compose {name} sets {key}, which is no deploy/settings.py field"
        assert env["EMOPIPE_KAFKA_BOOTSTRAP"] == f"kafka:{kafka_port}"
        assert env["EMOPIPE_REDIS_URL"] == f"redis://redis:{redis_port}/0"
    worker = services["worker"]
    assert worker["environment"]["EMOPIPE_WEB_PORT"] == str(web_port)
    assert worker["expose"] == [str(web_port)]
    assert worker["healthcheck"]["test"][-1] == "/health"
    assert json.dumps(services["dashboard"]["ports"]).count("8050") >= 1
