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
    parser.add_argument("--tags", choices=("points", "pairs", "off"), default="points",
                        help="E4 button presses (tags_*.csv) to the markers topic: each press a point marker "
                             "(default), presses 1-2, 3-4, ... as segments tag1, tag2, ... (pairs), or none (off). "
                             "They are sent before the chunks, with the chunks' time shift")  # fmt: skip
    parser.add_argument("--tag-pairs", type=int, default=0,
                        help="--tags pairs: only the first N pairs, later presses are points (0 = all; "
                             "Stress-Predict: 3, the Stroop, interview and hyperventilation tasks)")  # fmt: skip
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
    if args.tags != "off":
        from agents.commands._publishing import settings_for
        from agents.markers import send_markers
        from agents.sources import replay_markers
        from agents.topics import ensure_topics

        markers = replay_markers(
            recordings, mode=args.tags, rebase_to_ns=rebase, align_starts=not args.keep_times,
            subject_ids=args.subject, max_pairs=args.tag_pairs,
        )  # fmt: skip
        if markers:
            msettings = settings_for(args, settings)
            ensure_topics(msettings, only=(msettings.topic("markers"),))
            n = send_markers(markers, msettings)
            logger.info("sent %d E4 tag marker(s) to %s", n, msettings.topic("markers"))
    send_all(chunks, args, settings, total=count_chunks(recordings, chunk_s=args.chunk_s))
    return 0
