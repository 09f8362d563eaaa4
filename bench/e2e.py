"""End-to-end benchmark: latency (window close -> event in Redis) and real-time capacity of one worker.

Starts its own Kafka 4.x broker and redis-server (deploy/ scripts, free ports, temporary data),
one `emopipe worker` with all stages, and measures on real Stress-Predict recordings:

1. latency: one subject replayed at ``--latency-speed`` x real time; per event, window close ->
   event written to Redis (and chunk ingest -> Redis) p50/p95/p99;
2. capacity: ``--subjects`` subjects x ``--minutes`` minutes of signal put on the raw topics *before*
   the worker starts, then the time until every event is in Redis. Signal seconds processed per wall
   second = the number of real-time E4 subjects this worker sustains (beyond it, lag grows without bound).

Writes bench/results/e2e.json and a row to BENCHMARKS.md.

    .venv/bin/python bench/e2e.py [--subjects 8 --minutes 10 --latency-speed 10 --latency-minutes 6]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.client import EventClient  # noqa: E402
from agents.commands.demo import start_worker, stop_worker, wait_ready  # noqa: E402
from agents.offline import offline_windows  # noqa: E402
from agents.producer import ChunkProducer, publish  # noqa: E402
from agents.sources import read_e4_session  # noqa: E402
from agents.topics import ensure_topics  # noqa: E402
from bench._report import RESULTS_DIR, append_row, write_results  # noqa: E402
from deploy.settings import Settings  # noqa: E402
from pipeline.sources.e4 import e4_session_chunks  # noqa: E402

SUBJECTS = ["S02", "S03", "S04", "S06", "S07", "S08", "S09", "S11", "S12", "S13", "S14", "S16"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chunks_of(data_dir: Path, subject: str, minutes: float, alias: str | None = None) -> list:
    signals = read_e4_session(data_dir / "stress-predict" / "Raw_data" / subject)
    cut = {k: dataclasses.replace(s, samples=s.samples[:, : int(minutes * 60 * s.fs_hz)]) for k, s in signals.items()}
    return list(e4_session_chunks(cut, subject_id=alias or subject, session_id="bench", chunk_s=1.0))


def expected_slots(chunks: list) -> int:
    ends: dict[int, set[str]] = {}
    for rec in offline_windows(chunks):
        ends.setdefault(rec.window.end_ns, set()).add(rec.window.modality)
    return sum(1 for mods in ends.values() if len(mods) == 4)


def wait_events(client: EventClient, n: int, timeout_s: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if len(client.history()) >= n:
            return time.monotonic()
        time.sleep(0.25)
    raise SystemExit(f"only {len(client.history())} of {n} events after {timeout_s} s")


def pct(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {"p50": round(float(np.percentile(a, 50)), 1), "p95": round(float(np.percentile(a, 95)), 1),
            "p99": round(float(np.percentile(a, 99)), 1), "n": len(values)}  # fmt: skip


def run_worker(settings: Settings, tag: str) -> subprocess.Popen[bytes]:
    log = ROOT / ".run" / "logs" / f"bench-e2e-{tag}.log"
    proc = start_worker(settings, log)
    wait_ready(proc, log)
    return proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--latency-speed", type=float, default=10.0)
    ap.add_argument("--latency-minutes", type=float, default=6.0)
    ap.add_argument("--partitions", type=int, default=4)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="emopipe-bench-"))
    kport, rport = free_port(), free_port()
    env = {
        **os.environ,
        "KAFKA_PORT": str(kport),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "KAFKA_DATA_DIR": str(tmp / "kafka"),
        "REDIS_PORT": str(rport),
        "REDIS_DATA_DIR": str(tmp / "redis"),
    }
    subprocess.run(["bash", str(ROOT / "deploy/services.sh"), "up"], env=env, check=True)
    base = Settings(kafka_bootstrap=f"127.0.0.1:{kport}", redis_url=f"redis://127.0.0.1:{rport}/0",
                    partitions=args.partitions, state_dir=tmp / "faust")  # fmt: skip
    results: dict[str, object] = {}
    try:
        data_dir = base.data_dir
        # 1. latency at a paced replay
        s1 = base.model_copy(update={"topic_prefix": "lat", "app_id": "lat"})
        ensure_topics(s1)
        worker = run_worker(s1, "latency")
        chunks = chunks_of(data_dir, "S02", args.latency_minutes)
        n_exp = expected_slots(chunks)
        with ChunkProducer(s1.kafka_bootstrap, settings=s1) as prod:
            publish(chunks, prod, speed=args.latency_speed)
        client = EventClient(s1.redis_url, prefix="lat")
        wait_events(client, n_exp, 300)
        evs = client.history()
        stop_worker(worker)
        close_ms = [(e.latency_ns["redis_write_ns"] - e.latency_ns["window_close_ns"]) / 1e6 for e in evs]
        ingest_ms = [(e.latency_ns["redis_write_ns"] - e.latency_ns["ingest_ns"]) / 1e6 for e in evs]
        results["latency_ms"] = pct(close_ms)
        results["ingest_to_redis_ms"] = pct(ingest_ms)
        results["latency_setup"] = f"S02, first {args.latency_minutes:g} min, {args.latency_speed:g}x real time"
        # 2. capacity from a backlog
        s2 = base.model_copy(update={"topic_prefix": "cap", "app_id": "cap"})
        ensure_topics(s2)
        subjects = [SUBJECTS[i % len(SUBJECTS)] for i in range(args.subjects)]
        all_chunks, n_events = [], 0
        for i, subj in enumerate(subjects):
            c = chunks_of(data_dir, subj, args.minutes, alias=f"{subj}x{i}")
            n_events += expected_slots(c)
            all_chunks += c
        all_chunks.sort(key=lambda c: c.t0_ns)
        with ChunkProducer(s2.kafka_bootstrap, settings=s2) as prod:
            publish(all_chunks, prod, speed=None)
        client2 = EventClient(s2.redis_url, prefix="cap")
        t_start = time.monotonic()
        worker = run_worker(s2, "capacity")
        t_ready = time.monotonic()
        t_done = wait_events(client2, n_events, 1800)
        stop_worker(worker)
        wall_s = t_done - t_ready
        signal_s = args.subjects * args.minutes * 60
        results["capacity"] = {"subjects": args.subjects, "minutes_each": args.minutes, "events": n_events,
                               "wall_s_after_ready": round(wall_s, 1), "startup_s": round(t_ready - t_start, 1),
                               "signal_s_per_wall_s": round(signal_s / wall_s, 1)}  # fmt: skip
        results["max_realtime_subjects_per_worker"] = int(signal_s / wall_s)
    finally:
        subprocess.run(["bash", str(ROOT / "deploy/services.sh"), "down"], env=env, check=False)
    write_results(results, RESULTS_DIR / "e2e.json")
    cmd = ".venv/bin/python bench/e2e.py " + " ".join(sys.argv[1:])
    lat, cap = results["latency_ms"], results["capacity"]
    figs = (f"window close -> Redis p50 "
           f"{lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms ({results['latency_setup']}); capacity "
           f"{cap['signal_s_per_wall_s']} signal-s per wall-s = {results['max_realtime_subjects_per_worker']} "
           f"real-time E4 subjects per worker ({cap['subjects']} subjects x {cap['minutes_each']:g} min backlog, "
           f"{cap['wall_s_after_ready']} s)")  # fmt: skip
    append_row("e2e (1 worker, all stages, real E4)", figs, cmd)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
