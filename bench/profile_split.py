"""Where a worker's time goes: a py-spy ``--format raw`` profile split into pipeline categories.

Each sample's stack (``frame;frame;... count``) is assigned to the first category of
:data:`CATEGORIES` (in that priority order) whose pattern matches any of its frames: so time in
``sosfilt`` under ``stream_step`` counts as filter and the rest of ``stream_step`` as window assembly,
and framework buckets (Faust, asyncio) only get what no pipeline or Kafka frame claims. Prints a
Markdown table: share of the busy samples (not waiting in the event loop's select), and µs per
processed subject-second when ``--us-per-subject-s`` is given (e.g. from bench/realtime.py).

    py-spy record -p <worker pid> -d 60 -r 50 -f raw -o profile.txt
    .venv/bin/python bench/profile_split.py profile.txt [--us-per-subject-s 2600]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

#: (category, regex on a frame "function (file:line)"), in priority order
CATEGORIES: list[tuple[str, str]] = [
    ("idle (event loop waiting)", r"Selector\.select \(selectors"),
    ("decode + validate chunk", r"decode_chunk|validate_chunk|_decode_binary|_check_(names|samples|time)"),
    ("encode chunk (valid.*)", r"encode_binary"),
    ("continuity", r"continuity_step|check_message"),
    ("filter (sosfilt)", r"filter_step|sosfilt"),
    ("quality", r"window_quality|motion_penalty"),
    ("features", r"window_features|beat_peaks|bvp_peaks|_features"),
    ("window assembly (buffers, windows)", r"stream_step|_emit|_gather|_make_window|_align|_hold_nan|window_step"),
    ("window record encode/decode", r"encode_window_record|decode_window_record|pipeline/records"),
    ("state encode", r"encode_state|pickle.*dumps|\bdumps \(|_pack|packb"),
    ("state decode", r"decode_state|\bloads \(|_unpack|unpackb"),
    ("classify (assembly, baseline, model)", r"subject_step|assembler_step|preprocess|classify_batch|torch|models/"),
    ("Redis sink", r"redis_sink|redis/"),
    (
        "Kafka produce (aiokafka send, incl. changelogs)",
        r"aiokafka/producer|faust/transport/producer|_send_changelog|send_soon|\bsend \(faust",
    ),
    ("table store (RocksDB, changelog bookkeeping)", r"faust/stores|rocksdict|rocksdb|faust/tables"),
    ("Kafka fetch/commit (aiokafka consumer)", r"aiokafka/consumer|faust/transport/consumer|fetcher|_commit"),
    ("socket I/O (Kafka, Redis)", r"_SelectorSocketTransport|sock_(recv|send)"),
    ("Faust/mode framework (streams, agents, timers)", r"faust/|mode/|venusian"),
    ("asyncio", r"asyncio/"),
]


def split(path: Path) -> tuple[dict[str, int], int]:
    counts: dict[str, int] = {c: 0 for c, _ in CATEGORIES}
    counts["other"] = 0
    total = 0
    pats = [(c, re.compile(p)) for c, p in CATEGORIES]
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        k = int(n)
        total += k
        cat = next((c for c, p in pats if p.search(stack)), "other")
        counts[cat] += k
    return counts, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profile", type=Path)
    ap.add_argument("--us-per-subject-s", type=float, default=None)
    args = ap.parse_args()
    counts, total = split(args.profile)
    idle_cat = CATEGORIES[0][0]
    idle = counts.pop(idle_cat)
    busy = total - idle
    head = "| where | share of busy samples |" + (" µs per subject-second |" if args.us_per_subject_s else "")
    print(head)
    print("|---|---|" + ("---|" if args.us_per_subject_s else ""))
    for cat, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        if n == 0:
            continue
        share = n / busy
        us = f" {share * args.us_per_subject_s:.0f} |" if args.us_per_subject_s else ""
        print(f"| {cat} | {100 * share:.1f} % |{us}")
    print(f"\n{total} samples, {busy} busy; {idle} ({100 * idle / total:.1f} %) waiting in the event loop's select")


if __name__ == "__main__":
    main()
