"""Live == offline through the real broker: the window stage in a real Faust worker.

The first minutes of a real Stress-Predict recording are produced chunk by chunk into Kafka; the
worker's ingest and window stages must emit exactly the windows and features that one offline
pass (`stream_offline`, same code, same float32 input) computes over the same samples.
"""

from __future__ import annotations

import math

import numpy as np
from kafka.admin import KafkaAdminClient, NewTopic

from agents.producer import ChunkProducer
from agents.sources import read_e4_session
from deploy.settings import MODALITIES, Settings
from pipeline.plan import stream_config_for
from pipeline.records import decode_window_record
from pipeline.sources.e4 import E4Signal, e4_session_chunks
from pipeline.stream import stream_offline
from tests.integration.kafka_util import consume_all

MINUTES = 4


def _truncate(sig: E4Signal, minutes: float) -> E4Signal:
    import dataclasses

    n = int(minutes * 60 * sig.fs_hz)
    return dataclasses.replace(sig, samples=sig.samples[:, :n])


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_window_stage_equals_offline_on_real_recording(shared_data, kafka_bootstrap, unique_prefix, start_worker):
    signals = {
        k: _truncate(v, MINUTES) for k, v in read_e4_session(shared_data / "stress-predict/Raw_data/S02").items()
    }
    chunks = list(e4_session_chunks(signals, subject_id="S02", session_id="s1", chunk_s=1.0))
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics(
        [NewTopic(f"{unique_prefix}.{kind}.{m}", 2, 1) for kind in ("raw",) for m in MODALITIES]
        + [NewTopic(f"{unique_prefix}.windows", 2, 1)]
    )
    admin.close()

    # offline reference: one pass per stream over the concatenated chunk samples (the float32 the live path sees)
    expected: dict[tuple[str, int], dict[str, float]] = {}
    for modality in {c.modality for c in chunks}:
        mine = [c for c in chunks if c.modality == modality]
        x = np.concatenate([c.samples for c in mine], axis=1)
        for w in stream_offline(stream_config_for(mine[0]), mine[0].t0_ns, x):
            expected[(modality, w.end_ns)] = w.features
    assert len(expected) > 4 * (MINUTES - 1) * 12 - 8

    worker = start_worker(unique_prefix, extra_env={"EMOPIPE_PARTITIONS": "2"}, args=("--stages", "ingest"))
    worker.wait_ready()
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix, partitions=2)
    with ChunkProducer(kafka_bootstrap, settings=settings) as producer:
        for c in chunks:
            producer.send(c)

    got = consume_all(kafka_bootstrap, f"{unique_prefix}.windows", expect=len(expected), timeout_s=120)
    recs = [decode_window_record(v) for _, v, _ in got]
    keys = [(r.window.modality, r.window.end_ns) for r in recs]
    assert len(keys) == len(set(keys)), "a window was emitted twice"
    assert set(keys) == set(expected)
    for r in recs:
        want = expected[(r.window.modality, r.window.end_ns)]
        assert r.window.features.keys() == want.keys()
        bad = [k for k in want if not _same(r.window.features[k], want[k])]
        assert not bad, f"{r.window.modality} window ending {r.window.end_ns}: {bad} differ"
        assert r.subject_id == "S02" and r.window.end_ns - r.window.start_ns == 60 * 10**9
    assert all(k == b"S02" for k, _, _ in got)
    assert "Crashed" not in worker.log()
