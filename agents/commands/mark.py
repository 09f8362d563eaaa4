"""``emopipe mark``: send a condition marker by hand (start or end of a named segment, or a point event)."""

from __future__ import annotations

import argparse
import sys
import time

from deploy.settings import Settings

HELP = "mark a condition by hand: start/end of a named segment or a point event (markers topic)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emopipe mark``."""
    parser.add_argument("label", metavar="LABEL", help="condition name, e.g. rest, stroop, interview")
    parser.add_argument("--subject", required=True, help="subject id (the Kafka key of its sensor streams)")
    parser.add_argument("--session", default="live", help="session id (default 'live', as the bridges use)")
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--start", action="store_const", dest="kind", const="start", help="a segment LABEL starts")
    g.add_argument("--end", action="store_const", dest="kind", const="end", help="the segment LABEL ends")
    parser.add_argument("--at", type=float, default=None, metavar="UNIX_S",
                        help="event time in unix seconds (default: now); without --start/--end a point "
                             "marker")  # fmt: skip
    parser.add_argument("--topic-prefix", default=None, help="topic prefix (env EMOPIPE_TOPIC_PREFIX)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Send one marker; print it. Returns 0, or 2 if it breaks the marker contract."""
    from agents.commands._publishing import settings_for
    from agents.markers import send_markers
    from agents.topics import ensure_topics
    from pipeline.exceptions import ContractError
    from pipeline.markers import Marker, encode_marker

    settings = settings_for(args, settings)
    t_ns = time.time_ns() if args.at is None else round(args.at * 1e9)
    m = Marker(args.subject, args.session, t_ns, args.kind or "point", args.label, "mark")
    try:
        encode_marker(m)
    except ContractError as exc:
        print(f"emopipe mark: {exc}", file=sys.stderr)
        return 2
    ensure_topics(settings, only=(settings.topic("markers"),))
    send_markers([m], settings)
    print(f"{settings.topic('markers')}: {encode_marker(m).decode()}")
    return 0
