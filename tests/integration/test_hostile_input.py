"""Hostile input through the real broker: every bad message lands in the DLQ with its reason; the worker lives.

One ingest worker (with its web server) receives a few thousand hostile messages of many kinds (garbage
bytes, truncated and mutated binary, wrong magic, wrong format byte, giant seq, bad ids, NaN rates
and samples, wrong topic, wrong key, duplicate seq, missing fields), plus a 1.5 MB uncompressed and a
20 MB gzip-compressed message. Asserts: sent == dead-lettered (read back from the DLQ topic), each
dead letter with a reason and kind, the big ones truncated with the hash and length of the whole
payload; the valid chunks (and one sent after the storm) are accepted; /metrics and /status agree.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import urllib.request

import msgpack
import numpy as np
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from agents.connections import free_port
from agents.dlq import MAX_PAYLOAD_KEPT_BYTES, decode_dead_letter
from deploy.settings import MODALITIES
from pipeline.codec import MAGIC, encode_binary, encode_json
from pipeline.contract import SensorChunk
from tests.integration.kafka_util import consume_all

N_STREAMS = 20
N_HOSTILE = 3000
BIG_TOPIC_BYTES = 4 * 1024 * 1024


def _chunk(seq: int, subject: str, *, n: int = 8) -> SensorChunk:
    return SensorChunk(subject, "s1", "e4", "eda", ("eda",), ("uS",), 4.0, 1_700_000_000_000_000_000 + seq * 2 * 10**9,
                       seq, np.arange(n, dtype=np.float32).reshape(1, n))  # fmt: skip


def _json_with(chunk: SensorChunk, **fields: object) -> bytes:
    body = json.loads(encode_json(chunk))
    body.update(fields)
    return json.dumps(body).encode()  # NaN goes out as JSON's non-standard constant


def _hostile(rng: random.Random, i: int, prefix: str) -> tuple[str, bytes | None, bytes, str]:
    """(topic, key, value, expected reason kind) of hostile message number ``i``."""
    eda = f"{prefix}.raw.eda"
    subj = f"H{i % N_STREAMS:02d}"
    good = _chunk(1 + i, subj)
    kind = i % 14
    if kind == 0:
        return eda, subj.encode(), rng.randbytes(rng.randint(0, 300)), "decode"
    if kind == 1:
        data = encode_binary(good)
        return eda, subj.encode(), data[: rng.randint(5, len(data) - 1)], "decode"
    if kind == 2:
        return eda, subj.encode(), b"EMO2" + encode_binary(good)[4:], "decode"
    if kind == 3:
        return eda, subj.encode(), MAGIC + b"\x07" + encode_binary(good)[5:], "decode"
    if kind == 4:
        return eda, subj.encode(), _json_with(good, seq=2**70), "contract"
    if kind == 5:
        bad_id = rng.choice(["S02\x1b[2J\x1b[31m", "S02\u202egnp.exe", "x" * 10_000, "a\x00b", "cafe\u0301", "a b"])
        return eda, bad_id.encode(), _json_with(good, subject_id=bad_id), "contract"
    if kind == 6:
        return eda, subj.encode(), _json_with(good, fs_hz=float("nan")), "contract"
    if kind == 7:
        body = json.loads(encode_json(good))
        body["samples"][0][rng.randrange(8)] = float("inf")
        return eda, subj.encode(), json.dumps(body).encode(), "contract"
    if kind == 8:
        return f"{prefix}.raw.bvp", subj.encode(), encode_binary(good), "contract"  # EDA chunk on the BVP topic
    if kind == 9:
        return eda, b"someone-else", encode_binary(good), "contract"  # key is not the subject id
    if kind == 10:
        return eda, subj.encode(), encode_binary(_chunk(0, subj)), "continuity"  # seq 0 again: duplicate
    if kind == 11:
        return eda, subj.encode(), json.dumps({"schema_version": 1, "subject_id": subj}).encode(), "contract"
    if kind == 12:
        return eda, subj.encode(), MAGIC + b"\x01" + msgpack.packb([1, 2, 3]), "contract"  # body not a map
    return eda, subj.encode(), _json_with(good, t0_ns=-5), "contract"


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_hostile_messages_all_land_in_the_dlq(kafka_bootstrap, unique_prefix, start_worker):
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    big = {"max.message.bytes": str(BIG_TOPIC_BYTES)}
    try:  # raw.eda accepts records up to 4 MiB (so a 1.5 MB one gets in uncompressed); the others keep 1 MiB
        admin.create_topics(
            [NewTopic(f"{unique_prefix}.raw.{m}", 2, 1, topic_configs=big if m == "eda" else {}) for m in MODALITIES]
        )
    finally:
        admin.close()
    web_port = free_port()
    worker = start_worker(
        unique_prefix,
        extra_env={"EMOPIPE_PARTITIONS": "2", "EMOPIPE_STORE": "memory://", "EMOPIPE_WEB_PORT": str(web_port)},
        args=("--stages", "ingest"),
    )
    worker.wait_ready()

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=20,
                             max_request_size=32 * 1024 * 1024)  # fmt: skip
    eda = f"{unique_prefix}.raw.eda"
    for s in range(N_STREAMS):  # one valid first chunk per stream, so that duplicates have something to repeat
        producer.send(eda, key=f"H{s:02d}".encode(), value=encode_binary(_chunk(0, f"H{s:02d}")))
    producer.flush()
    rng = random.Random(20261202)
    expected: list[str] = []
    for i in range(N_HOSTILE):
        topic, key, value, kind = _hostile(rng, i, unique_prefix)
        producer.send(topic, key=key, value=value)
        expected.append(kind)
    big_plain = b"\x00\xff" * (750 * 1024)  # 1.5 MB, not a message of any encoding
    producer.send(eda, key=b"H00", value=big_plain).get(timeout=60)
    gz = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", compression_type="gzip",
                       max_request_size=64 * 1024 * 1024)  # fmt: skip
    big_zipped = b"{" + b" " * (20 * 1024 * 1024)  # 20 MB of JSON-looking text; a few kB once gzipped
    gz.send(f"{unique_prefix}.raw.temp", key=b"H01", value=big_zipped).get(timeout=60)
    gz.close()
    producer.flush()
    n_sent = N_HOSTILE + 2

    t0 = time.monotonic()
    dlq = consume_all(kafka_bootstrap, f"{unique_prefix}.dlq", expect=n_sent, timeout_s=120)
    drain_s = time.monotonic() - t0
    letters = [decode_dead_letter(v) for _, v, _ in dlq]
    assert len(letters) == n_sent, f"sent {n_sent} hostile messages, {len(letters)} dead letters"
    assert worker.proc.poll() is None, "the worker died on hostile input"
    assert all(lt.reason and lt.kind and lt.payload_sha256 for lt in letters)
    assert all(h.get("reason") and h.get("kind") for _, _, h in dlq)
    kinds = [lt.kind for lt in letters]
    assert "internal" not in kinds, [lt.reason for lt in letters if lt.kind == "internal"][:5]
    for want in ("decode", "contract", "continuity"):
        assert kinds.count(want) >= expected.count(want), want
    reasons = " | ".join(lt.reason for lt in letters)
    for text in ("seq out of range", "ANSI escape", "bidirectional-text control", "characters long (limit 64)",
                 "NFC", "arrived on topic", "must be the subject id", "duplicate seq", "non-finite",
                 "unknown encoding", "lacks field", "t0_ns out of range", "must be a map"):  # fmt: skip
        assert text in reasons, text
    assert "\x1b" not in reasons and "\u202e" not in reasons

    by_len = {lt.payload_len: lt for lt in letters}
    for original in (big_plain, big_zipped):
        lt = by_len[len(original)]
        assert lt.truncated and lt.payload_sha256 == hashlib.sha256(original).hexdigest()
        assert lt.payload() == original[:MAX_PAYLOAD_KEPT_BYTES]
    for lt in letters:  # truncated exactly when the payload or the key was too long
        assert lt.truncated == (lt.payload_len > MAX_PAYLOAD_KEPT_BYTES or len((lt.key or "").encode()) >= 256)
        if lt.payload_len <= MAX_PAYLOAD_KEPT_BYTES:
            assert len(lt.payload()) == lt.payload_len

    # the worker goes on: the valid first chunks were accepted, and so is one sent after the storm
    producer.send(eda, key=b"H05", value=encode_binary(_chunk(1, "H05"))).get(timeout=30)
    producer.close()
    accepted = 0.0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and accepted < N_STREAMS + 1:
        _, text = _get(web_port, "/metrics")
        accepted = sum(s.value for fam in text_string_to_metric_families(text.decode()) for s in fam.samples
                       if s.name == "emopipe_ingest_chunks_total" and s.labels["outcome"] == "accepted")  # fmt: skip
        time.sleep(0.5)
    assert accepted == N_STREAMS + 1

    # and it says so on its web endpoints
    status, body = _get(web_port, "/status")
    st = json.loads(body)
    assert status == 200 and st["dead_letters_total"] == n_sent and len(st["last_dead_letters"]) == 10
    assert st["stages"] == ["ingest"]
    status, text = _get(web_port, "/metrics")
    dead = sum(s.value for fam in text_string_to_metric_families(text.decode()) for s in fam.samples
               if s.name == "emopipe_dead_letters_total" and s.labels["stage"] == "ingest")  # fmt: skip
    assert status == 200 and dead == n_sent
    print(f"{n_sent} hostile messages dead-lettered in {drain_s:.1f} s after the last send")
