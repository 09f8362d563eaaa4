"""``emopipe demo``: the main job, end to end, on a real recording.

Creates the topics, starts a Faust worker (all stages), replays one real Stress-Predict subject
through Kafka at ``--speed``, prints the emotion events live as they land in Redis, and ends with a
summary: events, agreement with the ground-truth stress labels, and latency percentiles. The
worker is stopped at the end (also on Ctrl-C). Kafka and Redis must be running: ``bash run.sh
demo`` starts and stops them around this command.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agents.connections import free_port
from deploy.settings import REPO_ROOT, Settings
from pipeline.text import escape_text

logger = logging.getLogger(__name__)

HELP = "run the main job: replay a real recording through Kafka, Faust and the model into Redis"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``emopipe demo``."""
    p.add_argument("--subject", default="S02",
                   help="Stress-Predict subject to replay (default S02), read from "
                        "EMOPIPE_DATA_DIR/stress-predict/Raw_data/<subject>; EMOPIPE_DATA_DIR is the folder that "
                        "holds stress-predict/ (default ../shared/data)")  # fmt: skip
    p.add_argument("--speed", type=float, default=30.0, help="replay speed-up over real time (default 30)")
    p.add_argument("--chunk-s", type=float, default=1.0, help="chunk length in seconds of signal (default 1)")
    p.add_argument("--quiet-events", action="store_true", help="do not print every event, only the summary")
    p.add_argument("--multimodal", action="store_true",
                   help="replay the COMPOSITE multimodal session instead (E4 + RAVDESS speech + OpenFace + systole "
                        "ECG/respiration + SYNTHETIC EEG under one subject id; agents/composite.py) and print each "
                        "head's reading with the fused result")  # fmt: skip
    p.add_argument("--minutes", type=float, default=10.0, help="--multimodal: minutes of the session (default 10)")
    p.add_argument("--drain-timeout-s", type=float, default=120.0,
                   help="after the replay, wait at most this long for the last events (default 120)")  # fmt: skip
    p.add_argument("--dashboard-port", type=int, default=8765,
                   help="dashboard port on 127.0.0.1 (default 8765; 0: any free port; -1: none)")  # fmt: skip


def start_worker(settings: Settings, log_path: Path, web_port: int = 0) -> subprocess.Popen[bytes]:
    """Start `emopipe worker` (all stages) as a subprocess logging to ``log_path`` (web server on ``web_port``)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "EMOPIPE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "EMOPIPE_REDIS_URL": settings.redis_url,
        "EMOPIPE_TOPIC_PREFIX": settings.topic_prefix,
        "EMOPIPE_APP_ID": settings.app_id,
        "EMOPIPE_PARTITIONS": str(settings.partitions),
        "EMOPIPE_STATE_DIR": str(settings.state_dir),
        "EMOPIPE_MODEL_DIR": str(settings.model_dir),
        "EMOPIPE_HEADS": settings.heads,
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
            [sys.executable, "-m", "agents.cli", "worker",
             *(("--web-port", str(web_port)) if web_port else ("--without-web",))],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def start_dashboard(
    settings: Settings, log_path: Path, port: int, worker_port: int
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `emopipe dashboard` for this run's prefix; returns the process and its URL once it listens."""
    env = {**os.environ, "EMOPIPE_REDIS_URL": settings.redis_url, "EMOPIPE_TOPIC_PREFIX": settings.topic_prefix}
    cmd = [sys.executable, "-m", "agents.cli", "dashboard", "--port", str(port),
           "--workers", f"http://127.0.0.1:{worker_port}"]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 (our interpreter, fixed arguments)
            cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if "emopipe dashboard: http://" in text:
            return proc, text.split("emopipe dashboard: ", 1)[1].split()[0]
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    stop_worker(proc)
    msg = f"the dashboard did not start; last log lines:\n{log_path.read_text(errors='replace')[-2000:]}"
    raise RuntimeError(msg)


