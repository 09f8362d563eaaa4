"""``emopipe replay``: replay recordings (E4 sessions, eGeMAPS frames, OpenFace CSV) to the raw topics."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from agents.commands._publishing import add_pacing_arguments, add_producer_arguments, send_all
from deploy.settings import Settings

logger = logging.getLogger(__name__)

HELP = "replay recordings (Empatica E4, eGeMAPS frames, OpenFace CSV) to Kafka, interleaved in event time"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emopipe replay``."""
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH",
        help="E4 session directory (BVP/EDA/TEMP/ACC.csv, e.g. stress-predict/Raw_data/S02), a directory of "
             "such sessions (every subject at once), an eGeMAPS frames .npz (ravdess/frames/ActorNN.npz) or an "
             "OpenFace .csv; several paths replay together, merged by event time",
    )  # fmt: skip
    add_pacing_arguments(parser)
    parser.add_argument("--chunk-s", type=float, default=1.0,
                        help="chunk length in seconds of signal (default 1.0)")  # fmt: skip
    parser.add_argument("--rebase-now", action="store_true",
                        help="shift all times so the replay starts now (default: the recordings' own "
                             "unix times; eGeMAPS/OpenFace, which have none, start with the earliest "
                             "E4 session)")  # fmt: skip
    parser.add_argument("--keep-times", action="store_true",
                        help="keep each recording's own unix times (default: several recordings are shifted "
                             "to start together with the earliest, so subjects recorded on different days "
                             "play side by side)")  # fmt: skip
    parser.add_argument("--subject", action="append", default=None, metavar="ID",
                        help="override the subject id (default: directory or file name); give once per "
                             "recording, in order")  # fmt: skip
    add_producer_arguments(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Replay; returns 0 on success."""
    from agents.sources import count_chunks, find_recordings, replay_chunks

    recordings = find_recordings(list(args.paths))
    logger.info(
        "replaying %d recording(s): %s", len(recordings), ", ".join(f"{r.kind}:{r.subject_id}" for r in recordings)
    )
    rebase = time.time_ns() if args.rebase_now else None
    chunks = replay_chunks(
        recordings,
        chunk_s=args.chunk_s,
        rebase_to_ns=rebase,
        align_starts=not args.keep_times,
        subject_ids=args.subject,
    )
    send_all(chunks, args, settings, total=count_chunks(recordings, chunk_s=args.chunk_s))
    return 0
