"""Streaming state in Faust tables.

pipeline/ state objects are plain data; here they are stored in changelog-backed Faust tables as
bytes of the versioned state codec (:mod:`pipeline.statecodec`: a format byte + msgpack, arrays as
raw little-endian bytes, dataclasses by registered tag), explicit so that the table codec can never
silently change them. Records of the previous format (pickle) are still read. A restarted or
rebalanced worker recovers the table from its changelog topic and continues exactly where the
previous owner of the partition stopped.

:class:`IncrementalStateTable` stores a :class:`pipeline.stream.StreamState` (alone, or as the
``stream`` field of a state such as :class:`pipeline.steps.IngestStreamState`) as a small header under
the stream key and each immutable sample segment once under ``<key>#<segment id>``, with a
tombstone when the segment leaves the window (the config once): changelog bytes grow with the
chunk, not the window.

:data:`STATE_BYTES_WRITTEN` counts the bytes written per table (for the metric
``emopipe_state_bytes_written_total{table}``).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import is_dataclass, replace
from typing import Any, ClassVar

import faust
import faust.stores
from faust.stores.rocksdb import RocksDBOptions
from faust.stores.rocksdb import Store as RocksDBStore
from faust.streams import _current_event
from yarl import URL

from agents import metrics
from agents.exceptions import AgentError
from pipeline.exceptions import StateCodecError
from pipeline.statecodec import decode_state, encode_state, register_state_type
from pipeline.stream import StreamHeader, StreamState, stream_delta, stream_merge

#: largest state record accepted by the changelog topics (and the Faust producer)
MAX_STATE_BYTES = 16 * 1024 * 1024

#: bytes of state records written, per table name (emopipe_state_bytes_written_total{table})
STATE_BYTES_WRITTEN: dict[str, int] = {}

# states defined in agents/ (lazily: agents.ingest imports this module)
register_state_type("ingest/1", "agents.ingest:IngestState")  # cursors of the separate ingest stage (read only)
register_state_type("speaker-stats/1", "models.heads:SpeakerStats")
register_state_type("sequence-state/1", "models.sequence:SequenceState")


class StateTable:
    """A Faust table of pickled state objects keyed by a string."""

    def __init__(
        self, app: faust.App, name: str, *, partitions: int, store_options: dict[str, Any] | None = None
    ) -> None:
        self.name = name
        STATE_BYTES_WRITTEN.setdefault(name, 0)
        self.table = app.Table(
            name,
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=partitions,
            # one state can exceed Kafka's 1 MB default (window buffers, pending multimodal slots)
            extra_topic_configs={"max.message.bytes": str(MAX_STATE_BYTES)},
            store=store_url(str(app.conf.store), store_options, name),
            options=store_options,
        )

    def get(self, key: str) -> Any:
        """The state stored under ``key``, or None."""
        raw = self.table.get(key.encode())
        return None if raw is None else decode_state(raw)

    def set(self, key: str, value: Any, *, event: Any = None) -> None:
        """Store ``value`` (a state the codec knows) under ``key``; written to the changelog.

        Faust puts a table write into the changelog partition (and RocksDB column) of the event
        being processed. Batched stages write after the batch, outside that context: they pass the
        ``event`` the state belongs to (one of the key's own messages, hence its partition).
        """
        data = encode_state(value)
        STATE_BYTES_WRITTEN[self.name] += len(data)
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


#: the store URL scheme of :class:`BoundedRocksDBStore` (Faust's ``rocksdb://`` with one memory budget)
BOUNDED_ROCKSDB_SCHEME = "emopipe-rocksdb"
faust.stores.STORES.aliases.setdefault(BOUNDED_ROCKSDB_SCHEME, "agents.state:BoundedRocksDBStore")


def store_options(settings: Any) -> dict[str, Any] | None:
    """Options of a table's store: every RocksDB database of the worker in one memory budget (None: not RocksDB).

    Faust's RocksDB defaults are a 64 MB memtable (x3) and a 2 GB block cache for each table partition's
    database. A real-time worker writes a few KB of state per subject-second, so its memtables filled for hours
    and its resident memory grew at the state write rate (+386 MB/h at 20 subjects in a 30-minute soak). Here
    each memtable is ``state_write_buffer_mb``, and all databases of the process share one LRU cache of
    ``state_memory_mb`` that also holds their index and filter blocks and is charged for their memtables (a
    RocksDB write buffer manager): the worker's RocksDB memory is bounded by ``state_memory_mb`` whatever the
    number of tables and partitions.
    """
    if not str(settings.store).startswith("rocksdb"):
        return None
    mb = 1024 * 1024
    return {
        "write_buffer_size": settings.state_write_buffer_mb * mb,
        "max_write_buffer_number": 2,
        "memory_budget_bytes": settings.state_memory_mb * mb,
    }


def store_url(settings_store: str, options: dict[str, Any] | None, table_name: str) -> str | None:
    """The Faust store URL of a table: ``emopipe-rocksdb:<path>`` when ``options`` carry a memory budget.

    The path is the store URL's own, or the table name as Faust gives it: the same database directory as a
    plain ``rocksdb://`` table, so a worker keeps its state across the change. (A scheme-only yarl URL is
    false, and Faust would then fall back to the app's store.)
    """
    if options is None or "memory_budget_bytes" not in options:
        return None
    return f"{BOUNDED_ROCKSDB_SCHEME}:{URL(settings_store).path or table_name}"


class SharedStoreMemory:
    """One RocksDB LRU cache and write buffer manager for every database of the process.

    Parameters
    ----------
    budget_bytes
        Capacity of the cache. Memtables are charged to it (up to half of it, then RocksDB flushes), and
        index and filter blocks live in it, so data blocks, indexes, filters and memtables together stay
        within the budget.
    """

    _by_budget: ClassVar[dict[int, SharedStoreMemory]] = {}

    def __init__(self, budget_bytes: int) -> None:
        import rocksdict

        self.budget_bytes = budget_bytes
        self.cache = rocksdict.Cache(budget_bytes)
        self.write_buffers = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
            budget_bytes // 2, False, self.cache
        )

    @classmethod
    def for_budget(cls, budget_bytes: int) -> SharedStoreMemory:
        """The process's shared memory of this budget (created, and reported as metrics, once)."""
        shared = cls._by_budget.get(budget_bytes)
        if shared is None:
            shared = cls._by_budget[budget_bytes] = cls(budget_bytes)
            metrics.watch_store_memory({
                "cache": shared.cache.get_usage,
                "memtables": shared.write_buffers.get_usage,
                "budget": lambda: float(budget_bytes),
            })  # fmt: skip
        return shared


class BoundedRocksDBOptions(RocksDBOptions):
    """Faust's rocksdict options, with the process's :class:`SharedStoreMemory` instead of a cache per database."""

    def __init__(self, memory_budget_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.memory_budget_bytes = memory_budget_bytes

    def as_options(self) -> Any:
        """rocksdict ``Options`` of one table partition's database."""
        import rocksdict

        shared = SharedStoreMemory.for_budget(self.memory_budget_bytes)
        opts = rocksdict.Options(raw_mode=True)
        opts.create_if_missing(True)
        opts.set_max_open_files(self.max_open_files)
        opts.set_write_buffer_size(self.write_buffer_size)
        opts.set_target_file_size_base(self.target_file_size_base)
        opts.set_max_write_buffer_number(self.max_write_buffer_number)
        opts.set_write_buffer_manager(shared.write_buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(shared.cache)
        table.set_cache_index_and_filter_blocks(True)
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        opts.set_block_based_table_factory(table)
        return opts


class BoundedRocksDBStore(RocksDBStore):
    """Faust's RocksDB store (rocksdict driver) whose databases share one memory budget (``emopipe-rocksdb:<table>``).

    Chosen by :func:`store_url` for tables whose :func:`store_options` carry ``memory_budget_bytes``; users
    configure ``EMOPIPE_STORE=rocksdb://`` and ``EMOPIPE_STATE_MEMORY_MB``, not this scheme.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        o = self.rocksdb_options
        extra = dict(o.extra_options)
        if "memory_budget_bytes" not in extra:
            msg = "the emopipe-rocksdb store takes its memory budget from store_options(); use EMOPIPE_STORE=rocksdb://"
            raise AgentError(msg)
        budget = int(extra.pop("memory_budget_bytes"))
        if not o.use_rocksdict:
            msg = "the emopipe-rocksdb store needs the rocksdict driver (pip install faust-streaming[rocksdict])"
            raise AgentError(msg)
        self.rocksdb_options = BoundedRocksDBOptions(
            budget,
            max_open_files=o.max_open_files,
            write_buffer_size=o.write_buffer_size,
            max_write_buffer_number=o.max_write_buffer_number,
            target_file_size_base=o.target_file_size_base,
            bloom_filter_size=o.bloom_filter_size,
            use_rocksdict=True,
            ttl=o.ttl,
            **extra,
        )


@contextmanager
def _in_event(event: Any) -> Iterator[None]:
    """Table writes inside go to the changelog partition of ``event`` (see :meth:`StateTable.set`)."""
    if event is None:
        yield
        return
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class IncrementalStateTable(StateTable):
    """A :class:`StateTable` that stores stream states as a header plus segments written once.

    Same ``get``/``set`` API (a drop-in for a plain table). A
    :class:`~pipeline.stream.StreamState` is split by :func:`pipeline.stream.stream_delta`: the
    header under ``key`` (every step), the config under ``key#cfg`` (when it changes), each new
    segment under ``key#<id>`` (once), a tombstone for each segment that left the window; all
    records of one key go to the changelog partition of the same event: segments, then the header, then
    the tombstones, so a crash between two of them never leaves a header naming a deleted segment. Other
    values are stored whole. Decoded states are cached per key and reused while the stored header
    bytes are unchanged (a header names its segments, whose ids are never reused), so a read costs
    one header fetch; a table restored from the changelog changes the header and misses the cache.
    """

    def __init__(
        self, app: faust.App, name: str, *, partitions: int, store_options: dict[str, Any] | None = None
    ) -> None:
        super().__init__(app, name, partitions=partitions, store_options=store_options)
        self._cache: dict[str, tuple[bytes, Any]] = {}

    def get(self, key: str) -> Any:
        """The state stored under ``key`` (config, header and segments reassembled), or None."""
        raw = self.table.get(key.encode())
        if raw is None:
            self._cache.pop(key, None)
            return None
        hit = self._cache.get(key)
        if hit is not None and hit[0] == raw:
            return hit[1]
        value = decode_state(raw)
        inner = _stream_of(value)
        if isinstance(inner, StreamHeader):
            cfg_raw = self.table.get(f"{key}#cfg".encode())
            if cfg_raw is None:
                msg = f"table {self.name}: stream {key} has a header but no config record ({key}#cfg)"
                raise StateCodecError(msg)
            cfg = decode_state(cfg_raw)
            segs = {}
            for i in range(inner.seg_first, inner.seg_next):
                data = self.table.get(f"{key}#{i}".encode())
                if data is not None:
                    segs[i] = decode_state(data)
            value = _with_stream(value, stream_merge(cfg, inner, segs))
        self._cache[key] = (raw, value)
        return value

    def set(self, key: str, value: Any, *, event: Any = None) -> None:
        """Store ``value``; its StreamState as header + config if changed + new segments + tombstones."""
        stream = _stream_of(value)
        if not isinstance(stream, StreamState):
            self._cache.pop(key, None)
            super().set(key, value, event=event)
            return
        old = _stream_of(self.get(key))
        cfg, header, added, dropped = stream_delta(old if isinstance(old, StreamState) else None, stream)
        records = [(f"{key}#{seg.seg_id}", encode_state(seg)) for seg in added]
        if cfg is not None:
            records.append((f"{key}#cfg", encode_state(cfg)))
        head = encode_state(_with_stream(value, header))
        records.append((key, head))
        # order matters for a crash in the middle (the changelog keeps what was sent): new segments and the config
        # first, then the header that names them, and only then the tombstones of segments the stored header no
        # longer names. A header in the changelog never names a segment that is not there.
        with _in_event(event):
            for k, data in records:
                self.table[k.encode()] = data
            for i in dropped:
                self.table.pop(f"{key}#{i}".encode(), None)
        nbytes = sum(len(d) for _, d in records)
        STATE_BYTES_WRITTEN[self.name] += nbytes
        metrics.state_written(self.name, nbytes)
        self._cache[key] = (head, value)

    def delete(self, key: str) -> None:
        """Forget the state under ``key``, its config and its segments."""
        old = _stream_of(self.get(key))
        if isinstance(old, StreamState):
            for i in range(old.seg_first, old.seg_next):
                self.table.pop(f"{key}#{i}".encode(), None)
            self.table.pop(f"{key}#cfg".encode(), None)
        self._cache.pop(key, None)
        super().delete(key)


def _stream_of(value: Any) -> Any:
    """The stream state (or stored header) in ``value``: itself, or its ``stream`` field (an ingest state)."""
    if isinstance(value, StreamState | StreamHeader):
        return value
    return getattr(value, "stream", None) if is_dataclass(value) else None


def _with_stream(value: Any, stream: Any) -> Any:
    """``value`` with its stream state (or header) replaced by ``stream``."""
    if isinstance(value, StreamState | StreamHeader):
        return stream
    return replace(value, stream=stream)


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


__all__ = [
    "STATE_BYTES_WRITTEN",
    "BatchStates",
    "BoundedRocksDBStore",
    "IncrementalStateTable",
    "SharedStoreMemory",
    "StateTable",
    "store_options",
]
