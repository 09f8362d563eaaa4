"""Streaming state in Faust tables.

pipeline/ state objects are plain picklable values; here they are stored in changelog-backed
Faust tables as pickled bytes (explicit, so the table codec can never silently change them).
A restarted or rebalanced worker recovers the table from its changelog topic and continues
exactly where the previous owner of the partition stopped.
"""

from __future__ import annotations

import pickle
from typing import Any

import faust


class StateTable:
    """A Faust table of pickled state objects keyed by a string."""

    def __init__(self, app: faust.App, name: str, *, partitions: int, use_partitioner: bool = False) -> None:
        # use_partitioner: the changelog partition comes from the key (murmur2, like the producers'),
        # not from the event being processed; required when state is written outside the event's
        # context (batched processing), and correct only when the key is the message key (subject).
        self.table = app.Table(
            name,
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=partitions,
            use_partitioner=use_partitioner,
        )

    def get(self, key: str) -> Any:
        """The state stored under ``key``, or None."""
        raw = self.table.get(key.encode())
        return None if raw is None else pickle.loads(raw)  # noqa: S301 - our own changelog

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` (must be picklable) under ``key``; written to the changelog."""
        self.table[key.encode()] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def delete(self, key: str) -> None:
        """Forget the state under ``key``."""
        self.table.pop(key.encode(), None)
