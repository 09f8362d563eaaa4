"""``emopipe simulate``: publish SYNTHETIC multimodal streams of N subjects (every chunk synthetic=True)."""

from __future__ import annotations

import argparse
import logging
import math
import time

from agents.commands._publishing import add_pacing_arguments, add_producer_arguments, send_all
from deploy.settings import MODALITIES, Settings

logger = logging.getLogger(__name__)

HELP = "publish SYNTHETIC multimodal streams (neurokit2 simulators) following a baseline/stress schedule"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emopipe simulate``."""
    parser.add_argument("--subjects", type=int, default=2, help="number of simulated subjects (default 2)")
    parser.add_argument("--duration-s", type=float, default=300.0, help="length of the simulation in s (default 300)")
    parser.add_argument("--segment-s", type=float, default=60.0,
                        help="length of each baseline / stress segment in s, alternating (default 60)")  # fmt: skip
    parser.add_argument("--modalities", nargs="+", choices=MODALITIES, default=list(MODALITIES),
                        help="streams to produce (default: all)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same data (default 0)")
    parser.add_argument("--chunk-s", type=float, default=1.0, help="chunk length in s (default 1.0)")
    parser.add_argument("--start-ns", type=int, default=None,
                        help="event time of the first sample, ns since the epoch (default: now)")  # fmt: skip
    add_pacing_arguments(parser)
    add_producer_arguments(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Simulate and publish; returns 0 on success."""
    from pipeline.simulate import LAYOUT, SimConfig, default_schedule, simulate_chunks

    cfg = SimConfig(
        subjects=tuple(f"sim{i + 1:02d}" for i in range(args.subjects)),
        schedule=default_schedule(args.duration_s, segment_s=args.segment_s),
        modalities=tuple(args.modalities),
        t0_ns=args.start_ns if args.start_ns is not None else time.time_ns(),
        chunk_s=args.chunk_s,
        seed=args.seed,
    )
    per_subject = sum(math.ceil(args.duration_s / args.chunk_s) for m in cfg.modalities if LAYOUT[m][0] is not None)
    logger.warning("publishing SYNTHETIC data (synthetic=True on every chunk) for %d subjects", args.subjects)
    send_all(simulate_chunks(cfg), args, settings, total=per_subject * args.subjects or None)
    return 0
