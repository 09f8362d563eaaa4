"""A guard around Faust's fetch loop: records fetched under one consumer generation are never delivered in the next.

faust-streaming runs aiokafka in a thread; ``Consumer.getmany`` awaits a batch of records from it and only then
reads the app's consumer generation, to stamp the messages with it. When a rebalance completes during that wait,
records fetched *before* it (the old assignment's prefetch, at offsets past the committed one) are stamped with the
*new* generation and delivered. Faust's fetch loop then sets its read offset to their offset and, when the
records re-read from the committed offset arrive, drops them as "below the read offset", and it commits through
the "gap" it saw. Measured here (tests/integration/test_multihost.py, a network cut): one stream's chunks 14..114
never reached ingest, its stream continued from 115 with a gap, and the subject lost every window; the reorder
step cannot help with chunks that are never delivered.

:func:`install` wraps ``Consumer._wait_next_records``: the generation is read *before* the wait, and a batch that
comes back under another generation is discarded (logged) and each of its partitions is sought back to the
batch's first record, so those records are read again, in order; a Faust "gap" is never seen and nothing is
committed past them. (Discarding alone was not enough: a run of the rebalance test showed the fetch position past
the batch and Faust committing through it.) Idempotent; installed by :func:`agents.app.create_app`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faust.transport.consumer import Consumer

logger = logging.getLogger(__name__)

#: batches discarded because a rebalance completed while they were fetched (for tests and /status)
DISCARDED: dict[str, int] = {"batches": 0, "records": 0}


def generation_guard(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``original`` (a ``_wait_next_records``) that returns no records when the generation changed during it."""

    async def wait_next_records(self: Any, timeout: float) -> Any:
        generation = self.app.consumer_generation_id
        records, active_partitions = await original(self, timeout)
        if records and self.app.consumer_generation_id != generation:
            n = sum(len(v) for v in records.values())
            DISCARDED["batches"] += 1
            DISCARDED["records"] += n
            logger.info(
                "discarded %d records fetched under consumer generation %s (now %s): seeking back to re-read them",
                n, generation, self.app.consumer_generation_id,
            )  # fmt: skip
            await _seek_back(self, records)
            return {}, active_partitions
        return records, active_partitions

    wait_next_records._emopipe_generation_guard = True  # type: ignore[attr-defined]
    return wait_next_records


async def _seek_back(consumer: Any, records: Any) -> None:
    """Seek each partition of a discarded batch back to its first record (also Faust's read offset).

    Without it the fetch position stays past the batch and Faust, seeing the next record beyond its read offset,
    records a "gap" and commits through the discarded records. A partition no longer assigned here is read by its
    new owner from the committed offset (the discarded records were never acknowledged).
    """
    for tp, recs in records.items():
        if not recs:
            continue
        offset = min(r.offset for r in recs)
        try:
            await consumer.seek(tp, offset)
        except Exception as exc:  # revoked meanwhile: its new owner starts at the committed offset
            logger.info("not seeking %s back to %d here (%s): read from the committed offset", tp, offset, exc)


def install() -> None:
    """Wrap Faust's ``Consumer._wait_next_records`` once (see the module docstring)."""
    if not getattr(Consumer._wait_next_records, "_emopipe_generation_guard", False):
        Consumer._wait_next_records = generation_guard(Consumer._wait_next_records)  # type: ignore[method-assign]


__all__ = ["DISCARDED", "generation_guard", "install"]
