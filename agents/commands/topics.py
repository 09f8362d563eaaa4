"""``emopipe topics``: create every emopipe topic with explicit partitions and configuration.

Workers create missing topics too; run this first when you want to choose partition counts up
front (all raw, window and event topics must share one count: see agents/topics.py).
"""

from __future__ import annotations

import argparse

from deploy.settings import Settings

HELP = "create the emopipe topics with explicit settings"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``emopipe topics``."""
    p.add_argument("--partitions", type=int, default=None, help="partitions per topic (env EMOPIPE_PARTITIONS)")
    p.add_argument("--list", action="store_true", help="only print the topics and their settings")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Create missing topics; print what exists."""
    from agents.topics import ensure_topics, topic_specs

    if args.partitions:
        settings = settings.model_copy(update={"partitions": args.partitions})
    specs = topic_specs(settings)
    if args.list:
        for s in specs:
            print(f"{s.name}\tpartitions={s.partitions}\t{s.config}")
        return 0
    created = ensure_topics(settings)
    print(f"created {created} topics, {len(specs) - created} existed")
    return 0
