"""Window previews (pipeline/preview.py): size, content and codec, on real E4 windows."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from agents.sources import read_e4_session
from pipeline.codec import encode_binary
from pipeline.exceptions import ContractError
from pipeline.preview import (
    LEVELS,
    decode_preview,
    encode_preview,
    preview_to_dict,
    window_preview,
)
from pipeline.sources.e4 import e4_session_chunks
from pipeline.steps import window_step
from pipeline.stream import Window


@pytest.fixture(scope="module")
def real_windows(shared_data):
    """Windows and input bytes of the first 3 minutes of the real S02 E4 session."""
    sig = read_e4_session(shared_data / "stress-predict" / "Raw_data" / "S02")
    cut = {k: dataclasses.replace(s, samples=s.samples[:, : int(3 * 60 * s.fs_hz)]) for k, s in sig.items()}
    states: dict = {}
    windows: list[Window] = []
    input_bytes = 0
    for c in e4_session_chunks(cut, subject_id="S02", session_id="s1", chunk_s=1.0):
        input_bytes += len(encode_binary(c))
        states[c.stream_key], ws = window_step(states.get(c.stream_key), c)
        windows += ws
    return windows, input_bytes


def _values(ch):
    """Physical values of a channel preview (NaN for missing)."""
    q = np.array(ch.values, dtype=np.float64)
    return np.where(q < 0, np.nan, ch.lo + q / LEVELS * (ch.hi - ch.lo))


def test_real_previews_are_small_and_round_trip(real_windows):
    windows, input_bytes = real_windows
    assert {w.modality for w in windows} == {"acc", "bvp", "eda", "temp"}
    sizes = []
    for w in windows:
        p = window_preview(w, subject_id="S02", session_id="s1")
        data = encode_preview(p)
        sizes.append(len(data))
        assert decode_preview(data) == p
        assert all(len(c.values) <= 120 for c in p.channels)
        assert json.loads(data)["subject_id"] == "S02"
    assert max(sizes) <= 600, f"previews must stay a few hundred bytes, got up to {max(sizes)}"
    # bytes written to the previews topic per input byte (the throughput target is <= 3 in total)
    assert sum(sizes) / input_bytes < 0.5


def test_minmax_envelope_holds_the_real_signal(real_windows):
    windows, _ = real_windows
    w = next(w for w in windows if w.modality == "bvp")
    ch = window_preview(w, subject_id="S02").channels[0]
    assert ch.mode == "minmax" and len(ch.values) == 120
    v = _values(ch)
    lows, highs = v[0::2], v[1::2]
    y = w.samples[0]
    edges = np.linspace(0, y.size, 61).astype(int)
    step = (ch.hi - ch.lo) / LEVELS
    for i in range(60):
        seg = y[edges[i] : edges[i + 1]]
        assert lows[i] == pytest.approx(seg.min(), abs=step)
        assert highs[i] == pytest.approx(seg.max(), abs=step)
    assert ch.lo == pytest.approx(y.min(), rel=1e-3) and ch.hi == pytest.approx(y.max(), rel=1e-3)


def test_acc_becomes_its_magnitude_and_eda_bucket_means(real_windows):
    windows, _ = real_windows
    acc = next(w for w in windows if w.modality == "acc")
    p = window_preview(acc, subject_id="S02")
    assert [c.name for c in p.channels] == ["magnitude"] and p.n_channels == 3
    mag = np.sqrt((acc.samples[:3] ** 2).sum(axis=0))
    assert p.channels[0].hi == pytest.approx(mag.max(), rel=1e-3)
    eda = next(w for w in windows if w.modality == "eda")
    ch = window_preview(eda, subject_id="S02").channels[0]
    assert ch.mode == "mean" and len(ch.values) == 60
    means = eda.samples[0].reshape(60, -1).mean(axis=1)  # 240 samples at 4 Hz -> 60 buckets of 4
    np.testing.assert_allclose(_values(ch), means, atol=(ch.hi - ch.lo) / LEVELS + 1e-3 * abs(ch.hi))


def _window(samples, modality="resp", reasons=("flatline",), quality=0.25):
    samples = np.asarray(samples, dtype=np.float64)
    chans = tuple(f"c{i}" for i in range(samples.shape[0]))
    return Window(modality, 0, 60_000_000_000, 1.0, chans, samples, 0.1, quality, reasons)


def test_quality_reasons_short_windows_and_gaps():
    y = np.array([[1.0, np.nan, 3.0, 2.0]])
    p = window_preview(_window(y), subject_id="X1")
    assert p.quality == 0.25 and p.reasons == ("flatline",) and p.gap_fraction == 0.1
    ch = p.channels[0]
    assert ch.mode == "raw" and ch.values == (0, -1, LEVELS, round(LEVELS / 2))
    assert preview_to_dict(p)["channels"][0]["y"][1] == "."
    flat = window_preview(_window(np.full((1, 500), 7.0)), subject_id="X1").channels[0]
    assert flat.lo == flat.hi == 7.0 and set(flat.values) == {0}
    empty = window_preview(_window(np.full((1, 500), np.nan)), subject_id="X1").channels[0]
    assert set(empty.values) == {-1}


def test_wide_feature_streams_keep_a_few_channels():
    p = window_preview(_window(np.random.default_rng(0).normal(size=(25, 600)), "audio"), subject_id="A1")
    assert len(p.channels) == 4 and p.n_channels == 25
    assert len(encode_preview(p)) < 1000  # 4 x 120 values + the header


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"v": 2}',
        b'{"v": 1}',
        encode_preview(window_preview(_window([[1.0, 2.0]]), subject_id="X")).replace(b'"y":"', b'"y":"*'),
    ],
)
def test_malformed_previews_are_contract_errors(data):
    with pytest.raises(ContractError):
        decode_preview(data)


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_points"):
        window_preview(_window([[1.0]]), subject_id="X", max_points=1)
