"""The one batched-stage skeleton: take a batch, step each message, send, wait for acks, then move state.

Every stage (ingest, window, classify, emit) is a :class:`Stage`: a ``step`` per message that stages
state changes in a :class:`~agents.state.BatchStates` and returns the records to send, and an optional
``finish`` per batch (classify runs its batched model calls there). :func:`run_stage` is the only loop:

1. take up to ``batch_max`` messages (or what arrives within ``within_s``);
2. ``step`` each; a message the step cannot process goes to the injected :class:`ErrorPolicy`
   (dead-letter it with the reason, or raise), and the worker keeps running;
3. send every output and dead letter, then ``BatchStates.flush``: wait until Kafka acknowledged them all,
   write the staged states to the changelog-backed tables and wait for those writes. Faust commits the
   batch's offsets only after the loop body returns, so no offset is committed before the outputs and
   dead letters of its message are durable (at-least-once, nothing lost).

Sinks that are not Kafka (Redis) retry with :class:`SinkRetry`: a sink outage never ends an agent; the
stage waits (bounded backoff, a log line and a metric per retry) and its input stays in Kafka meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from agents import metrics
from agents.dlq import reject
from agents.state import BatchStates

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Out:
    """One record a step sends: a Faust topic handle, the key and the value (bytes)."""

    topic: Any
    key: bytes
    value: bytes


class ErrorPolicy:
    """What a stage does with a message it cannot process (explicit, injected from the settings).

    ``dead_letter``: the message goes byte for byte to the DLQ with the reason; returns the delivery
    future, which the batch waits for before its offsets are committed. ``raise``: the error propagates
    and ends the agent (for debugging and tests that must see the traceback).
    """

    def __init__(self, topics: Any, mode: Literal["dead_letter", "raise"] = "dead_letter") -> None:
        self.topics = topics
        self.mode = mode

    async def __call__(self, stage: str, event: Any, exc: BaseException) -> Any:
        """Handle one failed message; the returned awaitable (or None) is waited for with the batch's outputs."""
        if self.mode == "raise":
            raise exc
        return await reject(self.topics, stage, event, exc)


class Stage(Protocol):
    """A stage's per-message step and per-batch finish (see the module docstring)."""

    step_id: str

    def states(self) -> BatchStates | None:
        """A fresh staging area for one batch (None for a stateless stage)."""
        ...

    async def step(self, staged: Any, event: Any) -> Sequence[Out]:
        """Process one message: stage state, return what to send; raise for a bad message."""
        ...

    async def finish(self, staged: Any, errors: ErrorPolicy) -> tuple[Sequence[Out], Sequence[Any]]:
        """After every message of the batch: more outputs, and dead-letter futures of its own failures."""
        ...


async def run_stage(
    stage: Stage, stream: Any, *, producer: Any, errors: ErrorPolicy, batch_max: int, within_s: float
) -> None:
    """The loop of every stage (see the module docstring)."""
    async for batch in stream.take_events(batch_max, within=within_s):
        staged = stage.states()
        pending: list[Any] = []
        for event in batch:
            try:
                outs = await stage.step(staged, event)
            except Exception as exc:  # bad input: keep the worker alive, lose nothing
                fut = await errors(stage.step_id, event, exc)
                if fut is not None:
                    pending.append(fut)
                continue
            pending += [await o.topic.send(key=o.key, value=o.value) for o in outs]
        outs, failed = await stage.finish(staged, errors)
        pending += [await o.topic.send(key=o.key, value=o.value) for o in outs]
        pending += [f for f in failed if f is not None]
        if staged is not None:
            await staged.flush(producer, pending)  # states move on only once `pending` is acknowledged
        else:
            for fut in pending:
                await fut
        metrics.stage_batch(stage.step_id, len(batch), len(pending))


class BaseStage:
    """Defaults for stages without state or a batch finish."""

    step_id = "stage"

    def states(self) -> BatchStates | None:
        return None

    async def finish(self, staged: Any, errors: ErrorPolicy) -> tuple[Sequence[Out], Sequence[Any]]:
        return (), ()


class SinkRetry:
    """Retries of a non-Kafka sink: connection errors wait with capped exponential backoff for as long as
    the outage lasts (a sink outage never ends an agent; the input stays in Kafka); any other error is
    retried ``max_attempts`` times, then raised (and dead-lettered by the stage's policy).
    """

    def __init__(
        self,
        name: str,
        transient: tuple[type[BaseException], ...],
        *,
        max_attempts: int = 3,
        backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
        on_retry: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        self.name = name
        self.transient = transient
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.on_retry = on_retry

    async def call(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``fn`` until it succeeds (see the class docstring)."""
        backoff, attempt, outage_since = self.backoff_s, 0, None
        loop = asyncio.get_running_loop()
        while True:
            try:
                result = await fn()
                if outage_since is not None:
                    logger.warning("%s: sink back after %.1f s", self.name, loop.time() - outage_since)
                return result
            except self.transient as exc:
                if outage_since is None:
                    outage_since = loop.time()
                    logger.warning("%s: sink unavailable (%s); retrying with backoff", self.name, exc)
                self._retried(exc)
            except Exception as exc:
                attempt += 1
                if attempt >= self.max_attempts:
                    raise
                logger.warning("%s: sink error %r (attempt %d of %d)", self.name, exc, attempt, self.max_attempts)
                self._retried(exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)

    def _retried(self, exc: BaseException) -> None:
        metrics.sink_failed(self.name, retrying=True)
        if self.on_retry is not None:
            self.on_retry(self.name, exc)
