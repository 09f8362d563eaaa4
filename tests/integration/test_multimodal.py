"""A COMPOSITE multimodal session through the real broker: every head live == offline, fusion, degradation.

The session (agents/composite.py) joins real recordings of different people under one subject id:
E4 wrist signals, RAVDESS speech LLD frames, OpenFace AU frames, systole ECG and respiration, and
SYNTHETIC EEG. One worker runs every default head plus a head whose card does not fit the face stream
(it raises on every face window). The face stream stops mid-session. Checked against the offline
reference (the same functions in-process, without the failing head):
- every working head's live events equal its offline events (windows, labels, probabilities);
- the respiration head reads the belt stream: respiration is in the fused events with its quality and a
  weight > 0 (not ``no_head``);
- one fused event per window, none lost; the face head is in the fused events while its stream runs
  and falls away after it stops; fused events equal offline wherever the same heads took part;
- the failing head sends each of its windows to the DLQ with a reason naming it, without stalling the others.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from agents.client import EventClient
from agents.composite import COMPOSITE_SUBJECT, composite_session_chunks
from agents.dlq import decode_dead_letter
from agents.markers import send_markers
from agents.offline import offline_events
from agents.producer import ChunkProducer
from agents.topics import ensure_topics
from deploy.settings import Settings
from models.heads import load_heads
from pipeline.markers import Marker
from tests.integration.kafka_util import consume_all

MINUTES = 3.0
FACE_STOP_S = 100.0
#: event seconds sent per wall second
PACE = 6.0
S = 10**9


def _broken_head_dir(tmp_path, model_dir):
    """The committed cards plus one whose head raises on every face window (a channel the stream lacks)."""
    out = tmp_path / "models"
    shutil.copytree(model_dir, out)
    card = json.loads((model_dir / "eeg_synthetic.json").read_text())
    card.update(name="broken_face", modalities=["video_features"], channels={"video_features": ["NO_SUCH_AU"]},
                rates_hz={"video_features": 30.0})  # fmt: skip
    (out / "broken_face.json").write_text(json.dumps(card))
    return out


def test_composite_session_every_head_live_equals_offline(
    shared_data, kafka_bootstrap, redis_url, unique_prefix, start_worker, tmp_path
):
    base = Settings()
    chunks = list(composite_session_chunks(shared_data, minutes=MINUTES, stop_s={"video_features": FACE_STOP_S}))
    heads, plan = load_heads(base.model_dir, base.head_names)
    expected = offline_events(heads, chunks, plan=plan)
    want_heads = {h: [e for e in expected if e.head == h] for h in base.head_names}
    want_fused = {e.window_end_ns: e for e in expected if e.kind == "fused"}
    assert all(want_heads.values()), {h: len(v) for h, v in want_heads.items()}

    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix, app_id=unique_prefix, partitions=2)
    ensure_topics(settings)
    env = {
        "EMOPIPE_PARTITIONS": "2",
        "EMOPIPE_MODEL_DIR": str(_broken_head_dir(tmp_path, base.model_dir)),
        "EMOPIPE_HEADS": f"{base.heads},broken_face",
    }
    worker = start_worker(unique_prefix, extra_env=env)
    worker.wait_ready()
    t0 = min(c.t0_ns for c in chunks)
    marks = [
        Marker(COMPOSITE_SUBJECT, "composite", t0 + 60 * S, "start", "stroop", "test"),
        Marker(COMPOSITE_SUBJECT, "composite", t0 + 120 * S, "end", "stroop", "test"),
    ]
    send_markers(marks, settings)  # before the windows: every event in [60, 120) s carries the condition
    time.sleep(2.0)
    with ChunkProducer(kafka_bootstrap, settings=settings) as producer:
        # paced by event time at PACE x real time, below what one worker sustains for this session on 2 cores:
        # no backlog builds up, so the streams (heavy ECG/EEG chunks beside light TEMP ones) stay within the
        # fusion grace of each other. A backlog would let light streams run ahead in event time and which heads
        # make the grace would depend on the worker's speed, not on the data.
        start = time.monotonic()
        for c in chunks:
            ahead_s = (c.t0_ns - t0) / S / PACE - (time.monotonic() - start)
            if ahead_s > 0.05:
                producer.flush()
                time.sleep(ahead_s)
            producer.send(c)

    client = EventClient(redis_url, prefix=unique_prefix)
    deadline = time.monotonic() + 240
    while len(client.history(COMPOSITE_SUBJECT)) < len(want_fused) and time.monotonic() < deadline:
        time.sleep(1.0)
    time.sleep(2.0)
    fused = client.history(COMPOSITE_SUBJECT)
    got = client.history(COMPOSITE_SUBJECT, kind="head")
    assert "Crashed" not in worker.log()

    # every working head, live == offline
    for h, want in want_heads.items():
        mine = sorted((e for e in got if e.head == h), key=lambda e: e.window_end_ns)
        assert [e.window_end_ns for e in mine] == [e.window_end_ns for e in want], h
        for a, b in zip(mine, want, strict=True):
            assert a.label == b.label and a.probabilities == pytest.approx(b.probabilities, abs=1e-5), h
            assert a.synthetic == b.synthetic == (h == "eeg_synthetic")
    assert not [e for e in got if e.head == "broken_face"]

    # one fused event per window, none lost; the face head falls away after its stream stops
    assert sorted(e.window_end_ns for e in fused) == sorted(want_fused), "one fused event per window"
    with_face = [e for e in fused if "emfacs_video" in e.heads]
    assert with_face and max(e.window_end_ns for e in with_face) <= t0 + round(FACE_STOP_S * S) + 5 * S
    late = [e for e in fused if e.window_end_ns > t0 + round((FACE_STOP_S + 20) * S)]
    # the stopped face head takes no part after its grace (which of the others lag past the grace is timing)
    assert late and all("emfacs_video" not in e.heads and e.heads for e in late)
    for e in fused:
        assert e.condition == ("stroop" if t0 + 60 * S <= e.window_end_ns < t0 + 120 * S else None)
        assert sum(r.weight for r in e.heads.values()) == pytest.approx(1.0)
        assert e.synthetic == ("eeg_synthetic" in e.heads)
    # respiration: read by its head, weighted by its quality (no longer weight 0 / no_head)
    with_resp = [e for e in fused if "stress_resp" in e.heads]
    assert with_resp and all("no_head" not in e.modalities["resp"].reasons for e in fused if "resp" in e.modalities)
    for e in with_resp:
        st, head = e.modalities["resp"], e.heads["stress_resp"]
        assert head.quality == pytest.approx(st.quality) and st.weight == pytest.approx(head.weight)
    assert any(e.modalities["resp"].weight > 0 for e in with_resp)
    same = [e for e in fused if e.heads.keys() == want_fused[e.window_end_ns].heads.keys()]
    assert len(same) >= 0.8 * len(fused), "fused events differ from offline in which heads took part"
    for e in same:
        w = want_fused[e.window_end_ns]
        assert e.label == w.label and e.probabilities == pytest.approx(w.probabilities, abs=1e-5)
        assert e.arousal == pytest.approx(w.arousal, abs=1e-5) and e.valence == pytest.approx(w.valence, abs=1e-5)

    # the failing head: each of its windows in the DLQ with its reason; the others were not held up
    n_face = len(want_heads["emfacs_video"])
    letters = [decode_dead_letter(v) for _, v, _ in consume_all(kafka_bootstrap, f"{unique_prefix}.dlq", expect=n_face)]
    assert len(letters) == n_face and all("head broken_face failed" in d.reason for d in letters)
    assert all(d.stage == "classify" for d in letters)
    client.close()
