"""Producer throughput into a real Kafka 4.x broker: JSON vs binary encoding, side by side in one run.

The chunks are one real E4 session (stress-predict S02, BVP/EDA/TEMP/ACC, ``--chunk-s`` long),
built once in memory; each variant sends all of them with :class:`agents.producer.ChunkProducer`
(idempotent, acks=all, keyed by subject) to fresh topics and stops the clock when ``flush()``
returns, i.e. when the broker has acknowledged every record.  Encode-only throughput (no Kafka) is
measured too, to show how much of the time is the codec.  Variants alternate (binary, json, binary,
json, ...) over ``--repeats`` rounds; the best round of each is reported.

Figures: ``samples_per_s`` counts time samples per channel (an ACC sample x/y/z counts once), as in
the rest of BENCHMARKS.md; ``chunks_per_s``; ``bytes_per_chunk`` before Kafka compression.

Run:  nice .venv/bin/python bench/producer.py   (starts a private broker with deploy/kafka/start.sh
      unless --bootstrap is given; writes bench/results/producer.json (producer-<compression>.json
      for other --compression values), appends to BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.connections import free_port  # noqa: E402
from agents.producer import ChunkProducer  # noqa: E402
from bench._report import RESULTS_DIR, append_row, write_results  # noqa: E402
from deploy.settings import Settings  # noqa: E402
from pipeline.codec import encode  # noqa: E402
from pipeline.contract import SensorChunk  # noqa: E402
from pipeline.sources.e4 import E4_MODALITIES, e4_session_chunks, parse_e4_csv  # noqa: E402


@contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    """The given bootstrap, or a private broker started with deploy/kafka/start.sh."""
    if bootstrap:
        yield bootstrap
        return
    with tempfile.TemporaryDirectory(prefix="emopipe-bench-") as tmp:
        port = free_port()
        env = {**os.environ, "KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(free_port()),
               "KAFKA_DATA_DIR": str(Path(tmp) / "kafka")}  # fmt: skip
        subprocess.run(["bash", str(ROOT / "deploy/kafka/start.sh")], env=env, check=True)
        try:
            yield f"127.0.0.1:{port}"
        finally:
            subprocess.run(["bash", str(ROOT / "deploy/kafka/stop.sh")], env=env, check=False)


def load_chunks(data_dir: Path, subject: str, chunk_s: float) -> list[SensorChunk]:
    d = data_dir / "stress-predict" / "Raw_data" / subject
    signals = {n: parse_e4_csv((d / f"{n}.csv").read_text(), n) for n in E4_MODALITIES}
    return list(e4_session_chunks(signals, subject_id=subject, session_id="bench", chunk_s=chunk_s))


def send_round(chunks: list[SensorChunk], bootstrap: str, encoding: str, compression: str) -> dict[str, float]:
    settings = Settings(kafka_bootstrap=bootstrap, topic_prefix=f"bench{uuid.uuid4().hex[:8]}")
    producer = ChunkProducer(bootstrap, settings=settings, encoding=encoding, compression=compression)  # type: ignore[arg-type]
    producer.send(chunks[0])  # connect and fetch metadata outside the timed part
    producer.flush()
    t0 = time.perf_counter()
    for c in chunks[1:]:
        producer.send(c)
    producer.flush()
    dt_s = time.perf_counter() - t0
    producer.close()
    samples = sum(c.n_samples for c in chunks[1:])
    return {"seconds": dt_s, "samples_per_s": samples / dt_s, "chunks_per_s": (len(chunks) - 1) / dt_s,
            "bytes_per_chunk": producer.counters.bytes / producer.counters.chunks}  # fmt: skip


def encode_only(chunks: list[SensorChunk], encoding: str) -> float:
    t0 = time.perf_counter()
    for c in chunks:
        encode(c, encoding)  # type: ignore[arg-type]
    return sum(c.n_samples for c in chunks) / (time.perf_counter() - t0)


def measure(chunks: list[SensorChunk], bootstrap: str, compression: str, repeats: int) -> dict[str, float]:
    """Best of ``repeats`` alternating rounds per encoding, plus encode-only throughput."""
    best: dict[str, dict[str, float]] = {}
    for _ in range(repeats):
        for enc in ("binary", "json"):
            r = send_round(chunks, bootstrap, enc, compression)
            print(f"{enc}: {r['samples_per_s']:.0f} samples/s, {r['chunks_per_s']:.0f} chunks/s", file=sys.stderr)
            if enc not in best or r["samples_per_s"] > best[enc]["samples_per_s"]:
                best[enc] = r
    out = {f"{enc}_{k}": v for enc, r in best.items() for k, v in r.items()}
    for enc in ("binary", "json"):
        out[f"{enc}_encode_only_samples_per_s"] = max(encode_only(chunks, enc) for _ in range(repeats))
    return out


def figures(r: dict[str, float], chunk_s: float) -> str:
    return (
        f"{chunk_s:g} s chunks: binary {r['binary_samples_per_s']:,.0f} samples/s "
        f"({r['binary_chunks_per_s']:,.0f} chunks/s, {r['binary_bytes_per_chunk']:.0f} B/chunk) vs json "
        f"{r['json_samples_per_s']:,.0f} samples/s ({r['json_chunks_per_s']:,.0f} chunks/s, "
        f"{r['json_bytes_per_chunk']:.0f} B/chunk); encode only: binary {r['binary_encode_only_samples_per_s']:,.0f}"
        f", json {r['json_encode_only_samples_per_s']:,.0f} samples/s"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", default=None, help="use this broker instead of starting one")
    ap.add_argument("--subject", default="S02")
    ap.add_argument("--chunk-s", type=float, nargs="+", default=[1.0, 10.0],
                    help="chunk lengths to measure; the first gives the top-level figures")  # fmt: skip
    ap.add_argument("--compression", default="gzip")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    runs = []
    with broker(args.bootstrap) as bootstrap:
        for chunk_s in args.chunk_s:
            chunks = load_chunks(Settings().data_dir, args.subject, chunk_s)
            r = measure(chunks, bootstrap, args.compression, args.repeats)
            runs.append({"chunk_s": chunk_s, "chunks": len(chunks), "samples": sum(c.n_samples for c in chunks), **r})
    cmd = ("nice .venv/bin/python bench/producer.py " + " ".join(sys.argv[1:])).strip()
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": cmd,
        "data": f"stress-predict {args.subject}, real E4 (BVP 64 Hz, EDA/TEMP 4 Hz, ACC 32 Hz x3)",
        "compression": args.compression,
        "machine": f"{os.cpu_count()} CPU cores shared with other work, broker on the same host",
        "method": f"best of {args.repeats} alternating rounds; clock stops when flush() returns (all acked)",
        **{k: v for k, v in runs[0].items() if k.endswith(("_samples_per_s", "_chunks_per_s"))},
        "runs": runs,
    }
    name = "producer" if args.compression == "gzip" else f"producer-{args.compression}"
    write_results(result, RESULTS_DIR / f"{name}.json", indent=2)
    text = "; ".join(figures(r, r["chunk_s"]) for r in runs)
    text += f" ({args.compression}, {args.subject} real E4, best of {args.repeats})"
    append_row("producer (kafka-python -> Kafka 4)", text, cmd, date=result["date"][:10])
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
