"""Fan-out of live updates to every open browser tab (one Redis subscription per server process).

The server's single Redis reader and its metrics poller call :meth:`Hub.publish`; each tab's SSE
response holds a :class:`Client` queue. A frame is formatted once and put on every queue, so the
cost of a tab is a queue, never a Redis command. A tab that stops reading (its queue is full) is
disconnected rather than allowed to grow the server's memory; its browser reconnects and gets a
fresh snapshot. The hub also keeps the latest state (each subject's latest event view, the latest
pipeline view) that a newly connected tab receives first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from agents.dashboard.views import sse_frame
from agents.exceptions import AgentError


class HubFull(AgentError):
    """Too many tabs are connected."""


@dataclass(eq=False)
class Client:
    """One connected tab: its queue of SSE frames; ``None`` on the queue means "disconnect"."""

    queue: asyncio.Queue[str | None]
    dropped: bool = False


@dataclass
class Hub:
    """Latest state plus the set of connected clients."""

    max_clients: int = 64
    queue_size: int = 2000
    clients: set[Client] = field(default_factory=set)
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipeline: dict[str, Any] | None = None
    frames_published: int = 0

    def connect(self) -> Client:
        """A new client queue; HubFull when ``max_clients`` are connected."""
        if len(self.clients) >= self.max_clients:
            msg = f"too many dashboard connections ({self.max_clients}); close a tab and retry"
            raise HubFull(msg)
        c = Client(asyncio.Queue(self.queue_size))
        self.clients.add(c)
        return c

    def disconnect(self, c: Client) -> None:
        """Forget a client (idempotent)."""
        self.clients.discard(c)

    def snapshot(self, now_ms: int) -> str:
        """The first frame a tab receives: the latest event of every subject and the pipeline view."""
        return sse_frame(
            "snapshot",
            {
                "server_now_ms": now_ms,
                "subjects": [self.latest[s] for s in sorted(self.latest)],
                "pipeline": self.pipeline,
            },
        )

    def update_event(self, view: dict[str, Any]) -> bool:
        """Keep a fused event view as its subject's latest if it is not older; True when kept."""
        if view.get("kind") == "head":
            return False
        cur = self.latest.get(view["subject_id"])
        if cur is not None and cur["window_end_ns"] > view["window_end_ns"]:
            return False
        self.latest[view["subject_id"]] = view
        return True

    def publish(self, event: str, data: Any) -> int:
        """Send one frame to every client; returns how many got it (full queues are disconnected)."""
        frame = sse_frame(event, data)
        self.frames_published += 1
        sent = 0
        for c in list(self.clients):
            try:
                c.queue.put_nowait(frame)
                sent += 1
            except asyncio.QueueFull:
                self._drop(c)
        return sent

    def _drop(self, c: Client) -> None:
        c.dropped = True
        self.clients.discard(c)
        while not c.queue.empty():
            c.queue.get_nowait()
        c.queue.put_nowait(None)
