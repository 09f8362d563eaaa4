"""agents/rebalance.py: a batch fetched while a rebalance completed is not delivered (Faust would stamp it with
the new generation, deliver it ahead of the committed offset and then drop the records re-read from there)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from faust.transport.consumer import Consumer

from agents import rebalance


def _consumer(generation_after: int, *, revoked: tuple[str, ...] = ()) -> tuple[Any, Any]:
    seeks: list[tuple[str, int]] = []

    async def seek(tp: str, offset: int) -> None:
        if tp in revoked:
            raise RuntimeError(f"{tp} is not assigned")
        seeks.append((tp, offset))

    me = SimpleNamespace(app=SimpleNamespace(consumer_generation_id=1), seek=seek, seeks=seeks)

    async def fetch(self: Any, timeout: float) -> Any:
        await asyncio.sleep(0)
        self.app.consumer_generation_id = generation_after  # a rebalance completes during the fetch
        recs = {"tp0": [SimpleNamespace(offset=o) for o in (14, 15, 16)], "tp1": [SimpleNamespace(offset=7)]}
        return recs, {"tp0", "tp1"}

    return me, rebalance.generation_guard(fetch)


def test_batch_fetched_across_a_rebalance_is_discarded_and_sought_back() -> None:
    me, guarded = _consumer(generation_after=2, revoked=("tp1",))
    before = dict(rebalance.DISCARDED)
    records, active = asyncio.run(guarded(me, 1.0))
    assert records == {} and active == {"tp0", "tp1"}
    assert rebalance.DISCARDED["records"] - before["records"] == 4
    # read again from the batch's first record; a partition revoked meanwhile is left to its new owner
    assert me.seeks == [("tp0", 14)]


def test_batch_of_the_same_generation_is_delivered() -> None:
    me, guarded = _consumer(generation_after=1)
    records, _ = asyncio.run(guarded(me, 1.0))
    assert [r.offset for r in records["tp0"]] == [14, 15, 16] and me.seeks == []


def test_installed_once_on_fausts_consumer() -> None:
    rebalance.install()
    wrapped = Consumer._wait_next_records
    rebalance.install()
    assert Consumer._wait_next_records is wrapped and wrapped._emopipe_generation_guard
