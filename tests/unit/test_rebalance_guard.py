"""agents/rebalance.py: a batch fetched while a rebalance completed is not delivered (Faust would stamp it with
the new generation, deliver it ahead of the committed offset and then drop the records re-read from there)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from faust.transport.consumer import Consumer

from agents import rebalance


def _consumer(generation_after: int) -> tuple[Any, Any]:
    me = SimpleNamespace(app=SimpleNamespace(consumer_generation_id=1))

    async def fetch(self: Any, timeout: float) -> Any:
        await asyncio.sleep(0)
        self.app.consumer_generation_id = generation_after  # a rebalance completes during the fetch
        return {"tp": [object(), object(), object()]}, {"tp"}

    return me, rebalance.generation_guard(fetch)


def test_batch_fetched_across_a_rebalance_is_discarded() -> None:
    me, guarded = _consumer(generation_after=2)
    before = dict(rebalance.DISCARDED)
    records, active = asyncio.run(guarded(me, 1.0))
    assert records == {} and active == {"tp"}
    assert rebalance.DISCARDED["records"] - before["records"] == 3


def test_batch_of_the_same_generation_is_delivered() -> None:
    me, guarded = _consumer(generation_after=1)
    records, _ = asyncio.run(guarded(me, 1.0))
    assert len(records["tp"]) == 3


def test_installed_once_on_fausts_consumer() -> None:
    rebalance.install()
    wrapped = Consumer._wait_next_records
    rebalance.install()
    assert Consumer._wait_next_records is wrapped and wrapped._emopipe_generation_guard
