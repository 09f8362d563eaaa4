"""The worker's Kafka producer compression and the RocksDB memory bounds of its tables (settings -> Faust)."""

from __future__ import annotations

from pathlib import Path

import faust.stores
import numpy as np
import pytest

from agents.app import faust_options, worker_compression
from agents.exceptions import AgentError
from agents.state import BoundedRocksDBOptions, BoundedRocksDBStore, SharedStoreMemory, store_options, store_url
from deploy.settings import Settings


def test_worker_compresses_what_it_writes_with_gzip_by_default() -> None:
    assert Settings().worker_compression == "gzip"
    assert faust_options(Settings())["producer_compression_type"] == "gzip"
    assert faust_options(Settings(worker_compression="none"))["producer_compression_type"] is None


def test_a_codec_without_its_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiokafka import codec

    monkeypatch.setattr(codec, "has_lz4", lambda: False)
    with pytest.raises(AgentError, match=r"EMOPIPE_WORKER_COMPRESSION=lz4 needs cramjam .* pip install cramjam lz4"):
        worker_compression("lz4")


def test_rocksdb_tables_share_one_memory_budget() -> None:
    opts = store_options(Settings(state_write_buffer_mb=3, state_memory_mb=40))
    assert opts == {"write_buffer_size": 3 << 20, "max_write_buffer_number": 2, "memory_budget_bytes": 40 << 20}
    assert store_url("rocksdb://", opts, "window-streams") == "emopipe-rocksdb:window-streams"
    assert store_options(Settings(store="memory://")) is None
    assert store_url("memory://", None, "window-streams") is None
    assert faust.stores.by_url("emopipe-rocksdb:window-streams") is BoundedRocksDBStore


def test_every_database_of_the_process_charges_the_one_shared_cache(tmp_path: Path) -> None:
    budget = 16 << 20
    dbs = [BoundedRocksDBOptions(budget, write_buffer_size=1 << 20, max_write_buffer_number=2).open(tmp_path / f"p{i}")
           for i in range(3)]  # fmt: skip
    shared = SharedStoreMemory.for_budget(budget)
    before = shared.cache.get_usage()
    value = np.random.default_rng(0).bytes(4096)  # incompressible
    for j, db in enumerate(dbs):
        for k in range(200):
            db[f"{j}-{k}".encode()] = value
    # three databases' memtables (~2.4 MB of values) are charged to the one cache, which stays within the budget
    assert shared.write_buffers.get_usage() >= 3 * 200 * 4096
    assert shared.cache.get_usage() >= before + 3 * 200 * 4096
    assert shared.cache.get_usage() <= budget
    assert SharedStoreMemory.for_budget(budget) is shared
    for db in dbs:
        db.close()
