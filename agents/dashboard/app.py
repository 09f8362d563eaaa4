"""The dashboard server: a small Starlette (ASGI) app, served by uvicorn.

One process holds one Redis pub/sub connection (all subjects' events and previews) and polls the
workers' ``/health``, ``/status`` and ``/metrics`` at most every ``poll_s`` seconds; both feed a
:class:`~agents.dashboard.hub.Hub` that fans each update out to every open tab over server-sent
events. A tab's only Redis reads are the ones it asks for when it opens a subject (the recent
history and the latest previews): nothing polls Redis per tab.

=================================  ===========================================================
``GET /``                          the page (``static/index.html``; views by URL hash)
``GET /static/...``                its script and style sheet (no CDN, nothing fetched elsewhere)
``GET /api/stream``                server-sent events: ``snapshot`` first, then ``event``,
                                   ``preview`` and ``pipeline``
``GET /api/subjects``              the latest event view of every subject
``GET /api/subjects/<id>?count=N`` the subject's N most recent events (oldest first) + previews
``GET /api/pipeline``              the latest pipeline view (worker metrics)
``GET /health``                    ``{"status": "ok"}``
=================================  ===========================================================

Errors are JSON (``{"error": ...}``) under ``/api`` and a short HTML page elsewhere, with a 4xx
status for bad input; stack traces go to the server log only.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.client import AsyncEventClient
from agents.dashboard.hub import Hub, HubFull
from agents.dashboard.views import (
    BadRequest,
    WorkerReading,
    event_view,
    parse_count,
    parse_prometheus,
    pipeline_view,
    preview_view,
    validate_subject,
)

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
#: the page may load only its own files and talk only to this server
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class DashboardConfig:
    """What the server reads and how the page judges freshness."""

    redis_url: str
    prefix: str = "emopipe"
    workers: tuple[str, ...] = ("http://127.0.0.1:6066",)
    poll_s: float = 2.0
    stale_s: float = 20.0
    offline_s: float = 120.0
    keepalive_s: float = 15.0
    max_clients: int = 64


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


async def _read_live(client: AsyncEventClient, hub: Hub) -> None:
    """The server's one Redis subscription: every event and preview, fanned out to all tabs."""
    backoff_s = 0.5
    while True:
        try:
            async for kind, d in client.live():
                backoff_s = 0.5
                if kind == "event":
                    view = event_view(d, received_ms=_now_ms())
                    if view is not None:
                        hub.update_event(view)
                        hub.publish("event", view)
                elif (pv := preview_view(d)) is not None:
                    hub.publish("preview", pv)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("dashboard: Redis subscription lost (%s); retrying in %.1f s", exc, backoff_s)
            await asyncio.sleep(backoff_s)
            backoff_s = min(backoff_s * 2, 10.0)


async def _fetch_worker(session: Any, url: str) -> WorkerReading:
    """One reading of a worker's /health, /status and /metrics (each may be missing)."""
    reading = WorkerReading(url=url, time_s=time.monotonic())
    errors = []
    for path in ("/health", "/status", "/metrics"):
        try:
            async with session.get(url.rstrip("/") + path) as resp:
                body = await resp.text()
                reading.reachable = True
                if resp.status != 200:
                    errors.append(f"{path}: HTTP {resp.status}")
                    continue
                if path == "/metrics":
                    reading.metrics = parse_prometheus(body)
                else:
                    d = json.loads(body)
                    if isinstance(d, dict):
                        setattr(reading, path[1:], d)
        except Exception as exc:
            errors.append(f"{path}: {type(exc).__name__}: {exc}"[:200])
            if isinstance(exc, OSError):  # connection refused, host unreachable, timeout: the worker is down
                break
    reading.error = "; ".join(errors) or None
    return reading


async def _poll_workers(cfg: DashboardConfig, hub: Hub) -> None:
    """Fetch every worker's endpoints every ``poll_s`` (once per server, whatever the number of tabs)."""
    import aiohttp

    previous: dict[str, WorkerReading] = {}
    timeout = aiohttp.ClientTimeout(total=max(0.5, cfg.poll_s * 0.75))
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            t0 = time.monotonic()
            readings = list(await asyncio.gather(*(_fetch_worker(session, u) for u in cfg.workers)))
            view = pipeline_view(readings, previous, prefix=cfg.prefix)
            view["time_ms"] = _now_ms()
            for r in readings:
                if r.metrics is not None:
                    previous[r.url] = r
            hub.pipeline = view
            hub.publish("pipeline", view)
            await asyncio.sleep(max(0.0, cfg.poll_s - (time.monotonic() - t0)))


