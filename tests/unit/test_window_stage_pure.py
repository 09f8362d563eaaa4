"""The window stage's pure step on every kind of stream: regular E4, regular eGeMAPS, irregular video."""

from __future__ import annotations

import math

import numpy as np

from agents.sources import egemaps_chunks
from pipeline.contract import SensorChunk, validate_chunk
from pipeline.steps import window_step

T0 = 1_600_000_000_000_000_000


def test_irregular_video_stream_is_windowed_on_its_timestamps():
    rng = np.random.default_rng(0)
    n = 30 * 22  # ~22 s of frames at ~30 fps with jitter
    ts = T0 + np.cumsum(rng.integers(28_000_000, 38_000_000, n)).astype(np.int64)
    au = np.vstack([np.clip(np.sin(np.arange(n) / 20.0) + 1, 0, 5), np.zeros(n)]).astype(np.float32)
    state, windows = None, []
    for k, a in enumerate(range(0, n, 45)):
        b = min(a + 45, n)
        chunk = SensorChunk(
            subject_id="S1", session_id="s", device_id="cam", modality="video_features",
            channels=("AU12_r", "AU04_r"), units=("intensity", "intensity"), fs_hz=None, t0_ns=int(ts[a]), seq=k,
            samples=au[:, a:b], timestamps_ns=ts[a:b],
        )  # fmt: skip
        validate_chunk(chunk)
        state, out = window_step(state, chunk)
        windows += out
    assert len(windows) >= 3
    assert all(w.end_ns - w.start_ns == 5 * 10**9 for w in windows)
    assert any(k.startswith("VIDEO_") and "AU12" in k for k in windows[0].features)
    assert any(v > 0 for k, v in windows[0].features.items() if "AU12" in k and not math.isnan(v))


def _run(chunks):
    state, out = None, []
    for c in chunks:
        state, windows = window_step(state, c)
        out += windows
    return out


def test_egemaps_frames_give_the_same_windows_for_any_chunking(shared_data):
    path = shared_data / "ravdess/frames/Actor01.npz"
    end = T0 + 40 * 10**9
    small = [c for c in egemaps_chunks(path, subject_id="A01", t0_ns=T0, chunk_s=0.37) if c.t0_ns < end]
    large = [c for c in egemaps_chunks(path, subject_id="A01", t0_ns=T0, chunk_s=4.0) if c.t0_ns < end]
    a, b = _run(small), _run(large)
    n = min(len(a), len(b))
    assert n > 3  # clips lie back to back with 1 s gaps, which the stream bridges or resets on identically
    assert [w.end_ns for w in a[:n]] == [w.end_ns for w in b[:n]]
    assert any(k.startswith("AUDIO_") for k in a[0].features)
    for wa, wb in zip(a[:n], b[:n], strict=True):
        assert wa.features.keys() == wb.features.keys()
        assert all((math.isnan(wa.features[k]) and math.isnan(wb.features[k])) or wa.features[k] == wb.features[k]
                   for k in wa.features)  # fmt: skip
