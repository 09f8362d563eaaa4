"""``emopipe export``: write a subject's retained raw streams and markers from Kafka to Parquet or EDF+/BDF+."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deploy.settings import Settings

HELP = "write a subject's retained raw streams and markers to Parquet (default) or EDF+/BDF+ files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emopipe export``."""
    from agents.topics import RAW_RETENTION_MS

    days = RAW_RETENTION_MS / 86_400_000
    parser.description = (
        f"{HELP}. Reads the raw topics, which Kafka keeps for {days:g} days by default (retention.ms of "
        "<prefix>.raw.*; see agents/topics.py RAW_RETENTION_MS, or change a running topic with kafka-configs.sh "
        "--alter --entity-type topics --entity-name emopipe.raw.eda --add-config retention.ms=...)."
    )
    parser.add_argument("--subject", required=True, help="subject id (the Kafka key of its streams)")
    parser.add_argument("--session", default=None, help="only this session id (default: every retained session)")
    parser.add_argument("--format", choices=("parquet", "edf", "bdf"), default="parquet",
                        help="parquet (exact float32 values, t_ns and segment columns; default), edf (EDF+, "
                             "16 bit) or bdf (BDF+, 24 bit): one file per stream and continuous segment, "
                             "markers as annotations")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("emopipe-export"),
                        help="output folder (default ./emopipe-export); a sub-folder per subject")  # fmt: skip
    parser.add_argument("--topic-prefix", default=None, help="topic prefix (env EMOPIPE_TOPIC_PREFIX)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Export; print the files written. Returns 0, or 1 when nothing is retained for the subject."""
    from agents.commands._publishing import settings_for
    from agents.export import collect, write_edf, write_parquet

    settings = settings_for(args, settings)
    tables, markers = collect(settings, args.subject, args.session)
    if not tables and not markers:
        which = f" session {args.session!r}" if args.session else ""
        print(
            f"emopipe export: nothing retained for subject {args.subject!r}{which} on {settings.raw_topic('*')} "
            "(wrong id, or older than the topics' retention)",
            file=sys.stderr,
        )
        return 1
    out = Path(args.out) / "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in args.subject)
    if args.format == "parquet":
        paths = write_parquet(tables, markers, out)
    else:
        paths = write_edf(tables, markers, out, bdf=args.format == "bdf")
    for tb in tables:
        n_seg = int(tb.segment.max()) + 1 if len(tb.segment) else 0
        print(f"{tb.session_id} {tb.modality} {tb.device_id}: {tb.values.shape[1]} samples, {n_seg} segment(s)")
    print(f"{len(markers)} marker(s)")
    for p in paths:
        print(f"wrote {p}")
    return 0