def create_dashboard_app(cfg: DashboardConfig) -> Any:
    """The Starlette app (its lifespan starts the Redis reader and the metrics poller)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    hub = Hub(max_clients=cfg.max_clients)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        client = AsyncEventClient(cfg.redis_url, prefix=cfg.prefix)
        state["client"] = client
        try:
            for subject in await client.subjects():
                d = await client.latest_json(subject)
                view = event_view(d) if d is not None else None
                if view is not None:
                    hub.update_event(view)
        except Exception as exc:  # Redis down at start: the reader keeps retrying
            logger.warning("dashboard: could not read the latest events (%s)", exc)
        tasks = [asyncio.create_task(_read_live(client, hub)), asyncio.create_task(_poll_workers(cfg, hub))]
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            for c in list(hub.clients):
                c.queue.put_nowait(None)
            await client.close()

    def _json(data: Any, status: int = 200) -> Response:
        return JSONResponse(data, status_code=status, headers=SECURITY_HEADERS)

    def _no_query(request: Request) -> None:
        if request.query_params:
            names = ", ".join(repr(k[:40]) for k in request.query_params)
            msg = f"this endpoint takes no query parameters (got {names})"
            raise BadRequest(msg)

    async def index(request: Request) -> Response:
        _no_query(request)
        return FileResponse(STATIC_DIR / "index.html", headers=SECURITY_HEADERS)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    async def health(request: Request) -> Response:
        return _json({"status": "ok", "clients": len(hub.clients), "subjects": len(hub.latest)})

    async def subjects(request: Request) -> Response:
        _no_query(request)
        return _json({"subjects": [hub.latest[s] for s in sorted(hub.latest)]})

    async def subject(request: Request) -> Response:
        sid = validate_subject(request.path_params["subject"])
        count = parse_count(request.query_params)
        client: AsyncEventClient = state["client"]
        if not await client.has_subject(sid):
            msg = f"unknown subject {sid!r}: no events in Redis under prefix {cfg.prefix!r}"
            raise BadRequest(msg, status=404)
        events = [v for v in (event_view(d) for d in await client.recent_json(sid, count)) if v is not None]
        previews = {m: pv for m, d in (await client.previews_json(sid)).items() if (pv := preview_view(d)) is not None}
        return _json({"subject_id": sid, "events": events, "previews": previews, "server_now_ms": _now_ms()})

    async def pipeline(request: Request) -> Response:
        _no_query(request)
        return _json(hub.pipeline or {"available": False, "workers": [], "pending": True})

    async def stream(request: Request) -> Response:
        _no_query(request)
        try:
            c = hub.connect()
        except HubFull as exc:
            return _json({"error": str(exc)}, status=503)

        async def frames() -> AsyncIterator[str]:
            try:
                yield "retry: 2000\n\n"
                yield hub.snapshot(_now_ms())
                config = {"stale_s": cfg.stale_s, "offline_s": cfg.offline_s, "poll_s": cfg.poll_s}
                yield f"event: config\ndata: {json.dumps(config)}\n\n"
                while True:
                    try:
                        frame = await asyncio.wait_for(c.queue.get(), cfg.keepalive_s)
                    except TimeoutError:
                        yield ": keepalive\n\n"
                        continue
                    if frame is None:
                        return
                    yield frame
            finally:
                hub.disconnect(c)

        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}
        return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)

    def _error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/health":
            return _json({"error": message, "status": status}, status=status)
        body = (
            "<!doctype html><meta charset=utf-8><title>emopipe dashboard: error</title>"
            f"<h1>{status}</h1><p>{html.escape(message)}</p><p><a href='/'>back to the dashboard</a></p>"
        )
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    async def on_bad_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadRequest)
        return _error(request, exc.status, str(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        messages = {404: f"no such page or endpoint: {request.url.path[:100]}", 405: "method not allowed"}
        return _error(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))

    async def on_error(request: Request, exc: Exception) -> Response:
        logger.exception("dashboard: error serving %s", request.url.path)
        return _error(request, 500, "internal error (see the dashboard server's log)")

    routes = [
        Route("/", index),
        Route("/health", health),
        Route("/favicon.ico", favicon),
        Route("/api/stream", stream),
        Route("/api/subjects", subjects),
        Route("/api/subjects/{subject:path}", subject),
        Route("/api/pipeline", pipeline),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={BadRequest: on_bad_request, HTTPException: on_http, Exception: on_error},
    )
    app.state.hub = hub
    return app


def serve(cfg: DashboardConfig, *, host: str, port: int, on_ready: Any = None) -> None:
    """Serve the dashboard until interrupted; ``on_ready(url)`` is called once it listens."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    app = create_dashboard_app(cfg)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=3))
    shown_host = f"[{host}]" if ":" in host else host

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started and on_ready is not None:
            on_ready(f"http://{shown_host}:{bound_port}/")
        await task

    asyncio.run(main())
