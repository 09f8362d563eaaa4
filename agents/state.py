"""Streaming state in Faust tables.

pipeline/ state objects are plain picklable values; here they are stored in changelog-backed
Faust tables as pickled bytes (explicit, so the table codec can never silently change them).
A restarted or rebalanced worker recovers the table from its changelog topic and continues
exactly where the previous owner of the partition stopped.
"""

from __future__ import annotations

import pickle
import weakref
from collections.abc import Awaitable, Iterable
from typing import Any

import faust
from faust.streams import _current_event

from agents import metrics

#: largest state record accepted by the changelog topics (and the Faust producer)
MAX_STATE_BYTES = 16 * 1024 * 1024


class StateTable:
    """A Faust table of pickled state objects keyed by a string."""

    def __init__(self, app: faust.App, name: str, *, partitions: int) -> None:
        self.name = name
        self.table = app.Table(
            name,
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=partitions,
            # one state can exceed Kafka's 1 MB default (window buffers, pending multimodal slots)
            extra_topic_configs={"max.message.bytes": str(MAX_STATE_BYTES)},
        )

    def get(self, key: str) -> Any:
        """The state stored under ``key``, or None."""
        raw = self.table.get(key.encode())
        return None if raw is None else pickle.loads(raw)  # noqa: S301 - our own changelog

    def set(self, key: str, value: Any, *, event: Any = None) -> None:
        """Store ``value`` (must be picklable) under ``key``; written to the changelog.

        Faust puts a table write into the changelog partition (and RocksDB column) of the event
        being processed. Batched stages write after the batch, outside that context: they pass the
        ``event`` the state belongs to (one of the key's own messages, hence its partition).
        """
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        metrics.state_written(self.name, len(data))
        if event is None:
            self.table[key.encode()] = data
            return
        token = _current_event.set(weakref.ref(event))
        try:
            self.table[key.encode()] = data
        finally:
            _current_event.reset(token)

    def delete(self, key: str) -> None:
        """Forget the state under ``key``."""
        self.table.pop(key.encode(), None)


class BatchStates:
    """One batch's view of a :class:`StateTable`, for stages that process messages in batches.

    Reads see the batch's own earlier writes; nothing reaches the table until :meth:`flush`,
    which the stage calls only after every output of the batch has been acknowledged by Kafka.
    So a crash loses no output (at-least-once), and state never runs ahead of delivered output.
    """

    def __init__(self, table: StateTable) -> None:
        self.table = table
        self._values: dict[str, Any] = {}
        self._events: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        """Latest state of ``key`` (this batch's write, else the table's)."""
        return self._values[key] if key in self._values else self.table.get(key)

    def set(self, key: str, value: Any, event: Any) -> None:
        """Stage a write; ``event`` is the message the state belongs to (fixes its partition)."""
        self._values[key] = value
        self._events[key] = event

    def event_of(self, key: str) -> Any:
        """The message a staged state of ``key`` belongs to (KeyError if nothing is staged for it)."""
        return self._events[key]

    async def flush(self, producer: Any, outputs: Iterable[Awaitable[Any]] = ()) -> None:
        """Wait for the batch's ``outputs`` to be acknowledged, then write the staged states to the
        table and wait until their changelog records are delivered.

        ``outputs`` are the delivery futures of what the batch sent downstream: a state moves on only
        once the outputs that reflect it are durable (at-least-once without loss). Offsets of the
        batch are committed only after this returns (Faust acks a batch when the stage's loop body
        is done), so a crash can never leave committed offsets ahead of the durable state: the
        restored state is always at or after the committed position.
        """
        for fut in outputs:
            await fut
        for key, value in self._values.items():
            self.table.set(key, value, event=self._events[key])
        self._values.clear()
        self._events.clear()
        await producer.flush()
