"""Real-time paced load: N simulated E4 subjects against one worker, per level.

Each subject is the real Stress-Predict S02 recording (BVP 64 Hz, EDA 4 Hz, TEMP 4 Hz, ACC 32 Hz)
from its own offset into the recording, with its own subject id and a phase within the second;
every stream sends one 1 s chunk per second when its last sample exists (``t_end``), for
``--duration-s``. A level runs against a fresh consumer group and topic prefix on one broker and
Redis (started by deploy/services.sh on ``KAFKA_PORT``/``REDIS_PORT``), with either

- ``emopipe worker`` (all stages, subprocess ``python -m agents.cli worker``), or
- the bare Faust pass-through agent of ``bench/passthrough.py`` (decode, then send): the ceiling.

Measured over the steady part (after ``--warmup-s``, when 60 s windows are flowing):

- sustained: consumer lag (kafka-python admin ``list_group_offsets`` vs end offsets, all source
  topics of the group) bounded: at the end below ``--max-lag-s`` seconds of input messages, and
  its growth over the second half of the measurement (fitted slope x duration) below that too;
- latency window close -> Redis p50/p99 (event stamps ``window_close_ns`` -> ``redis_write_ns``)
  and event time window end -> Redis (median; includes the chunk's 1 s and the slot wait);
- CPU per subject-second (µs) of the worker, broker, Redis and the producers (``/proc/<pid>/stat``);
- worker RSS at ready and at the end, per subject;
- Kafka bytes written per subject-second per topic (sizes of the broker's ``*.log`` segment files,
  before/after) and ``write_amplification`` = all of the level's topics (changelogs included) /
  its raw topics; also against the encoded chunk payload bytes.

``--workers 1,2`` runs every level once per worker count (N workers in one consumer group, each its own
state directory; CPU and RSS summed over them); ``--scaling-workers 1,2 --scaling-partitions 8`` compares worker
counts after the levels, at the highest sustained level (or 100), reporting ``subjects_per_worker_cpu_s``
(processed subject-seconds per worker CPU-second) and the CPU split worker/broker/Redis/producers.

``--soak-s S`` then paces one level (``--soak-level``, default 70% of the highest sustained, at least 20) for S
seconds, sampling lag and worker RSS every ``--soak-sample-s``: RSS slope (MB/h, second half), lag max and slope,
and, once the lag is 0, the loss check (every subject's fused event ids in Redis, none twice, as many as
:func:`agents.offline.offline_events` gives on the same chunks, compared id by id for the first
``--soak-check-subjects``). Results: bench/results/<soak-out>.json and a BENCHMARKS row.

``--readme-sizing`` (or ``--sizing-from <name>`` alone) rewrites README.md's "Sizing" section from the measured
figures (:func:`sizing`), and bench/results/sizing.json.

Figures are noisy: the 2-core machine is shared (load average recorded per level). Ratios to the
pass-through run in the same invocation are what count.

    .venv/bin/python bench/realtime.py --levels 100,300 --duration-s 150 [--passthrough-levels 300,1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.client import EventClient  # noqa: E402
from agents.commands.demo import start_worker, stop_worker, wait_ready  # noqa: E402
from agents.connections import free_port  # noqa: E402
from agents.sources import read_e4_session  # noqa: E402
from agents.topics import ensure_topics  # noqa: E402
from bench._report import RESULTS_DIR, append_row, write_results  # noqa: E402
from deploy.settings import Settings  # noqa: E402
from pipeline.codec import encode_binary  # noqa: E402
from pipeline.sources.e4 import e4_session_chunks  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
PHASES = 10  # subjects spread over 10 phases of 100 ms within each second
_SIGNALS: dict[str, Any] = {}  # S02, loaded once before the producers fork


def cpu_s(pid: int) -> float:
    """utime + stime of a process, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def log_bytes(kafka_logs: Path) -> dict[str, int]:
    """Bytes in the ``*.log`` segment files per topic (all partitions)."""
    out: dict[str, int] = {}
    for d in kafka_logs.iterdir():
        if not d.is_dir() or "-" not in d.name:
            continue
        topic = d.name.rsplit("-", 1)[0]
        out[topic] = out.get(topic, 0) + sum(f.stat().st_size for f in d.glob("*.log"))
    return out


def subject_chunks(i: int, n_seconds: int, t0_ns: int) -> list[Any]:
    """Subject ``i``: S02 from its own offset, rebased to ``t0_ns`` plus its phase."""
    length_s = min(int(s.samples.shape[1] / s.fs_hz) for s in _SIGNALS.values())
    offset_s = (i * 37) % max(length_s - n_seconds - 2, 1)
    phase_ns = (i % PHASES) * 10**9 // PHASES
    cut = {
        k: dataclasses.replace(
            s,
            t0_ns=t0_ns + phase_ns,
            samples=s.samples[:, int(offset_s * s.fs_hz) : int((offset_s + n_seconds) * s.fs_hz)],
        )
        for k, s in _SIGNALS.items()
    }
    return list(e4_session_chunks(cut, subject_id=f"rt{i:05d}", session_id="rt", chunk_s=1.0))


def producer_proc(subjects: list[int], n_seconds: int, t0_ns: int, bootstrap: str, prefix: str, out: Any) -> None:
    """One producer process: pre-encode its subjects' chunks, then send each at its ``t_end``."""
    from kafka import KafkaProducer

    msgs: list[tuple[int, str, bytes, bytes]] = []
    payload = 0
    for i in subjects:
        for c in subject_chunks(i, n_seconds, t0_ns):
            v = encode_binary(c)
            payload += len(v)
            msgs.append((c.t_end_ns, f"{prefix}.raw.{c.modality}", c.subject_id.encode(), v))
    msgs.sort(key=lambda m: m[0])
    prod = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    c0 = os.times()
    late_s = 0.0
    k = 0
    while k < len(msgs):
        due_ns = msgs[k][0]
        wait = (due_ns - time.time_ns()) / 1e9
        if wait > 0:
            time.sleep(wait)
        else:
            late_s = max(late_s, -wait)
        while k < len(msgs) and msgs[k][0] <= due_ns:
            _, topic, key, value = msgs[k]
            prod.send(topic, key=key, value=value)
            k += 1
    prod.flush()
    c1 = os.times()
    prod.close()
    out.put(
        {
            "cpu_s": c1.user + c1.system - c0.user - c0.system,
            "messages": len(msgs),
            "payload_bytes": payload,
            "max_late_s": round(late_s, 3),
        }
    )


