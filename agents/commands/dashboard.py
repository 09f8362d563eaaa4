"""``emopipe dashboard``: serve the live dashboard (subjects, one subject, pipeline) to a browser."""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from deploy.settings import Settings

HELP = "serve the live dashboard in the browser (events from Redis, worker metrics)"


def worker_urls(text: str) -> tuple[str, ...]:
    """``--workers``: comma-separated http(s)://host:port base URLs of workers' web servers."""
    urls = tuple(u.strip().rstrip("/") for u in text.split(",") if u.strip())
    if not urls:
        msg = "--workers needs at least one URL"
        raise argparse.ArgumentTypeError(msg)
    for u in urls:
        parts = urlsplit(u)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path or parts.query:
            msg = f"--workers: {u!r} is not a base URL like http://127.0.0.1:6066"
            raise argparse.ArgumentTypeError(msg)
    return urls


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``emopipe dashboard``."""
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: loopback only; the page has no login)")  # fmt: skip
    p.add_argument("--workers", type=worker_urls, default=None,
                   help="comma-separated worker web URLs whose /health, /status, /metrics the pipeline view shows "
                        "(default http://127.0.0.1:<EMOPIPE_WEB_PORT>)")  # fmt: skip
    p.add_argument("--poll-s", type=float, default=2.0, help="seconds between reads of the worker endpoints (>= 1)")
    p.add_argument("--stale-s", type=float, default=20.0, help="a subject without events this long is 'stale'")
    p.add_argument("--offline-s", type=float, default=120.0, help="a subject without events this long is 'offline'")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until interrupted."""
    from agents.dashboard.app import DashboardConfig, serve

    if not 0 <= args.port <= 65535:
        print(f"emopipe dashboard: --port {args.port} is not a port number", file=sys.stderr)
        return 2
    if args.poll_s < 1.0 or args.stale_s <= 0 or args.offline_s < args.stale_s:
        print("emopipe dashboard: need --poll-s >= 1 and 0 < --stale-s <= --offline-s", file=sys.stderr)
        return 2
    workers = args.workers or (f"http://127.0.0.1:{settings.web_port or 6066}",)
    cfg = DashboardConfig(
        redis_url=settings.redis_url,
        prefix=settings.topic_prefix,
        workers=workers,
        poll_s=args.poll_s,
        stale_s=args.stale_s,
        offline_s=args.offline_s,
    )

    def ready(url: str) -> None:
        print(f"emopipe dashboard: {url} (Redis {settings.redis_url}, prefix {settings.topic_prefix}; "
              f"workers {', '.join(workers)})", flush=True)  # fmt: skip

    try:
        serve(cfg, host=args.host, port=args.port, on_ready=ready)
    except OSError as exc:
        print(f"emopipe dashboard: cannot listen on {args.host}:{args.port} ({exc})", file=sys.stderr)
        return 2
    return 0