def wait_ready(proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float = 180.0) -> None:
    """Wait for the worker's "Ready" line; raise with the log tail if it dies or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        if "[^Worker]: Ready" in text:
            return
        if proc.poll() is not None:
            msg = f"worker exited with {proc.returncode}; last log lines:\n{text[-3000:]}"
            raise RuntimeError(msg)
        time.sleep(0.3)
    msg = f"worker not ready after {timeout_s:.0f} s (log: {log_path})"
    raise RuntimeError(msg)


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, wait up to 30 s, then SIGKILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def percentiles_ms(values_ns: list[int]) -> dict[str, float]:
    """p50/p95/p99 of durations in ns, in ms."""
    import numpy as np

    if not values_ns:
        return {}
    a = np.asarray(values_ns, dtype=np.float64) / 1e6
    return {f"p{q}": round(float(np.percentile(a, q)), 1) for q in (50, 95, 99)}


def agreement(events: list[Any], data_dir: Path, subject: str) -> dict[str, float] | None:
    """Accuracy and balanced accuracy of the events' labels against the per-second ground truth."""
    import numpy as np

    from models.stress_data import load_labels, window_labels

    labels = load_labels(data_dir).get(int(subject.lstrip("Ss")))
    if labels is None or not events:
        return None
    t_s, y, _ = labels
    start = np.array([e.window_start_ns for e in events], dtype=np.int64)
    end = np.array([e.window_end_ns for e in events], dtype=np.int64)
    truth = window_labels(start, end, t_s, y)
    classes = list(events[0].probabilities)
    proba = np.array([[e.probabilities[c] for c in classes] for e in events])
    ok = truth >= 0
    if not ok.any():
        return None
    from models.metrics import scores

    s = scores(truth[ok], proba[ok], len(classes))
    return {"windows_labelled": int(ok.sum()), "accuracy": s["accuracy"], "balanced_accuracy": s["balanced_accuracy"]}


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the demo; 0 when events arrived."""
    from agents.client import EventClient
    from agents.commands import topics as topics_cmd
    from agents.commands._publishing import send_all
    from agents.commands.subscribe import format_event
    from agents.composite import COMPOSITE_SUBJECT, composite_session_chunks
    from agents.sources import count_chunks, find_recordings, replay_chunks

    subject = COMPOSITE_SUBJECT if args.multimodal else args.subject.upper()
    path = settings.data_dir / "stress-predict" / "Raw_data" / ("S02" if args.multimodal else subject)
    if not path.is_dir():
        print(f"error: no recording at {path} (set EMOPIPE_DATA_DIR to the shared data)", file=sys.stderr)
        return 2
    # a fresh app id and topic prefix per run: the demo never mixes with earlier runs' state
    run_id = time.strftime("demo%Y%m%d%H%M%S")
    settings = settings.model_copy(update={"topic_prefix": run_id, "app_id": run_id})
    topics_cmd.run(argparse.Namespace(partitions=None, list=False), settings)
    log_path = REPO_ROOT / ".run" / "logs" / f"worker-{run_id}.log"
    print(f"[demo] starting a Faust worker (log: {log_path})", file=sys.stderr)
    web_port = free_port() if args.dashboard_port >= 0 else 0
    worker = start_worker(settings, log_path, web_port)
    dashboard = None
    if args.dashboard_port >= 0:
        dash_log = log_path.with_name(f"dashboard-{run_id}.log")
        try:
            dashboard, url = start_dashboard(settings, dash_log, args.dashboard_port, web_port)
            print(f"[demo] live dashboard: {url} (open it in a browser; log: {dash_log})", file=sys.stderr)
        except RuntimeError as exc:
            print(f"[demo] no dashboard: {exc}", file=sys.stderr)
    client = EventClient.from_settings(settings)
    events: list[Any] = []
    stop = threading.Event()

    def follow() -> None:
        for ev in client.follow(subject, since_ms=0, stop=stop.is_set, kind="all"):
            events.append(ev)
            if not args.quiet_events and ev.kind == "fused":  # a fused line shows each head's reading
                print(format_event(ev), flush=True)

    follower = threading.Thread(target=follow, daemon=True)
    try:
        wait_ready(worker, log_path)
        what = "the COMPOSITE multimodal session" if args.multimodal else subject
        print(f"[demo] worker ready; replaying {what} at {args.speed:g}x real time", file=sys.stderr)
        follower.start()
        replay_args = argparse.Namespace(fast=False, speed=args.speed, encoding="binary", compression="gzip",
                                         linger_ms=20, topic_prefix=None)  # fmt: skip
        if args.multimodal:
            chunks = list(composite_session_chunks(settings.data_dir, minutes=args.minutes, chunk_s=args.chunk_s))
            send_all(iter(chunks), replay_args, settings, total=len(chunks))
        else:
            recordings = find_recordings([path])
            chunks = replay_chunks(recordings, chunk_s=args.chunk_s, rebase_to_ns=None, subject_ids=[subject])
            send_all(chunks, replay_args, settings, total=count_chunks(recordings, chunk_s=args.chunk_s))
        print("[demo] replay done; waiting for the last windows", file=sys.stderr)
        drain(events, args.drain_timeout_s)
    finally:
        stop.set()
        stop_worker(worker)
        if dashboard is not None:
            stop_worker(dashboard)
    if follower.is_alive():
        follower.join(timeout=5)
    summary(events, settings, subject)
    client.close()
    return 0 if events else 1


def drain(events: list[Any], timeout_s: float, idle_s: float = 15.0) -> None:
    """Wait until no event arrived for ``idle_s`` seconds (or ``timeout_s`` passed)."""
    deadline = time.monotonic() + timeout_s
    last_n, last_change = len(events), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - last_change < idle_s:
        time.sleep(0.5)
        if len(events) != last_n:
            last_n, last_change = len(events), time.monotonic()


def in_sample_note(settings: Settings, subject: str) -> str:
    """Say whether the subject was in the model's training data (then agreement is not an accuracy claim)."""
    import json

    from models.registry import DEFAULTS

    card_path = settings.model_dir / DEFAULTS["stress_binary"]
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError):
        return "(no model card found: cannot tell whether this subject was in the training data)"
    trained_on = card.get("training_data", {}).get("subjects", [])
    if int(subject.lstrip("Ss")) in trained_on:
        return (
            f"note: {subject} is in this model's training data, so this agreement is in-sample; the honest, "
            f"subject-independent (leave-one-subject-out) figures are in {card_path.name} under 'metrics'"
        )
    return f"{subject} was not in this model's training data (subject-independent agreement)"