class GroupLag:
    """Consumer lag (messages) per topic of one consumer group: committed vs end offsets.

    The topics are the raw topics given plus every topic of ``prefix`` the group has committed offsets for
    (so the figure follows the stages the worker runs, whatever its intermediate topics are).
    """

    def __init__(self, bootstrap: str, group: str, topics: list[str], prefix: str) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

        self.group = group
        self.prefix = prefix
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self.cons = KafkaConsumer(bootstrap_servers=bootstrap)
        self.tps = {TopicPartition(t, p) for t in topics for p in (self.cons.partitions_for_topic(t) or ())}
        self.committed: dict[str, int] = {}

    def __call__(self) -> dict[str, int]:
        fetch = getattr(self.admin, "list_consumer_group_offsets", None)
        if fetch is not None:  # kafka-python 2.x
            committed = fetch(self.group)
        else:  # kafka-python 3.x
            committed = self.admin.list_group_offsets({self.group: None}).get(self.group, {})
        self.tps |= {tp for tp in committed if tp.topic.startswith(self.prefix)}
        tps = sorted(self.tps)
        ends = self.cons.end_offsets(tps)
        lag: dict[str, int] = {}
        self.committed = {}
        for tp in tps:
            c = committed.get(tp)
            done = c.offset if c is not None and c.offset >= 0 else 0
            lag[tp.topic] = lag.get(tp.topic, 0) + ends[tp] - done
            self.committed[tp.topic] = self.committed.get(tp.topic, 0) + done
        return lag

    def committed_raw(self) -> int:
        """Committed messages of the raw topics at the last call."""
        return sum(v for t, v in self.committed.items() if ".raw." in t)

    def close(self) -> None:
        self.cons.close()
        self.admin.close()


def warm_coordinator(bootstrap: str, timeout_s: float = 60.0) -> None:
    """Wait until a fresh broker serves consumer groups (creates ``__consumer_offsets``); a Faust
    worker started before that can report Ready and never get partitions."""
    from kafka import KafkaConsumer

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        cons = KafkaConsumer(bootstrap_servers=bootstrap, group_id="realtime-warmup", enable_auto_commit=False)
        try:
            cons.subscribe(pattern="^__warmup$")
            cons.poll(timeout_ms=2000)
            if cons._coordinator.coordinator_id is not None:  # kafka-python has no public probe
                return
        finally:
            cons.close()
    msg = f"broker at {bootstrap}: no group coordinator after {timeout_s:.0f} s"
    raise RuntimeError(msg)


def keep_changelogs_uncompacted(bootstrap: str, tag: str) -> list[str]:
    """Stop the log cleaner from compacting this level's changelogs while it runs, so that the bytes on
    disk are the bytes written (a rolled 64 MB segment is otherwise compacted mid-run)."""
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        names = [t for t in admin.list_topics() if t.startswith(f"{tag}-") and t.endswith("-changelog")]
        cfg = {"min.compaction.lag.ms": str(7 * 24 * 3600 * 1000)}
        if names:
            admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t, configs=cfg) for t in names])
        return names
    finally:
        admin.close()


