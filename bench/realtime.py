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
    """Consumer lag (messages) per topic of one consumer group: committed vs end offsets."""

    def __init__(self, bootstrap: str, group: str, topics: list[str]) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

        self.group = group
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self.cons = KafkaConsumer(bootstrap_servers=bootstrap)
        self.tps = [TopicPartition(t, p) for t in topics for p in (self.cons.partitions_for_topic(t) or ())]

    def __call__(self) -> dict[str, int]:
        fetch = getattr(self.admin, "list_consumer_group_offsets", None)
        if fetch is not None:  # kafka-python 2.x
            committed = fetch(self.group)
        else:  # kafka-python 3.x
            committed = self.admin.list_group_offsets({self.group: None}).get(self.group, {})
        ends = self.cons.end_offsets(self.tps)
        lag: dict[str, int] = {}
        self.committed = {}
        for tp in self.tps:
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


def run_level(
    kind: str, n: int, args: argparse.Namespace, base: Settings, kafka_data: Path, pids: dict[str, int], profile: bool
) -> dict[str, Any]:
    tag = f"{kind}{n}-{int(time.time())}"
    s = base.model_copy(update={"topic_prefix": tag, "app_id": tag})
    ensure_topics(s)
    log = ROOT / ".run" / "logs" / f"bench-realtime-{tag}.log"
    worker = start_worker(s, log) if kind == "worker" else start_passthrough(s, log)
    res: dict[str, Any] = {"kind": kind, "subjects": n, "duration_s": args.duration_s, "warmup_s": args.warmup_s}
    try:
        wait_ready(worker, log)
        res["uncompacted_changelogs"] = keep_changelogs_uncompacted(s.kafka_bootstrap, tag)
        time.sleep(5.0)
        i0, ti0 = cpu_s(worker.pid), time.time()
        time.sleep(args.idle_s)
        idle_cores = (cpu_s(worker.pid) - i0) / (time.time() - ti0)
        rss_ready = rss_mb(worker.pid)
        n_proc = max(1, min(args.producers, (n + 99) // 100))
        lead_s = 10 + 0.03 * n
        t0_ns = (time.time_ns() // 10**9 + int(lead_s)) * 10**9
        q: Any = mp.get_context("fork").Queue()
        procs = [
            mp.get_context("fork").Process(
                target=producer_proc,
                args=(list(range(n))[j::n_proc], args.duration_s, t0_ns, s.kafka_bootstrap, s.topic_prefix, q),
            )
            for j in range(n_proc)
        ]
        for p in procs:
            p.start()
        sources = [s.raw_topic(m) for m in ("bvp", "eda", "temp", "acc")]
        if kind == "worker":
            sources += [s.topic(f"valid.{m}") for m in ("bvp", "eda", "temp", "acc")] + [
                s.topic("windows"),
                s.topic("events"),
            ]
        t_meas0 = t0_ns / 1e9 + args.warmup_s
        t_end = t0_ns / 1e9 + args.duration_s + 1.0
        time.sleep(max(0.0, t_meas0 - time.time()))
        ids = {"worker": worker.pid, **pids}
        c0 = {k: cpu_s(p) for k, p in ids.items()}
        b0, w0, la0 = log_bytes(kafka_data / "logs"), time.time(), os.getloadavg()
        spy = None
        if profile:
            spy_out = RESULTS_DIR / f"profile-{kind}{n}.txt"
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "-p",
                    str(worker.pid),
                    "-d",
                    str(int(args.duration_s - args.warmup_s - 5)),
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
        group_lag = GroupLag(s.kafka_bootstrap, s.app_id, sources)
        group_lag()
        done0 = group_lag.committed_raw()
        while time.time() < t_end:
            lag = group_lag()
            lags.append((time.time() - w0, sum(lag.values())))
            time.sleep(max(0.0, min(5.0, t_end - time.time())))
        c1 = {k: cpu_s(p) for k, p in ids.items()}
        b1, w1, la1 = log_bytes(kafka_data / "logs"), time.time(), os.getloadavg()
        last_lag = group_lag()
        processed_subj_s = (group_lag.committed_raw() - done0) / 4  # 4 streams, one 1 s chunk each
        group_lag.close()
        rss_end = rss_mb(worker.pid)
        prod = [q.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(30)
        if spy is not None:
            spy.wait(60)
        wall = w1 - w0
        subj_s = n * wall
        in_rate = sum(r["messages"] for r in prod) / args.duration_s
        half = [(t, v) for t, v in lags if t >= wall / 2]
        slope = float(np.polyfit([t for t, _ in half], [v for _, v in half], 1)[0]) if len(half) >= 3 else 0.0
        bound = args.max_lag_s * in_rate  # messages: a few seconds of input
        sustained = sum(last_lag.values()) <= bound and slope * wall / 2 <= bound
        mine = {t: b1.get(t, 0) - b0.get(t, 0) for t in b1 if t.startswith((f"{tag}.", f"{tag}-"))}
        raw_b = sum(v for t, v in mine.items() if ".raw." in t)
        total_b = sum(mine.values())
        payload_rate = sum(r["payload_bytes"] for r in prod) / (n * args.duration_s)
        res.update(
            {
                "sustained": bool(sustained),
                "lag_end_messages": last_lag,
                "lag_slope_msgs_per_s": round(slope, 2),
                "input_msgs_per_s": round(in_rate, 1),
                "lag_samples": [(round(t, 1), v) for t, v in lags],
                "cpu_us_per_subject_s": {k: round((c1[k] - c0[k]) / subj_s * 1e6, 1) for k in ids},
                "cpu_cores": {k: round((c1[k] - c0[k]) / wall, 3) for k in ids},
                "processed_subject_s_per_s": round(processed_subj_s / wall, 1),
                "worker_idle_cores": round(idle_cores, 3),
                "worker_cpu_us_per_processed_subject_s": round(
                    (c1["worker"] - c0["worker"]) / max(processed_subj_s, 1) * 1e6, 1
                ),
                "worker_marginal_us_per_processed_subject_s": round(
                    (c1["worker"] - c0["worker"] - idle_cores * wall) / max(processed_subj_s, 1) * 1e6, 1
                ),
                "producer": {
                    "processes": n_proc,
                    "cpu_us_per_subject_s": round(sum(r["cpu_s"] for r in prod) / (n * args.duration_s) * 1e6, 1),
                    "max_late_s": max(r["max_late_s"] for r in prod),
                },
                "worker_rss_mb": {
                    "ready": round(rss_ready, 1),
                    "end": round(rss_end, 1),
                    "per_subject": round((rss_end - rss_ready) / n, 3),
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
            evs = EventClient(s.redis_url, prefix=s.topic_prefix).history()
            steady = [e for e in evs if e.latency_ns.get("window_close_ns", 0) / 1e9 >= t_meas0]
            res["latency_ms"] = pct(
                [(e.latency_ns["redis_write_ns"] - e.latency_ns["window_close_ns"]) / 1e6 for e in steady]
            )
            et = [(e.latency_ns["redis_write_ns"] - e.window_end_ns) / 1e9 for e in steady]
            res["window_end_to_redis_s_median"] = round(float(np.median(et)), 2) if et else None
            res["events"] = len(evs)
        return res
    finally:
        stop_worker(worker)


def run_checked(*a: Any) -> dict[str, Any]:
    """:func:`run_level`, once more if the worker consumed nothing: a Faust worker that starts while the
    group coordinator is busy sometimes loops on "Marking the coordinator dead" and never gets
    partitions (seen on Kafka 4.4 with aiokafka 0.14); such a run measures nothing."""
    res = run_level(*a)
    if res["processed_subject_s_per_s"] > 0:
        return res
    retry = run_level(*a)
    retry["retried_after_a_run_that_consumed_nothing"] = True
    return retry


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
    ap.add_argument("--stop-when-unsustained", action="store_true", help="skip higher worker levels once one fails")
    ap.add_argument("--profile-level", type=int, default=0, help="py-spy record the worker at this level (0: none)")
    ap.add_argument("--out", default="realtime", help="results name (bench/results/<out>.json)")
    ap.add_argument("--update-e2e", action="store_true", help="write the headline keys into bench/results/e2e.json")
    args = ap.parse_args()
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
    try:
        for n in (int(x) for x in args.passthrough_levels.split(",") if x):
            runs.append(run_checked("passthrough", n, args, base, kafka_data, pids, False))
            print(json.dumps(runs[-1]), flush=True)
        for n in (int(x) for x in args.levels.split(",") if x):
            runs.append(run_checked("worker", n, args, base, kafka_data, pids, n == args.profile_level))
            print(json.dumps(runs[-1]), flush=True)
            if args.stop_when_unsustained and not runs[-1]["sustained"]:
                break
    finally:
        subprocess.run(["bash", str(ROOT / "deploy/services.sh"), "down"], env=env, check=False)
    write_results({"runs": runs, "cores": os.cpu_count(), "note": NOTE}, RESULTS_DIR / f"{args.out}.json")
    if runs:
        report(runs, args)


NOTE = (
    "2-core machine shared with other jobs (see loadavg per run): wall-clock figures (sustained, latency) are "
    "noisy; CPU per subject-second is what each process consumed, and ratios to the pass-through of the same "
    "invocation are what count"
)


def capacity(run: dict[str, Any]) -> float:
    """Subjects one core sustains at the CPU the worker used per processed subject-second (beyond idle)."""
    return round(1e6 / max(run["worker_marginal_us_per_processed_subject_s"], 1.0), 1)


def report(runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """A BENCHMARKS.md row; with ``--update-e2e`` the headline keys of bench/results/e2e.json."""
    parts = []
    for r in runs:
        lat = r.get("latency_ms", {})
        lat_s = f", close->Redis p50 {lat.get('p50')} / p99 {lat.get('p99')} ms" if lat.get("n") else ""
        us = r["worker_marginal_us_per_processed_subject_s"]
        lag_end = sum(r["lag_end_messages"].values())
        parts.append(
            f"{r['kind']} {r['subjects']} subj: {'sustained' if r['sustained'] else 'NOT sustained'} "
            f"(lag end {lag_end} msgs; worker got {r['cpu_cores']['worker']} cores), worker {us:.0f} us per "
            f"processed subject-s beyond idle (= {capacity(r)} subj/core), broker "
            f"{r['cpu_us_per_subject_s']['broker']:.0f} us/subject-s, producer "
            f"{r['producer']['cpu_us_per_subject_s']:.0f}{lat_s}, RSS +{r['worker_rss_mb']['per_subject']} "
            f"MB/subj, write amp. {r['write_amplification']} ({r['kafka_bytes_per_subject_s_total']:.0f} B/subject-s), "
            f"load {r['loadavg']['end'][0]}"
        )
    cmd = " ".join(["python", "bench/realtime.py", *sys.argv[1:]])
    append_row("realtime paced E4 (S02 replicas, 1 s chunks, 1 worker)", "; ".join(parts), cmd)
    if not args.update_e2e:
        return
    path = RESULTS_DIR / "e2e.json"
    e2e = json.loads(path.read_text()) if path.exists() else {}
    workers = [r for r in runs if r["kind"] == "worker"]
    passes = [r for r in runs if r["kind"] == "passthrough"]
    ok = [r for r in workers if r["sustained"] and r.get("latency_ms", {}).get("p99", 1e9) <= 100]
    top = max(workers, key=lambda r: r["subjects"]) if workers else None
    e2e["realtime"] = {
        "max_sustained_level": max((r["subjects"] for r in ok), default=None),
        "cpu_bound_subjects_per_worker_core": max((capacity(r) for r in workers), default=None),
        "passthrough_cpu_bound_subjects_per_core": max((capacity(r) for r in passes), default=None),
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


if __name__ == "__main__":
    main()