def summary(events: list[Any], settings: Settings, subject: str) -> None:
    """Print the end-of-run summary."""
    fused = [e for e in events if e.kind == "fused"]
    stress = [e for e in events if e.kind == "head" and e.head == "stress_binary"]
    e2e = [
        e.latency_ns["redis_write_ns"] - e.latency_ns["ingest_ns"] for e in fused if "redis_write_ns" in e.latency_ns
    ]
    close = [e.latency_ns["redis_write_ns"] - e.latency_ns["window_close_ns"] for e in fused
             if "redis_write_ns" in e.latency_ns]  # fmt: skip
    agree = None if subject.startswith("COMPOSITE") else agreement(stress, settings.data_dir, subject)
    labels: dict[str, int] = {}
    for e in fused:
        labels[e.label] = labels.get(e.label, 0) + 1
    heads: dict[str, int] = {}
    for e in events:
        if e.kind == "head" and e.head:
            heads[f"{e.head}@{e.model_version}"] = heads.get(f"{e.head}@{e.model_version}", 0) + 1
    print("\n=== emopipe demo summary ===")
    print(f"subject {escape_text(subject)}: {len(fused)} fused emotion events in Redis; labels {labels}")
    print(f"head events: {heads}")
    if subject.startswith("COMPOSITE"):
        print("COMPOSITE session: real recordings of different people under one id, plus SYNTHETIC EEG;")
        print("its readings show the pipeline working, they say nothing about anyone's emotions")
    if agree:
        print("stress head (stress_binary) against the ground-truth stress labels:")
        print(f"agreement with ground-truth stress labels: accuracy {agree['accuracy']:.3f}, balanced accuracy "
              f"{agree['balanced_accuracy']:.3f} over {agree['windows_labelled']} labelled windows")  # fmt: skip
        print(in_sample_note(settings, subject))
    print(f"latency chunk ingest -> event in Redis (ms): {percentiles_ms(e2e)}")
    print(f"latency window close -> event in Redis (ms): {percentiles_ms(close)}")
