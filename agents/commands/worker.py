"""``emopipe worker``: run one Faust worker of the emopipe app.

Start as many as you like (on one host give each its own ``--web-port`` or ``--without-web``);
Kafka's consumer group spreads the partitions over them.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from deploy.settings import Settings

HELP = "run a Faust worker of the emopipe app"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``emopipe worker``."""
    p.add_argument("--web-port", type=int, default=None, help="worker web port (env EMOPIPE_WEB_PORT, default 6066)")
    p.add_argument("--without-web", action="store_true", help="do not start the worker's web server")
    p.add_argument(
        "--web-host", default=None, help="address the web server binds (env EMOPIPE_WEB_HOST, default 127.0.0.1)"
    )
    p.add_argument("--store", default=None, help="table store: rocksdb:// (default) or memory:// (env EMOPIPE_STORE)")
    p.add_argument(
        "--guarantee",
        choices=("at_least_once", "exactly_once"),
        default=None,
        help="processing guarantee (env EMOPIPE_PROCESSING_GUARANTEE, default at_least_once)",
    )
    p.add_argument(
        "--stages",
        default=None,
        help="comma-separated stages to run: ingest,window,classify,emit,preview (default: all)",
    )


def _worker_class(faust: Any) -> Any:
    """faust.Worker that installs emopipe's log filters once Faust has configured logging."""
    from agents.logfilter import install_log_filters

    class Worker(faust.Worker):  # type: ignore[misc, name-defined]
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            super().on_setup_root_logger(logger, level)
            install_log_filters()

    return Worker


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Build the app from settings and run a worker until interrupted."""
    import faust

    from agents.app import ALL_STAGES, create_app
    from agents.topics import ensure_topics

    overrides: dict[str, object] = {}
    if args.without_web:
        overrides["web_port"] = 0
    elif args.web_port is not None:
        overrides["web_port"] = args.web_port
    if args.web_host:
        overrides["web_host"] = args.web_host
    if args.store:
        overrides["store"] = args.store
    if args.guarantee:
        overrides["processing_guarantee"] = args.guarantee
    if overrides:
        settings = settings.model_copy(update=overrides)
    stages = tuple(args.stages.split(",")) if args.stages else ALL_STAGES
    (settings.state_dir / settings.app_id).mkdir(parents=True, exist_ok=True)
    ensure_topics(settings)  # explicit partitions and configs; avoids Faust's creation race between workers
    emo = create_app(settings, stages=stages)
    worker = _worker_class(faust)(emo.app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()
    return 0
