"""The Helm chart (deploy/helm/emopipe): rendered with `helm template` for three value sets, validated with
kubeconform against Kubernetes schemas from PyPI's kubernetes-validate (plus hand-written KEDA schemas), the
Strimzi resources bound to Strimzi's own Java model (io.strimzi:api), and kept in step with the code:
every topic of agents/topics.py with its partitions, settings names, ports, partitions bounding the workers.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from agents.dlq import DLQ_MAX_MESSAGE_BYTES
from agents.topics import DLQ_RETENTION_MS, PREVIEW_RETENTION_MS, RAW_RETENTION_MS, STATE_TABLES, topic_specs
from deploy.settings import Settings
from pipeline.contract import MODALITIES
from tests.deploy.conftest import CHART, DEPLOY, STRIMZI_JARS, TOOLS_PY, tool

K8S_VERSION = "1.33.0"
VALUE_SETS: dict[str, list[str]] = {
    # Strimzi Kafka with SCRAM-SHA-512 + TLS, KEDA, Redis with ACL users, NetworkPolicies, dashboard
    "default": [],
    # an existing broker and Redis over TLS, fixed replicas, no KEDA
    "external": [
        "kafka.strimzi=false", "kafka.external.bootstrap=kafka-0.edge:9093\\,kafka-1.edge:9093",
        "kafka.external.username=emopipe", "kafka.external.passwordSecret.name=kafka-creds",
        "kafka.external.caSecret.name=kafka-ca", "keda.enabled=false", "worker.replicas=3",
        "redis.tls.enabled=true", "redis.tls.secretName=redis-tls", "dashboard.enabled=false",
    ],
    # a bigger cluster: 3 Kafka nodes, replication 3, 12 partitions, up to 12 workers, exactly-once
    "big": [
        "kafka.replicas=3", "settings.replicationFactor=3", "settings.partitions=12", "keda.maxReplicas=12",
        "settings.processingGuarantee=exactly_once", "settings.topicPrefix=edge", "settings.appId=edge-app",
        "networkPolicy.enabled=false",
    ],
}  # fmt: skip


def render(sets: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    args = [tool("helm"), "template", "t", str(CHART), "--kube-version", K8S_VERSION, "--namespace", "edge"]
    for s in sets:
        args += ["--set", s]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if check:
        assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, tuple[Path, list[dict]]]:
    out = {}
    d = tmp_path_factory.mktemp("rendered")
    for name, sets in VALUE_SETS.items():
        text = render(sets).stdout
        path = d / f"{name}.yaml"
        path.write_text(text)
        out[name] = (path, [doc for doc in yaml.safe_load_all(text) if doc])
    return out


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory, rendered) -> Path:
    """Standalone kubeconform schemas for the kinds the chart renders (kubernetes-validate) + the KEDA ones."""
    stems = set()
    for _, docs in rendered.values():
        for doc in docs:
            group, _, version = doc["apiVersion"].rpartition("/")
            if group.endswith("strimzi.io") or group == "keda.sh":
                continue
            stems.add("-".join(x for x in (doc["kind"].lower(), group.split(".")[0], version) if x))
    d = tmp_path_factory.mktemp("schemas")
    if not TOOLS_PY.exists():
        pytest.fail("kubernetes-validate not installed: run `bash deploy/tools.sh`", pytrace=False)
    out = subprocess.run(
        [str(TOOLS_PY), str(DEPLOY / "helm" / "kube_schemas.py"), "--k8s-version", K8S_VERSION, "--out", str(d),
         *sorted(stems)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for f in (DEPLOY / "helm" / "schemas").glob("*.json"):
        (d / f"v{K8S_VERSION}" / f.name).write_text(f.read_text())
    return d


LOCATION = "{{ .NormalizedKubernetesVersion }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"


def kubeconform(path: Path, schema_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("kubeconform"), "-strict", "-summary", "-kubernetes-version", K8S_VERSION,
         "-schema-location", f"{schema_dir}/{LOCATION}",
         "-skip", "Kafka,KafkaNodePool,KafkaTopic,KafkaUser", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.parametrize("name", list(VALUE_SETS))
def test_kubeconform_validates_every_resource(rendered, schema_dir, name) -> None:
    path, docs = rendered[name]
    out = kubeconform(path, schema_dir)
    assert out.returncode == 0, out.stdout + out.stderr
    n_strimzi = sum(d["apiVersion"].startswith("kafka.strimzi.io/") for d in docs)
    assert f"Valid: {len(docs) - n_strimzi}, Invalid: 0, Errors: 0" in out.stdout, out.stdout


def test_kubeconform_catches_a_wrong_field(rendered, schema_dir, tmp_path) -> None:
    _, docs = rendered["default"]
    worker = next(d for d in by_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-worker"))
    worker["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {"path": "/health"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(worker))
    out = kubeconform(bad, schema_dir)
    assert out.returncode == 1 and "httpGett" in out.stdout


@pytest.mark.parametrize("name", ["default", "big"])
def test_strimzi_resources_match_strimzis_model(rendered, name) -> None:
    if not (STRIMZI_JARS / ".complete").exists():
        pytest.fail("Strimzi API jars missing: run `bash deploy/tools.sh`", pytrace=False)
    path, docs = rendered[name]
    out = subprocess.run(
        ["java", "-cp", f"{STRIMZI_JARS}/*", str(DEPLOY / "helm" / "strimzi-check" / "StrimziCheck.java"), str(path)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    n = sum(d["apiVersion"].startswith("kafka.strimzi.io/") for d in docs)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"strimzi-check: {n} resources valid, 0 problems" in out.stdout


def test_values_match_the_code() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert tuple(values["modalities"]) == MODALITIES
    assert tuple(values["stateTables"]) == STATE_TABLES
    assert values["retention"] == {
        "rawMs": RAW_RETENTION_MS, "dlqMs": DLQ_RETENTION_MS, "dlqMaxMessageBytes": DLQ_MAX_MESSAGE_BYTES,
        "previewsMs": PREVIEW_RETENTION_MS,
    }  # fmt: skip
    assert values["worker"]["webPort"] == Settings.model_fields["web_port"].default
    assert values["settings"]["partitions"] == Settings.model_fields["partitions"].default


@pytest.mark.parametrize("name", ["default", "big"])
def test_a_kafka_topic_for_every_topic_spec(rendered, name) -> None:
    _, docs = rendered[name]
    cm = by_kind(docs, "ConfigMap")[0]["data"]
    settings = Settings(
        topic_prefix=cm["EMOPIPE_TOPIC_PREFIX"], app_id=cm["EMOPIPE_APP_ID"], partitions=int(cm["EMOPIPE_PARTITIONS"])
    )
    want = {s.name: (s.partitions, s.config) for s in topic_specs(settings)}
    got = {t["spec"]["topicName"]: (t["spec"]["partitions"], t["spec"]["config"]) for t in by_kind(docs, "KafkaTopic")}
    assert got == want
    rf = int(cm["EMOPIPE_REPLICATION_FACTOR"])
    assert {t["spec"]["replicas"] for t in by_kind(docs, "KafkaTopic")} == {rf}


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["keda.enabled=false", "worker.replicas=5"], "worker.replicas (5) must be <= settings.partitions (4)"),
        (["keda.maxReplicas=6"], "keda.maxReplicas (6) must be <= settings.partitions (4)"),
        (["settings.replicationFactor=3"], "settings.replicationFactor must be <= kafka.replicas"),
        (["kafka.strimzi=false"], "kafka.external.bootstrap is required"),
    ],
)
def test_the_chart_refuses_impossible_values(sets, message) -> None:
    out = render(sets, check=False)
    assert out.returncode != 0 and message in out.stderr, out.stderr


@pytest.mark.parametrize("name", list(VALUE_SETS))
def test_workers_settings_probes_and_secrets(rendered, settings_fields, name) -> None:
    _, docs = rendered[name]
    cm = by_kind(docs, "ConfigMap")[0]["data"]
    assert set(cm) <= settings_fields, set(cm) - settings_fields
    assert not any("PASSWORD" in k for k in cm), "no secret in the ConfigMap"
    Settings(**{k.removeprefix("EMOPIPE_").lower(): v for k, v in cm.items()}, kafka_sasl_password="x")  # parses
    worker = next(d for d in by_kind(docs, "Deployment") if d["metadata"]["name"].endswith("-worker"))
    pod = worker["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/health" and c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert c["ports"][0]["containerPort"] == int(cm["EMOPIPE_WEB_PORT"]) == Settings.model_fields["web_port"].default
    assert c["resources"]["requests"] and c["resources"]["limits"]
    env = {e["name"]: e for e in c["env"]}
    assert set(env) <= settings_fields
    for key in ("EMOPIPE_KAFKA_SASL_PASSWORD", "EMOPIPE_REDIS_PASSWORD"):
        if key in env:
            assert "secretKeyRef" in env[key]["valueFrom"], f"{key} comes from a Secret"
    assert pod["securityContext"]["runAsNonRoot"] is True
    labels = worker["metadata"]["labels"]
    assert {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"} <= set(labels)
    assert by_kind(docs, "PodDisruptionBudget")
    p = int(cm["EMOPIPE_PARTITIONS"])
    scaled = by_kind(docs, "ScaledObject")
    if scaled:
        assert "replicas" not in worker["spec"], "KEDA owns the replica count"
        assert scaled[0]["spec"]["maxReplicaCount"] <= p
        assert scaled[0]["spec"]["triggers"][0]["type"] == "kafka"
    else:
        assert worker["spec"]["replicas"] <= p


def test_network_policy_lets_workers_reach_only_kafka_redis_and_dns(rendered) -> None:
    _, docs = rendered["default"]
    policies = {d["metadata"]["name"]: d["spec"] for d in by_kind(docs, "NetworkPolicy")}
    worker = policies["t-emopipe-worker"]
    assert worker["policyTypes"] == ["Ingress", "Egress"]
    targets = [(r["to"][0], [p["port"] for p in r["ports"]]) for r in worker["egress"]]
    assert targets[0][0]["podSelector"]["matchLabels"]["strimzi.io/cluster"] == "emopipe-kafka"
    assert targets[0][1] == [9093]
    assert targets[1][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "redis"
    assert targets[1][1] == [6379]
    assert targets[2][1] == [53, 53] and len(targets) == 3
    redis = policies["t-emopipe-redis"]
    allowed = {f["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for f in redis["ingress"][0]["from"]}
    assert allowed == {"worker", "dashboard"}
    kafka = by_kind(docs, "Kafka")[0]["spec"]["kafka"]["listeners"][0]
    assert kafka["authentication"]["type"] == "scram-sha-512" and kafka["tls"] is True
    assert kafka["networkPolicyPeers"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "worker"
    user = by_kind(docs, "KafkaUser")[0]["spec"]
    assert user["authentication"]["type"] == "scram-sha-512"
