"""The worker's Kafka producer compression and the RocksDB memory bounds of its tables (settings -> Faust)."""

from __future__ import annotations

import pytest

from agents.app import faust_options, worker_compression
from agents.exceptions import AgentError
from agents.state import store_options
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


def test_rocksdb_memory_is_bounded_per_table_partition() -> None:
    opts = store_options(Settings(state_write_buffer_mb=3, state_block_cache_mb=5))
    assert opts == {"write_buffer_size": 3 << 20, "max_write_buffer_number": 2, "block_cache_size": 5 << 20}
    assert store_options(Settings(store="memory://")) is None