def start_passthrough(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "EMOPIPE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "EMOPIPE_TOPIC_PREFIX": settings.topic_prefix,
        "EMOPIPE_APP_ID": settings.app_id,
        "EMOPIPE_PARTITIONS": str(settings.partitions),
        "EMOPIPE_STATE_DIR": str(settings.state_dir),
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / settings.app_id).mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "passthrough.py"), "worker", "--without-web", "-l", "info"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def pct(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    a = np.asarray(values)
    return {
        "p50": round(float(np.percentile(a, 50)), 1),
        "p99": round(float(np.percentile(a, 99)), 1),
        "n": len(values),
    }


@dataclasses.dataclass(frozen=True)
class Level:
    """One measured run: ``subjects`` paced for ``duration_s`` against ``workers`` processes of ``kind``."""

    kind: str  # "worker" (emopipe, all stages) or "passthrough"
    subjects: int
    duration_s: int
    warmup_s: float
    workers: int = 1
    partitions: int = 4
    sample_s: float = 5.0
    profile: bool = False
    check_subjects: int = 0  # soak: compare this many subjects' events with agents/offline.py


def slope_per_s(samples: list[tuple[float, float]], from_t: float) -> float:
    """Least-squares slope (units per second) of ``(t_s, value)`` samples at ``t_s >= from_t`` (0 if < 3)."""
    half = [(t, v) for t, v in samples if t >= from_t]
    if len(half) < 3:
        return 0.0
    return float(np.polyfit([t for t, _ in half], [v for _, v in half], 1)[0])


def start_procs(
    kind: str, lv: Level, s: Settings, tag: str
) -> tuple[list[subprocess.Popen[bytes]], list[Path], list[int]]:
    """``lv.workers`` processes of ``kind`` in one consumer group, each with its own state directory.

    Workers serve their web endpoints (``/metrics``) on the returned ports (0: none, for the pass-through).
    """
    procs, logs, ports = [], [], []
    for j in range(lv.workers):
        sj = s.model_copy(update={"state_dir": s.state_dir / f"{tag}-w{j}"})
        log = ROOT / ".run" / "logs" / f"bench-realtime-{tag}-w{j}.log"
        port = free_port() if kind == "worker" else 0
        procs.append(start_worker(sj, log, web_port=port) if kind == "worker" else start_passthrough(sj, log))
        logs.append(log)
        ports.append(port)
    return procs, logs, ports


def memory_split(
    rss: list[tuple[float, float]], parts: list[tuple[float, dict[str, float]]], wall_s: float
) -> dict[str, Any]:
    """Where RSS goes over time: RocksDB's shared cache (memtables charged to it), the rest, Python's heap blocks.

    Slopes are over the second half, per hour, like the RSS slope.
    """
    if not parts or len(parts) != len(rss):
        return {}
    cache = [(t, p["rocksdb_cache_mb"]) for t, p in parts]
    rest = [(t, v - c) for (t, v), (_, c) in zip(rss, cache, strict=True)]
    blocks = [(t, p["python_blocks"]) for t, p in parts]
    return {
        "rocksdb_cache_mb_ready_end": (round(cache[0][1], 1), round(cache[-1][1], 1)),
        "rocksdb_memtables_mb_end": round(parts[-1][1]["rocksdb_memtables_mb"], 1),
        "rocksdb_cache_slope_mb_per_h_second_half": round(slope_per_s(cache, wall_s / 2) * 3600, 1),
        "rss_minus_rocksdb_slope_mb_per_h_second_half": round(slope_per_s(rest, wall_s / 2) * 3600, 1),
        "python_blocks_ready_end": (int(blocks[0][1]), int(blocks[-1][1])),
        "python_blocks_slope_per_h_second_half": round(slope_per_s(blocks, wall_s / 2) * 3600),
        "memory_parts_samples": [(round(t, 1), {k: round(v, 1) for k, v in p.items()}) for t, p in parts],
    }


def memory_parts_mb(ports: list[int]) -> dict[str, float]:
    """RocksDB cache and memtable usage (MB) and Python allocated blocks, summed over the workers' /metrics."""
    import urllib.request

    out = {"rocksdb_cache_mb": 0.0, "rocksdb_memtables_mb": 0.0, "python_blocks": 0.0}
    names = {
        'emopipe_state_store_memory_bytes{part="cache"}': ("rocksdb_cache_mb", 1 / 2**20),
        'emopipe_state_store_memory_bytes{part="memtables"}': ("rocksdb_memtables_mb", 1 / 2**20),
        "emopipe_python_allocated_blocks": ("python_blocks", 1.0),
    }
    for port in ports:
        if not port:
            continue
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            name, _, value = line.rpartition(" ")
            if name in names:
                key, scale = names[name]
                out[key] += float(value) * scale
    return out


def fused_by_subject(s: Settings, n: int) -> dict[str, list[Any]]:
    """The fused events of every simulated subject, from its own Redis stream (oldest first)."""
    client = EventClient(s.redis_url, prefix=s.topic_prefix)
    try:
        return {f"rt{i:05d}": client.history(subject=f"rt{i:05d}") for i in range(n)}
    finally:
        client.close()


def loss_check(
    live: dict[str, list[Any]], n_seconds: int, t0_ns: int, check: list[int], base: Settings
) -> dict[str, Any]:
    """Nothing lost, nothing twice: every subject's fused event ids in Redis against what is expected.

    For the subjects in ``check`` the expected ids are those of :func:`agents.offline.offline_events` on the
    very chunks the producers sent (the live path's functions in one process); every other subject must have
    as many events as those (all are the same recording from other offsets, with the same chunk timing), and
    no subject may have an event id twice.
    """
    from agents.offline import offline_events
    from models.heads import load_heads

    heads, plan = load_heads(base.model_dir, base.head_names)
    per_check: dict[str, Any] = {}
    expected_counts = []
    for i in check:
        sid = f"rt{i:05d}"
        want = {e.event_id for e in offline_events(heads, subject_chunks(i, n_seconds, t0_ns), plan=plan)
                if e.kind == "fused"}  # fmt: skip
        got = [e.event_id for e in live[sid]]
        per_check[sid] = {
            "expected": len(want),
            "in_redis": len(got),
            "missing": len(want - set(got)),
            "unexpected": len(set(got) - want),
            "duplicates": len(got) - len(set(got)),
        }
        expected_counts.append(len(want))
    expected = max(expected_counts) if expected_counts else None
    counts = {sid: len(evs) for sid, evs in live.items()}
    dups = {sid: len(evs) - len({e.event_id for e in evs}) for sid, evs in live.items()}
    off = {sid: c for sid, c in counts.items() if expected is not None and c != expected}
    return {
        "offline_reference": per_check,
        "expected_per_subject": expected,
        "subjects": len(live),
        "events_in_redis": sum(counts.values()),
        "events_expected": None if expected is None else expected * len(live),
        "subjects_with_other_count": off,
        "duplicates": sum(dups.values()),
        "lost": None if expected is None else sum(max(0, expected - c) for c in counts.values()),
        "nothing_lost": bool(
            expected is not None
            and not off
            and not any(dups.values())
            and all(v["missing"] == 0 and v["unexpected"] == 0 for v in per_check.values())
        ),
    }


def run_level(
    lv: Level, args: argparse.Namespace, base: Settings, kafka_data: Path, pids: dict[str, int]
) -> dict[str, Any]:
    kind, n = lv.kind, lv.subjects
    w = f"x{lv.workers}" if lv.workers > 1 else ""
    tag = f"{kind}{n}{w}-{int(time.time())}"
    s = base.model_copy(update={"topic_prefix": tag, "app_id": tag, "partitions": lv.partitions})
    ensure_topics(s)
    workers, logs, ports = start_procs(kind, lv, s, tag)
    res: dict[str, Any] = {
        "kind": kind,
        "subjects": n,
        "workers": lv.workers,
        "partitions": lv.partitions,
        "duration_s": lv.duration_s,
        "warmup_s": lv.warmup_s,
    }
    try:
        for proc, log in zip(workers, logs, strict=True):
            wait_ready(proc, log)
        res["uncompacted_changelogs"] = keep_changelogs_uncompacted(s.kafka_bootstrap, tag)
        time.sleep(5.0 + 10.0 * (lv.workers - 1))  # a group of several settles its assignment
        wpids = {f"worker{j}": p.pid for j, p in enumerate(workers)}
        i0, ti0 = sum(cpu_s(p) for p in wpids.values()), time.time()
        time.sleep(args.idle_s)
        idle_cores = (sum(cpu_s(p) for p in wpids.values()) - i0) / (time.time() - ti0)
        rss_ready = {k: rss_mb(p) for k, p in wpids.items()}
        n_proc = max(1, min(args.producers, (n + 99) // 100))
        lead_s = 10 + 0.03 * n * max(1.0, lv.duration_s / 150)  # pre-encoding time of the producers
        t0_ns = (time.time_ns() // 10**9 + int(lead_s)) * 10**9
        q: Any = mp.get_context("fork").Queue()
        procs = [
            mp.get_context("fork").Process(
                target=producer_proc,
                args=(list(range(n))[j::n_proc], lv.duration_s, t0_ns, s.kafka_bootstrap, s.topic_prefix, q),
            )
            for j in range(n_proc)
        ]
        for p in procs:
            p.start()
        sources = [s.raw_topic(m) for m in ("bvp", "eda", "temp", "acc")]
        t_meas0 = t0_ns / 1e9 + lv.warmup_s
        t_end = t0_ns / 1e9 + lv.duration_s + 1.0
        time.sleep(max(0.0, t_meas0 - time.time()))
        ids = {**wpids, **pids}
        c0 = {k: cpu_s(p) for k, p in ids.items()}
        b0, w0, la0 = log_bytes(kafka_data / "logs"), time.time(), os.getloadavg()
        spy = None
        if lv.profile:
            spy_out = RESULTS_DIR / f"profile-{kind}{n}.txt"
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "-p",
                    str(workers[0].pid),
                    "-d",
                    str(int(lv.duration_s - lv.warmup_s - 5)),
                    "-r",
                    "50",
                    "-f",
                    "raw",
                    "-o",
                    str(spy_out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        lags: list[tuple[float, int]] = []
        rss: list[tuple[float, float]] = []  # all workers together, MB
        parts: list[tuple[float, dict[str, float]]] = []  # RocksDB and Python heap, from the workers' /metrics
        group_lag = GroupLag(s.kafka_bootstrap, s.app_id, sources, f"{tag}.")
        group_lag()
        done0 = group_lag.committed_raw()
        while time.time() < t_end:
            lag = group_lag()
            lags.append((time.time() - w0, sum(lag.values())))
            rss.append((time.time() - w0, sum(rss_mb(p) for p in wpids.values())))
            if kind == "worker":
                parts.append((time.time() - w0, memory_parts_mb(ports)))
            time.sleep(max(0.0, min(lv.sample_s, t_end - time.time())))
        c1 = {k: cpu_s(p) for k, p in ids.items()}
        b1, w1, la1 = log_bytes(kafka_data / "logs"), time.time(), os.getloadavg()
        last_lag = group_lag()
        processed_subj_s = (group_lag.committed_raw() - done0) / 4  # 4 streams, one 1 s chunk each
        if lv.check_subjects:  # the loss check reads Redis once everything sent is consumed
            d0 = time.time()
            while sum(group_lag().values()) > 0 and time.time() - d0 < args.drain_timeout_s:
                time.sleep(2.0)
            res["drain_s"] = round(time.time() - d0, 1)
            res["lag_after_drain_messages"] = sum(group_lag().values())
        group_lag.close()
        rss_end = {k: rss_mb(p) for k, p in wpids.items()}
        prod = [q.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(30)
        if spy is not None:
            spy.wait(60)
        wall = w1 - w0
        subj_s = n * wall
        in_rate = sum(r["messages"] for r in prod) / lv.duration_s
        slope = slope_per_s([(t, float(v)) for t, v in lags], wall / 2)
        bound = args.max_lag_s * in_rate  # messages: a few seconds of input
        sustained = sum(last_lag.values()) <= bound and slope * wall / 2 <= bound
        mine = {t: b1.get(t, 0) - b0.get(t, 0) for t in b1 if t.startswith((f"{tag}.", f"{tag}-"))}
        raw_b = sum(v for t, v in mine.items() if ".raw." in t)
        total_b = sum(mine.values())
        payload_rate = sum(r["payload_bytes"] for r in prod) / (n * lv.duration_s)
        dw = sum(c1[k] - c0[k] for k in wpids)
        cores = {k: round((c1[k] - c0[k]) / wall, 3) for k in ids}
        prod_cpu_s = sum(r["cpu_s"] for r in prod)
        split = {
            "worker": round(dw / wall, 3),
            **{k: cores[k] for k in pids},
            "producers": round(prod_cpu_s / lv.duration_s, 3),
        }
        res.update(
            {
                "sustained": bool(sustained),
                "lag_end_messages": last_lag,
                "lag_slope_msgs_per_s": round(slope, 2),
                "lag_max_messages": max((v for _, v in lags), default=0),
                "input_msgs_per_s": round(in_rate, 1),
                "lag_samples": [(round(t, 1), v) for t, v in lags],
                "rss_samples_mb": [(round(t, 1), round(v, 1)) for t, v in rss],
                "cpu_us_per_subject_s": {
                    "worker": round(dw / subj_s * 1e6, 1),
                    **{k: round((c1[k] - c0[k]) / subj_s * 1e6, 1) for k in ids},
                },
                "cpu_cores": {"worker": split["worker"], **cores},
                "cpu_split_cores": split,
                "cpu_split_share": {k: round(v / max(sum(split.values()), 1e-9), 3) for k, v in split.items()},
                "processed_subject_s_per_s": round(processed_subj_s / wall, 1),
                "worker_idle_cores": round(idle_cores, 3),
                "worker_cpu_us_per_processed_subject_s": round(dw / max(processed_subj_s, 1) * 1e6, 1),
                "worker_marginal_us_per_processed_subject_s": round(
                    (dw - idle_cores * wall) / max(processed_subj_s, 1) * 1e6, 1
                ),
                "subjects_per_worker_cpu_s": round(processed_subj_s / max(dw, 1e-9), 1),
                "producer": {
                    "processes": n_proc,
                    "cpu_us_per_subject_s": round(prod_cpu_s / (n * lv.duration_s) * 1e6, 1),
                    "max_late_s": max(r["max_late_s"] for r in prod),
                },
                "worker_rss_mb": {
                    "ready": round(sum(rss_ready.values()), 1),
                    "end": round(sum(rss_end.values()), 1),
                    "per_worker_ready": {k: round(v, 1) for k, v in rss_ready.items()},
                    "per_worker_end": {k: round(v, 1) for k, v in rss_end.items()},
                    "per_subject": round((sum(rss_end.values()) - sum(rss_ready.values())) / n, 3),
                    "slope_mb_per_h_second_half": round(slope_per_s(rss, wall / 2) * 3600, 1),
                    **memory_split(rss, parts, wall),
                },
                "kafka_bytes_per_subject_s": {t: round(v / subj_s, 1) for t, v in sorted(mine.items())},
                "kafka_bytes_per_subject_s_total": round(total_b / subj_s, 1),
                "raw_payload_bytes_per_subject_s": round(payload_rate, 1),
                "write_amplification": round(total_b / raw_b, 2) if raw_b else None,
                "write_amplification_vs_payload": round(total_b / subj_s / payload_rate, 2),
                "loadavg": {"start": [round(x, 2) for x in la0], "end": [round(x, 2) for x in la1]},
            }
        )
        if kind == "worker":
            time.sleep(args.settle_s)
            live = fused_by_subject(s, n)
            evs = [e for v in live.values() for e in v]
            steady = [e for e in evs if e.latency_ns.get("window_close_ns", 0) / 1e9 >= t_meas0]
            res["latency_ms"] = pct(
                [(e.latency_ns["redis_write_ns"] - e.latency_ns["window_close_ns"]) / 1e6 for e in steady]
            )
            et = [(e.latency_ns["redis_write_ns"] - e.window_end_ns) / 1e9 for e in steady]
            res["window_end_to_redis_s_median"] = round(float(np.median(et)), 2) if et else None
            res["events"] = len(evs)
            if lv.check_subjects:
                res["loss_check"] = loss_check(live, lv.duration_s, t0_ns, list(range(min(lv.check_subjects, n))), base)
        return res
    finally:
        for proc in workers:
            stop_worker(proc)


def run_checked(lv: Level, *a: Any) -> dict[str, Any]:
    """:func:`run_level`, once more if the worker consumed nothing: a Faust worker that starts while the
    group coordinator is busy sometimes loops on "Marking the coordinator dead" and never gets
    partitions (seen on Kafka 4.4 with aiokafka 0.14); such a run measures nothing."""
    res = run_level(lv, *a)
    if res["processed_subject_s_per_s"] > 0:
        return res
    retry = run_level(lv, *a)
    retry["retried_after_a_run_that_consumed_nothing"] = True
    return retry


def highest_sustained(runs: list[dict[str, Any]]) -> int | None:
    """The most subjects one emopipe worker sustained in ``runs`` (single-worker level runs)."""
    ok = [r["subjects"] for r in runs if r["kind"] == "worker" and r.get("workers", 1) == 1 and r["sustained"]]
    return max(ok, default=None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default="100,300,500,1000", help="subject counts for the emopipe worker")
    ap.add_argument("--passthrough-levels", default="300,1000", help="subject counts for the pass-through agent")
    ap.add_argument("--duration-s", type=int, default=150)
    ap.add_argument("--warmup-s", type=float, default=70.0)
    ap.add_argument("--settle-s", type=float, default=10.0, help="wait after the load before reading Redis")
    ap.add_argument("--max-lag-s", type=float, default=3.0)
    ap.add_argument("--idle-s", type=float, default=10.0, help="worker CPU measured idle for this long before the load")
    ap.add_argument("--producers", type=int, default=2, help="most producer processes (one per 100 subjects)")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument(
        "--workers", default="1", help="worker processes per level run; a list (1,2) runs each level once per entry"
    )
    ap.add_argument("--scaling-workers", default="", help="after the levels: compare these worker counts (e.g. 1,2)")
    ap.add_argument("--scaling-partitions", type=int, default=8, help="partitions of the worker-count comparison")
    ap.add_argument(
        "--scaling-level", default="auto", help="subjects of the comparison; auto: highest sustained level, else 100"
    )
    ap.add_argument("--soak-s", type=int, default=0, help="after the rest: one level paced this long (0: no soak)")
    ap.add_argument(
        "--soak-level", default="auto", help="subjects of the soak; auto: 70%% of the highest sustained level, >= 20"
    )
    ap.add_argument("--soak-sample-s", type=float, default=20.0, help="lag and RSS sampled this often in the soak")
    ap.add_argument("--soak-check-subjects", type=int, default=3, help="soak subjects compared with agents/offline.py")
    ap.add_argument("--drain-timeout-s", type=float, default=600.0, help="soak: most time to wait for lag 0 at the end")
    ap.add_argument("--stop-when-unsustained", action="store_true", help="skip higher worker levels once one fails")
    ap.add_argument("--profile-level", type=int, default=0, help="py-spy record the worker at this level (0: none)")
    ap.add_argument("--out", default="realtime", help="results name (bench/results/<out>.json)")
    ap.add_argument("--soak-out", default="soak", help="soak results name (bench/results/<soak-out>.json)")
    ap.add_argument("--update-e2e", action="store_true", help="write the headline keys into bench/results/e2e.json")
    ap.add_argument("--readme-sizing", action="store_true", help="rewrite README.md's Sizing section from this run")
    ap.add_argument(
        "--sizing-from", default="", help="only rewrite README.md's Sizing section from bench/results/<name>.json"
    )
    args = ap.parse_args()
    if args.sizing_from:
        data = json.loads((RESULTS_DIR / f"{args.sizing_from}.json").read_text())
        soak_path = RESULTS_DIR / f"{args.soak_out}.json"
        soaks_ = json.loads(soak_path.read_text())["runs"] if soak_path.exists() else []
        write_readme_sizing(
            data["runs"], f"bench/results/{args.sizing_from}.json", soaks_, f"bench/results/{args.soak_out}.json"
        )
        return
    kport, rport = int(os.environ.get("KAFKA_PORT", "19160")), int(os.environ.get("REDIS_PORT", "16460"))
    kafka_data = Path(os.environ.get("KAFKA_DATA_DIR", f"/tmp/thru-kafka-{kport}"))
    env = {
        **os.environ,
        "KAFKA_PORT": str(kport),
        "REDIS_PORT": str(rport),
        "KAFKA_DATA_DIR": str(kafka_data),
        "REDIS_DATA_DIR": os.environ.get("REDIS_DATA_DIR", f"/tmp/thru-redis-{rport}"),
    }
    subprocess.run(["bash", str(ROOT / "deploy/services.sh"), "up"], env=env, check=True)
    base = Settings(
        kafka_bootstrap=f"127.0.0.1:{kport}",
        redis_url=f"redis://127.0.0.1:{rport}/0",
        partitions=args.partitions,
        state_dir=Path(f"/tmp/thru-faust-{kport}"),
    )
    pids = {
        "broker": int((kafka_data / "kafka.pid").read_text()),
        "redis": int((Path(env["REDIS_DATA_DIR"]) / "redis.pid").read_text()),
    }
    warm_coordinator(base.kafka_bootstrap)
    _SIGNALS.update(read_e4_session(base.data_dir / "stress-predict" / "Raw_data" / "S02"))
    runs: list[dict[str, Any]] = []
    soaks: list[dict[str, Any]] = []

    def save() -> None:  # after every run: a later failure keeps what was measured
        write_results({"runs": runs, "cores": os.cpu_count(), "note": NOTE}, RESULTS_DIR / f"{args.out}.json")
        if soaks:
            write_results({"runs": soaks, "cores": os.cpu_count(), "note": NOTE}, RESULTS_DIR / f"{args.soak_out}.json")

    def one(lv: Level, into: list[dict[str, Any]]) -> dict[str, Any]:
        into.append(run_checked(lv, args, base, kafka_data, pids))
        print(json.dumps({k: v for k, v in into[-1].items() if not k.endswith("samples")}), flush=True)
        save()
        return into[-1]

    short = {"duration_s": args.duration_s, "warmup_s": args.warmup_s, "partitions": args.partitions}
    try:
        for n in (int(x) for x in args.passthrough_levels.split(",") if x):
            one(Level("passthrough", n, **short), runs)
        for nw in (int(x) for x in args.workers.split(",")):
            for n in (int(x) for x in args.levels.split(",") if x):
                r = one(Level("worker", n, workers=nw, profile=n == args.profile_level and nw == 1, **short), runs)
                if args.stop_when_unsustained and not r["sustained"]:
                    break
        top = highest_sustained(runs)
        if args.scaling_workers:
            n = (top or 100) if args.scaling_level == "auto" else int(args.scaling_level)
            for nw in (int(x) for x in args.scaling_workers.split(",")):
                lv = Level("worker", n, workers=nw, duration_s=args.duration_s, warmup_s=args.warmup_s,
                           partitions=args.scaling_partitions)  # fmt: skip
                one(lv, runs)["scaling"] = True
                save()
        if args.soak_s:
            n = max(20, int(0.7 * (top or 0))) if args.soak_level == "auto" else int(args.soak_level)
            lv = Level("worker", n, duration_s=args.soak_s, warmup_s=args.warmup_s, partitions=args.partitions,
                       sample_s=args.soak_sample_s, check_subjects=args.soak_check_subjects)  # fmt: skip
            one(lv, soaks)
    finally:
        subprocess.run(["bash", str(ROOT / "deploy/services.sh"), "down"], env=env, check=False)
        save()
    if runs:
        report(runs, args)
    if soaks:
        report_soak(soaks[-1], args)
    if args.readme_sizing and runs:
        write_readme_sizing(runs, f"bench/results/{args.out}.json", soaks, f"bench/results/{args.soak_out}.json")


NOTE = (
    "2-core machine shared with other jobs (see loadavg per run): wall-clock figures (sustained, latency) are "
    "noisy; CPU per subject-second is what each process consumed, and ratios to the pass-through of the same "
    "invocation are what count"
)


def capacity(run: dict[str, Any]) -> float:
    """Subjects one core sustains at the CPU the worker used per processed subject-second (beyond idle)."""
    return round(1e6 / max(run["worker_marginal_us_per_processed_subject_s"], 1.0), 1)


def describe(r: dict[str, Any]) -> str:
    """One run in words, for a BENCHMARKS.md row."""
    lat = r.get("latency_ms", {})
    lat_s = f", close->Redis p50 {lat.get('p50')} / p99 {lat.get('p99')} ms" if lat.get("n") else ""
    us = r["worker_marginal_us_per_processed_subject_s"]
    lag_end = sum(r["lag_end_messages"].values())
    nw = r.get("workers", 1)
    split = r.get("cpu_split_cores", {})
    split_s = "/".join(f"{split[k]}" for k in ("worker", "broker", "redis", "producers") if k in split)
    return (
        f"{r['kind']} {r['subjects']} subj{f' x{nw} workers' if nw > 1 else ''} "
        f"on {r.get('partitions', 4)} partitions: "
        f"{'sustained' if r['sustained'] else 'NOT sustained'} "
        f"(lag end {lag_end} msgs, processed {r['processed_subject_s_per_s']} subject-s/s), worker {us:.0f} us per "
        f"processed subject-s beyond idle (= {capacity(r)} subj/core), "
        f"{r.get('subjects_per_worker_cpu_s', '?')} subject-s per worker CPU-s, broker "
        f"{r['cpu_us_per_subject_s']['broker']:.0f} us/subject-s, producer "
        f"{r['producer']['cpu_us_per_subject_s']:.0f}{lat_s}, RSS +{r['worker_rss_mb']['per_subject']} "
        f"MB/subj, write amp. {r['write_amplification']} ({r['kafka_bytes_per_subject_s_total']:.0f} B/subject-s), "
        f"cores worker/broker/redis/producers {split_s}, load {r['loadavg']['end'][0]}"
    )


def report(runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """A BENCHMARKS.md row; with ``--update-e2e`` the headline keys of bench/results/e2e.json."""
    cmd = " ".join(["python", "bench/realtime.py", *sys.argv[1:]])
    append_row("realtime paced E4 (S02 replicas, 1 s chunks)", "; ".join(describe(r) for r in runs), cmd)
    if not args.update_e2e:
        return
    path = RESULTS_DIR / "e2e.json"
    e2e = json.loads(path.read_text()) if path.exists() else {}
    workers = [r for r in runs if r["kind"] == "worker" and r.get("workers", 1) == 1 and not r.get("scaling")]
    passes = [r for r in runs if r["kind"] == "passthrough"]
    ok = [r for r in workers if r["sustained"] and r.get("latency_ms", {}).get("p99", 1e9) <= 100]
    top = max(workers, key=lambda r: r["subjects"]) if workers else None
    e2e["realtime"] = {
        "max_sustained_level": max((r["subjects"] for r in ok), default=None),
        "levels_run": [r["subjects"] for r in workers],
        "cpu_bound_subjects_per_worker_core": max((capacity(r) for r in workers), default=None),
        "passthrough_cpu_bound_subjects_per_core": max((capacity(r) for r in passes), default=None),
        "subjects_per_worker_cpu_s": {
            f"{r['workers']}w{r['partitions']}p": r["subjects_per_worker_cpu_s"] for r in runs if r.get("scaling")
        },
        "source": f"bench/results/{args.out}.json",
        "note": NOTE,
    }
    e2e["max_realtime_subjects_per_worker"] = e2e["realtime"]["max_sustained_level"]
    if passes:
        e2e["passthrough_subjects_per_worker"] = e2e["realtime"]["passthrough_cpu_bound_subjects_per_core"]
    if top is not None:
        e2e["write_amplification"] = top["write_amplification"]
        if top.get("latency_ms", {}).get("n"):
            e2e["latency_ms"] = {**top["latency_ms"], "setup": f"{top['subjects']} subjects paced in real time"}
    write_results(e2e, path)


def soak_summary(r: dict[str, Any]) -> dict[str, Any]:
    """The soak's verdicts: RSS slope, lag bound, loss check."""
    lc = r.get("loss_check", {})
    return {
        "subjects": r["subjects"],
        "duration_s": r["duration_s"],
        "rss_slope_mb_per_h_second_half": r["worker_rss_mb"]["slope_mb_per_h_second_half"],
        "rss_mb_ready_end": (r["worker_rss_mb"]["ready"], r["worker_rss_mb"]["end"]),
        **{k: v for k, v in r["worker_rss_mb"].items() if k.startswith(("rocksdb_", "rss_minus", "python_blocks_"))},
        "lag_max_messages": r["lag_max_messages"],
        "lag_slope_msgs_per_s_second_half": r["lag_slope_msgs_per_s"],
        "sustained": r["sustained"],
        "events_in_redis": lc.get("events_in_redis"),
        "events_expected": lc.get("events_expected"),
        "lost": lc.get("lost"),
        "duplicates": lc.get("duplicates"),
        "nothing_lost": lc.get("nothing_lost"),
    }


def report_soak(r: dict[str, Any], args: argparse.Namespace) -> None:
    sm = soak_summary(r)
    r["summary"] = sm
    lc = r.get("loss_check", {})
    ref = ", ".join(f"{k}: {v['in_redis']}/{v['expected']}" for k, v in lc.get("offline_reference", {}).items())
    figures = (
        f"{sm['subjects']} subjects x {sm['duration_s']} s: RSS {sm['rss_mb_ready_end'][0]} -> "
        f"{sm['rss_mb_ready_end'][1]} MB, slope {sm['rss_slope_mb_per_h_second_half']} MB/h over the second half "
        f"(RocksDB cache {sm.get('rocksdb_cache_mb_ready_end')} MB, slope "
        f"{sm.get('rocksdb_cache_slope_mb_per_h_second_half')} MB/h; the rest "
        f"{sm.get('rss_minus_rocksdb_slope_mb_per_h_second_half')} MB/h; Python blocks "
        f"{sm.get('python_blocks_ready_end')}, slope {sm.get('python_blocks_slope_per_h_second_half')}/h); "
        f"lag max {sm['lag_max_messages']} msgs, slope {sm['lag_slope_msgs_per_s_second_half']} msgs/s "
        f"({'bounded' if sm['sustained'] else 'NOT bounded'}); fused events in Redis {sm['events_in_redis']} of "
        f"{sm['events_expected']} expected, lost {sm['lost']}, duplicates {sm['duplicates']} "
        f"(offline reference {ref}); {describe(r)}"
    )
    cmd = " ".join(["python", "bench/realtime.py", *sys.argv[1:]])
    append_row("soak, paced E4 (S02 replicas, 1 worker)", figures, cmd)
    write_results(
        {"summary": sm, "runs": [r], "cores": os.cpu_count(), "note": NOTE}, RESULTS_DIR / f"{args.soak_out}.json"
    )


def topic_class(topic: str) -> str:
    """``raw``, ``valid``, ``changelog``, or the topic's own last name part (windows, events, previews...)."""
    if topic.endswith("-changelog"):
        return "changelog"
    if "." not in topic:
        return "other"
    last = topic.split(".", 1)[1]
    return last.split(".", 1)[0]


def sizing(run: dict[str, Any], headroom: float = 0.7, soak: dict[str, Any] | None = None) -> dict[str, Any]:
    """README sizing figures from one realtime worker run (and optionally a soak run).

    Parameters
    ----------
    run
        One entry of ``runs`` in bench/results/realtime.json (kind ``worker``).
    headroom
        Share of a core a worker is planned to use (the rest absorbs bursts and catch-up).
    soak
        A soak run (RSS slope over hours) or None.

    Returns
    -------
    dict
        ``kafka_mb_per_subject_h`` per topic class and in all (bytes written, before compaction),
        ``rss_mb_per_worker`` and ``rss_mb_per_subject``, ``worker_us_per_subject_s``,
        ``subjects_per_worker`` (at ``headroom`` of a core), ``broker_us_per_subject_s``, and
        ``partitions_for`` (subjects -> workers, partitions).
    """
    by_class: dict[str, float] = {}
    for topic, b_per_s in run["kafka_bytes_per_subject_s"].items():
        if b_per_s > 0:
            c = topic_class(topic)
            by_class[c] = by_class.get(c, 0.0) + b_per_s
    us = run["worker_marginal_us_per_processed_subject_s"]
    per_worker = max(1, int(headroom * 1e6 / max(us, 1.0)))
    guide = {}
    for subjects in (50, 100, 300, 1000):
        workers = -(-subjects // per_worker)
        guide[subjects] = {"workers": workers, "partitions": max(8, 2 * workers)}
    return {
        "subjects": run["subjects"],
        "sustained": run["sustained"],
        "kafka_mb_per_subject_h": {
            k: round(v * 3600 / 1e6, 2) for k, v in sorted(by_class.items(), key=lambda kv: -kv[1])
        },
        "kafka_mb_per_subject_h_total": round(run["kafka_bytes_per_subject_s_total"] * 3600 / 1e6, 1),
        "rss_mb_per_worker": run["worker_rss_mb"]["ready"] / run.get("workers", 1),
        "rss_mb_per_subject": run["worker_rss_mb"]["per_subject"],
        "rss_slope_mb_per_h": None if soak is None else soak["worker_rss_mb"]["slope_mb_per_h_second_half"],
        "soak_subjects": None if soak is None else soak["subjects"],
        "worker_us_per_subject_s": us,
        "subjects_per_worker": per_worker,
        "headroom": headroom,
        "broker_us_per_subject_s": run["cpu_us_per_subject_s"]["broker"],
        "latency_ms": run.get("latency_ms", {}),
        "partitions_for": guide,
    }


def sizing_markdown(sz: dict[str, Any], source: str, passthrough_cap: float | None) -> str:
    """The README "Sizing" section (ends with a blank line) from :func:`sizing`'s figures."""
    kb = sz["kafka_mb_per_subject_h"]
    parts = ", ".join(f"{k} {v}" for k, v in kb.items())
    soak = (
        f" A {sz['soak_subjects']}-subject soak measured RSS growing {sz['rss_slope_mb_per_h']} MB/h over its "
        "second half."
        if sz["rss_slope_mb_per_h"] is not None
        else " Not verified over hours."
    )
    lat = sz["latency_ms"]
    lat_s = f"; p50/p99 window close -> Redis {lat.get('p50')}/{lat.get('p99')} ms" if lat.get("n") else ""
    pt = f"; the bare Faust pass-through costs {1e6 / passthrough_cap:.0f} us" if passthrough_cap else ""
    ratio = (
        f" ({sz['worker_us_per_subject_s'] * passthrough_cap / 1e6:.1f}x the pass-through)" if passthrough_cap else ""
    )
    guide_rows = "\n".join(f"  | {n} | {g['workers']} | {g['partitions']} |" for n, g in sz["partitions_for"].items())
    return f"""## Sizing

Generated by `bench/realtime.py` (`sizing()`; regenerate with `python bench/realtime.py --sizing-from <name>`) from
`{source}`, the {sz["subjects"]}-subject level ({"sustained" if sz["sustained"] else "NOT sustained"}{lat_s}).
Measured on one shared 2-core box where broker, Redis, the producers and the worker share the cores: the figures are
CPU and bytes per real-time Empatica E4 subject, not wall-clock scaling, which this box cannot show.

- **CPU**: the worker takes {sz["worker_us_per_subject_s"]:.0f} us of CPU per subject-second beyond idle with the
  default heads{ratio}{pt}; the broker {sz["broker_us_per_subject_s"]:.0f} us. At {int(sz["headroom"] * 100)}% of a
  core that is **{sz["subjects_per_worker"]} subjects per worker** (one worker is one event loop, one core at most).
- **When to add a worker**: when `emopipe_consumer_lag_messages` grows for a minute, when a worker stays above
  ~{int(sz["headroom"] * 100)}% of a core, or when p99 window close -> Redis passes 100 ms; up to the partition count.
- **Partitions vs subjects**: every topic is keyed by subject with the same partition count and one partition belongs
  to one worker, so partitions bound the workers, not the subjects (no limit of subjects per partition). Take 2x the
  most workers you expect, at least 8 (at {sz["subjects_per_worker"]} subjects per worker):

  | subjects | workers | partitions |
  |---|---|---|
{guide_rows}

- **Memory**: {sz["rss_mb_per_worker"]:.0f} MB per worker at start plus {sz["rss_mb_per_subject"]} MB per subject
  (growth over the run).{soak}
- **Kafka disk** (bytes written per subject-hour, before compaction): {sz["kafka_mb_per_subject_h_total"]} MB in all;
  by topic class (MB/subject-hour): {parts}. Changelogs compact to the live state; raw, windows and events keep
  7 days (disk = MB/subject-hour x subjects x 168 h for those), previews 1 hour.

"""


def write_readme_sizing(
    runs: list[dict[str, Any]], source: str, soaks: list[dict[str, Any]], soak_source: str = "bench/results/soak.json"
) -> None:
    """Replace README.md's "## Sizing" section with :func:`sizing_markdown` of the best single-worker run.

    The best run is the largest sustained one among the single-worker levels and the soak (the largest level
    when none is sustained); the soak also gives the RSS slope.
    """
    workers = [(r, source) for r in runs if r["kind"] == "worker" and r.get("workers", 1) == 1 and not r.get("scaling")]
    cands = workers + [(r, soak_source) for r in soaks]
    if not cands:
        return
    ok = [c for c in cands if c[0]["sustained"]]
    run, src = max(ok or cands, key=lambda c: (c[0]["subjects"], c[0]["duration_s"]))
    passes = [capacity(r) for r in runs if r["kind"] == "passthrough"]
    sz = sizing(run, soak=soaks[-1] if soaks else None)
    text = sizing_markdown(sz, src, max(passes) if passes else None)
    readme = ROOT / "README.md"
    old = readme.read_text()
    a = old.index("## Sizing\n")
    b = old.index("\n## ", a + 5) + 1
    readme.write_text(old[:a] + text + old[b:])
    write_results(sz, RESULTS_DIR / "sizing.json")


if __name__ == "__main__":
    main()
