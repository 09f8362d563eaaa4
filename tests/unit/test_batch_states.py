"""BatchStates: staged writes become table writes only after the batch's outputs are acknowledged."""

from __future__ import annotations

import asyncio

from agents.state import BatchStates


class _Table:
    def __init__(self, log: list[str]) -> None:
        self.data: dict[str, object] = {}
        self.log = log

    def get(self, key: str) -> object:
        return self.data.get(key)

    def set(self, key: str, value: object, event: object) -> None:
        self.log.append(f"set {key}")
        self.data[key] = value


class _Producer:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def flush(self) -> None:
        self.log.append("producer flush")


def test_states_are_written_after_outputs_and_before_the_producer_flush():
    log: list[str] = []
    table = _Table(log)
    staged = BatchStates(table)  # type: ignore[arg-type]

    async def output(name: str) -> None:
        await asyncio.sleep(0)
        log.append(f"ack {name}")

    async def run() -> None:
        staged.set("a", 1, event=None)
        staged.set("a", 2, event=None)
        assert staged.get("a") == 2 and table.get("a") is None  # staged, not yet in the table
        await staged.flush(_Producer(log), [output("o1"), output("o2")])

    asyncio.run(run())
    assert log == ["ack o1", "ack o2", "set a", "producer flush"]
    assert table.get("a") == 2 and staged.get("a") == 2
