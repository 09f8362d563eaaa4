"""Markers and export through the real broker: E4 recording (real Stress-Predict S02, first minutes) sent as
chunks with a gap, markers by hand, then `emopipe export` to Parquet / EDF+ / BDF+ and read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pyedflib

from agents.cli import main
from agents.export import quantisation_step
from agents.producer import ChunkProducer
from agents.sources import find_recordings, recording_chunks
from agents.topics import ensure_topics
from deploy.settings import Settings
from pipeline.markers import Marker, condition_segments, decode_marker

MINUTES = 3.0
GAP_SEQ = range(60, 70)  # BVP chunks (1 s each) never sent: a 10 s gap


def trimmed_e4(src: Path, dst: Path, minutes: float) -> Path:
    dst.mkdir(parents=True)
    for name in ("BVP", "EDA", "TEMP", "ACC"):
        lines = (src / f"{name}.csv").read_text().splitlines()
        fs = float(lines[1].split(",")[0])
        (dst / f"{name}.csv").write_text("\n".join(lines[: 2 + int(minutes * 60 * fs)]) + "\n")
    return dst


def test_markers_and_export_round_trip(kafka_bootstrap, unique_prefix, shared_data, tmp_path, capsys):
    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix)
    ensure_topics(settings)
    rec = find_recordings([trimmed_e4(shared_data / "stress-predict" / "Raw_data" / "S02", tmp_path / "S02", MINUTES)])
    chunks = list(recording_chunks(rec[0], chunk_s=1.0, t0_offset_ns=0, untimed_t0_ns=0))
    sent = [c for c in chunks if not (c.modality == "bvp" and c.seq in GAP_SEQ)]
    with ChunkProducer(kafka_bootstrap, settings=settings) as producer:
        for c in sent:
            producer.send(c)
    session = sent[0].session_id
    t0 = min(c.t0_ns for c in sent)
    base = ["--kafka", kafka_bootstrap]
    at = lambda s: str((t0 + int(s * 1e9)) / 1e9)  # noqa: E731
    assert main([*base, "mark", "--topic-prefix", unique_prefix, "--subject", "S02", "--session", session,
                 "rest", "--start", "--at", at(10)]) == 0  # fmt: skip
    assert main([*base, "mark", "--topic-prefix", unique_prefix, "--subject", "S02", "--session", session,
                 "rest", "--end", "--at", at(100)]) == 0  # fmt: skip
    assert main([*base, "mark", "--topic-prefix", unique_prefix, "--subject", "S02", "--session", session,
                 "button", "--at", at(120.5)]) == 0  # fmt: skip
    assert main([*base, "mark", "--topic-prefix", unique_prefix, "--subject", "S02", "rest", "--start"]) == 0
    assert main([*base, "mark", "--topic-prefix", unique_prefix, "--subject", "", "rest"]) == 2  # contract error
    capsys.readouterr()

    # Parquet: exact values, sample times, gaps as segments; markers of this session only
    out = tmp_path / "pq"
    args = [*base, "export", "--topic-prefix", unique_prefix, "--subject", "S02", "--session", session]
    assert main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bvp" in text and "2 segment(s)" in text and "3 marker(s)" in text
    files = sorted((out / "S02").glob("*.parquet"))
    assert len(files) == 5  # eda, bvp, temp, acc + markers
    for modality in ("eda", "bvp", "temp", "acc"):
        mine = [c for c in sent if c.modality == modality]
        table = pq.read_table(next(f for f in files if f"_{modality}_" in f.name))
        meta = json.loads(table.schema.metadata[b"emopipe"])
        assert meta["modality"] == modality and meta["fs_hz"] == mine[0].fs_hz
        assert meta["channels"] == list(mine[0].channels)
        values = np.vstack([table.column(ch).to_numpy() for ch in mine[0].channels])
        expected = np.concatenate([c.samples for c in mine], axis=1)
        assert values.dtype == np.float32
        np.testing.assert_array_equal(values, expected)  # bit-exact
        t = table.column("t_ns").to_numpy()
        exp_t = np.concatenate([c.t0_ns + np.round(np.arange(c.n_samples) * 1e9 / c.fs_hz).astype(np.int64)
                                for c in mine])  # fmt: skip
        np.testing.assert_array_equal(t, exp_t)
        seg = table.column("segment").to_numpy()
        if modality == "bvp":
            cut = np.flatnonzero(np.diff(seg))
            assert seg.max() == 1 and len(cut) == 1
            assert (t[cut[0] + 1] - t[cut[0]]) / 1e9 > 10.0  # the gap is kept as a gap: no invented samples
        else:
            assert seg.max() == 0
    markers = [decode_marker(ln) for ln in (out / "S02" / "markers.jsonl").read_text().splitlines()]
    assert [m.kind for m in markers] == ["start", "end", "point"]
    assert condition_segments(markers) == [("rest", t0 + 10 * 10**9, t0 + 100 * 10**9)]
    assert all(isinstance(m, Marker) and m.source == "mark" for m in markers)

    # EDF+ and BDF+: one file per stream segment, values within one quantisation step, markers as annotations
    for fmt, bdf in (("edf", False), ("bdf", True)):
        out = tmp_path / fmt
        assert main([*args, "--format", fmt, "--out", str(out)]) == 0
        edfs = sorted((out / "S02").glob(f"*.{fmt}"))
        assert sum("_bvp_" in f.name for f in edfs) == 2 and len(edfs) == 5
        bvp = [c for c in sent if c.modality == "bvp"]
        first_seg = np.concatenate([c.samples for c in bvp if c.seq < GAP_SEQ.start], axis=1)
        with pyedflib.EdfReader(str(next(f for f in edfs if "_bvp_" in f.name and "seg0" in f.name))) as r:
            x = r.readSignal(0)[: first_seg.shape[1]]
            h = r.getSignalHeader(0)
            step = quantisation_step(h["physical_min"], h["physical_max"], bdf=bdf)
            err = np.max(np.abs(x - first_seg[0].astype(np.float64)))
            assert err <= step, (fmt, err, step)
            start_ns = int(r.getStartdatetime().timestamp() * 1e6) * 1000
            assert abs(start_ns - bvp[0].t0_ns) < 1_000  # microsecond start time
            onsets, _, texts = r.readAnnotations()
            assert list(texts) == ["start:rest", "emopipe:end"]  # only the markers inside this segment (0-60 s)
            assert abs(onsets[0] - 10.0) < 1e-3 and abs(onsets[1] - first_seg.shape[1] / 64.0) < 1e-3
        eda = np.concatenate([c.samples for c in sent if c.modality == "eda"], axis=1)[0]
        with pyedflib.EdfReader(str(next(f for f in edfs if "_eda_" in f.name))) as r:
            h = r.getSignalHeader(0)
            assert h["sample_frequency"] == 4.0 and h["dimension"] == "uS"
            err_eda = np.max(np.abs(r.readSignal(0)[: len(eda)] - eda.astype(np.float64)))
            assert err_eda <= quantisation_step(h["physical_min"], h["physical_max"], bdf=bdf)
            onsets, _, texts = r.readAnnotations()
            got = dict(zip(texts, onsets, strict=True))
            assert abs(got["start:rest"] - 10.0) < 1e-3 and abs(got["end:rest"] - 100.0) < 1e-3
            assert abs(got["button"] - 120.5) < 1e-3
            assert abs(got["emopipe:end"] - len(eda) / 4.0) < 1e-3
        print(fmt, "max error", err, "step", step)

    # a subject with nothing retained is a clear message, exit 1
    assert main([*base, "export", "--topic-prefix", unique_prefix, "--subject", "nobody", "--out", str(tmp_path)]) == 1
    assert "nothing retained" in capsys.readouterr().err


def test_replay_sends_e4_tags_and_lsl_marker_stream(kafka_bootstrap, unique_prefix, shared_data, tmp_path):
    import time
    import uuid

    import pylsl

    from agents.commands.lsl_bridge import LslMarkerBridge, is_marker_stream, resolve
    from agents.markers import MarkerProducer, read_markers
    from pipeline.sources.e4 import parse_e4_tags

    settings = Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=unique_prefix)
    src = shared_data / "stress-predict" / "Raw_data" / "S02"
    rec = trimmed_e4(src, tmp_path / "S02", 0.5)
    (rec / "tags_S02.csv").write_text((src / "tags_S02.csv").read_text())
    rc = main(["--kafka", kafka_bootstrap, "replay", str(rec), "--fast", "--topic-prefix", unique_prefix,
               "--tags", "pairs", "--tag-pairs", "3"])  # fmt: skip
    assert rc == 0
    tags = parse_e4_tags((src / "tags_S02.csv").read_text()).tolist()
    ms = read_markers(settings, "S02")
    assert {m.session_id for m in ms} == {"e4-1644227574"} and {m.source for m in ms} == {"e4-tags"}
    assert condition_segments(ms) == [(f"tag{k + 1}", tags[2 * k], tags[2 * k + 1]) for k in range(3)]
    assert sorted(m.t_ns for m in ms if m.kind == "point") == tags[6:]

    # an LSL marker stream (strings) -> markers topic, times mapped to unix ns
    name = f"emopipe-markers-{uuid.uuid4().hex[:8]}"
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "Markers", 1, 0.0, "string", name))
    info = resolve("Markers", name, timeout_s=10.0)
    assert is_marker_stream(info)
    with MarkerProducer(settings) as producer:
        bridge = LslMarkerBridge(info, producer, subject_id="lsl-s", session_id="live")
        time.sleep(0.5)
        for text in ("start:baseline", "button press", "end:baseline"):
            outlet.push_sample([text])
            time.sleep(0.05)
        deadline = time.monotonic() + 20
        while bridge.sent < 3 and time.monotonic() < deadline:
            bridge.pump(timeout_s=0.2)
        bridge.close()
    got = read_markers(settings, "lsl-s")
    assert [(m.kind, m.label, m.source) for m in got] == [
        ("start", "baseline", "lsl"), ("point", "button press", "lsl"), ("end", "baseline", "lsl"),
    ]  # fmt: skip
    assert abs(got[0].t_ns / 1e9 - time.time()) < 60 and got[0].t_ns < got[1].t_ns < got[2].t_ns
    del outlet
