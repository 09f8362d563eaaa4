"""The respiration head: RESP window quality, PPG-derived respiration, and the stress_resp card as a default head.

Synthetic signals are labelled SYNTHETIC; the belt checks use the real systole recording.
"""

from __future__ import annotations

import json

import neurokit2 as nk
import numpy as np
import pytest

from agents.offline import offline_events
from models.build import RESP_CARD
from models.export import ARTIFACTS_DIR
from models.heads import DEFAULT_HEADS, load_heads, load_plan
from pipeline.contract import SensorChunk
from pipeline.features.resp import resp_features
from pipeline.filters import default_filter_config, filter_init, filter_step
from pipeline.ppg_resp import beat_modulations, bvp_resp_offline
from pipeline.quality import breath_amplitude_cv, resp_breath_coverage, resp_flat_share, window_quality
from pipeline.stream import default_config, stream_offline

FS = 25.0


def _filtered(x: np.ndarray, fs_hz: float = FS) -> np.ndarray:
    return filter_step(filter_init(default_filter_config("resp", fs_hz)), x)[1]


def _belt(seconds: float = 120.0, rate_bpm: float = 15.0, seed: int = 0) -> np.ndarray:
    """SYNTHETIC belt signal (neurokit2 breathmetrics model), shape (1, n)."""
    x = nk.rsp_simulate(duration=int(seconds), sampling_rate=int(FS), respiratory_rate=rate_bpm, random_state=seed)
    return np.asarray(x, dtype=np.float64)[None, :]


def _last_minute(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw and causally filtered last 60 s of ``x`` (1, n), past the filter's settling."""
    f = _filtered(x)
    n = int(60 * FS)
    return x[:, -n:], f[:, -n:]


def test_synthetic_breathing_scores_high() -> None:
    raw, filt = _last_minute(_belt())
    q = window_quality("resp", raw, filt, FS)
    assert q.score > 0.9 and not {"few_breaths", "resp_flat_segments", "breath_amplitude_unstable"} & set(q.reasons)


def test_noise_flat_line_and_a_stopped_belt_score_low() -> None:
    noise = np.random.default_rng(0).normal(size=(1, int(120 * FS)))
    q = window_quality("resp", *_last_minute(noise), FS)
    assert q.score < 0.6 and "few_breaths" in q.reasons
    flat = np.full((1, int(60 * FS)), 2.0)
    q = window_quality("resp", flat, flat * 0, FS)
    assert q.score == 0.0 and "flat" in q.reasons
    x = _belt()
    x[0, -int(30 * FS) :] = x[0, -int(30 * FS)] + np.random.default_rng(1).normal(0, 1e-3, int(30 * FS))
    q = window_quality("resp", *_last_minute(x), FS)  # the belt went flat for the last 30 s of the window
    assert q.score < 0.6 and "resp_flat_segments" in q.reasons


def test_resp_quality_helpers() -> None:
    peaks = np.asarray([0, 100, 200, 300, 1000])  # 4 s breaths, then a 28 s pause (implausible), 25 Hz
    assert resp_breath_coverage(peaks, FS, 1500) == pytest.approx(12.0 / 60.0)
    x = np.r_[np.sin(np.arange(750) / 4.0), np.zeros(750)]
    assert resp_flat_share(x, FS) == pytest.approx(0.5)
    assert resp_flat_share(np.zeros(10), FS) == 0.0
    same = np.tile([0.0, 1.0], 10)
    assert breath_amplitude_cv(same, np.arange(1, 20, 2), np.arange(0, 20, 2)) == pytest.approx(0.0)
    assert np.isnan(breath_amplitude_cv(same, np.asarray([1, 3]), np.asarray([0, 2])))


def test_real_belt_windows_mostly_score_high(shared_data) -> None:  # type: ignore[no-untyped-def]
    with np.load(shared_data / "systole-ecg" / "task1_1000hz.npz") as z:
        x = z["resp"][: 20 * 60 * 1000].astype(np.float64)
    ws = stream_offline(default_config("resp", 1000.0), 0, x[None, :])[12:]  # past the filter warm-up
    q = np.asarray([w.quality for w in ws])
    assert q.mean() > 0.8 and np.mean(q > 0.5) > 0.9, (q.mean(), np.mean(q > 0.5))


def _modulated_ppg(seconds: float, fs_hz: float, breath_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """SYNTHETIC filtered-BVP stand-in: one Gaussian pulse per beat, the beat interval and the pulse height
    modulated by breathing at ``breath_hz`` (rate up and amplitude down in inspiration). Returns (bvp, peaks)."""
    t, beats = 0.0, []
    while t < seconds:
        beats.append(t)
        t += 0.85 - 0.06 * np.sin(2 * np.pi * breath_hz * t)
    tb = np.asarray(beats)
    grid = np.arange(int(seconds * fs_hz)) / fs_hz
    height = 1.0 - 0.2 * np.sin(2 * np.pi * breath_hz * tb)
    bvp = (height[:, None] * np.exp(-(((grid[None, :] - tb[:, None]) / 0.08) ** 2))).sum(axis=0) - 0.3
    peaks = np.round(tb * fs_hz).astype(np.int64)
    return bvp, peaks[peaks < grid.shape[0]]


def test_ppg_derived_respiration_recovers_the_breathing_rate() -> None:
    bvp, peaks = _modulated_ppg(180.0, 64.0, 0.25)  # 15 breaths/min
    t_s, rate, amp = beat_modulations(bvp, peaks, 64.0)
    assert t_s.shape == rate.shape == amp.shape and 60 < rate.mean() < 80 and amp.min() > 0
    y = bvp_resp_offline(bvp, peaks, 64.0, 8.0)
    assert y.shape == (180 * 8,) and abs(y.mean()) < 1e-9
    raw = y[None, -60 * 8 :]
    feats = resp_features(_filtered(y[None, :], 8.0)[:, -60 * 8 :], 8.0, ())
    assert feats["RESP_Rate_Mean"] == pytest.approx(15.0, abs=1.0)
    assert window_quality("resp", raw, _filtered(y[None, :], 8.0)[:, -60 * 8 :], 8.0).score > 0.8
    assert not np.any(bvp_resp_offline(bvp, peaks[:2], 64.0, 8.0))  # too few beats: zeros


def test_stress_resp_is_a_default_head_that_reads_resp_and_says_what_was_evaluated() -> None:
    assert RESP_CARD in DEFAULT_HEADS
    plan = load_plan(ARTIFACTS_DIR, DEFAULT_HEADS)
    assert plan.modalities["resp"].heads == (RESP_CARD,) and plan.modalities["resp"].window_s == 60.0
    card = json.loads((ARTIFACTS_DIR / f"{RESP_CARD}.json").read_text())
    assert card["modalities"] == ["resp"] and "NOT evaluated" in card["evaluated_on"]
    assert "PPG-derived" in card["input"]["training_stream"] and "resp" in card["input"]["live_stream"]
    m = card["metrics"]  # written by emopipe evaluate --only resp
    assert "DERIVED" in m["evaluation"] and 0.0 <= m["balanced_accuracy"] <= 1.0 and "leak_check" in m["start_cut"]


def _belt_chunk(x: np.ndarray, t0_ns: int, i: int) -> SensorChunk:
    """Second ``i`` of a 1000 Hz belt recording as a chunk."""
    return SensorChunk(
        subject_id="B1", session_id="s", device_id="belt", modality="resp", channels=("resp",), units=("a.u.",),
        fs_hz=1000.0, t0_ns=t0_ns + i * 10**9, seq=i, samples=np.asarray(x[i * 1000 : (i + 1) * 1000])[None, :],
    )  # fmt: skip


def test_a_belt_stream_reaches_the_fused_event_with_its_quality_and_weight(shared_data) -> None:  # type: ignore[no-untyped-def]
    with np.load(shared_data / "systole-ecg" / "task1_1000hz.npz") as z:
        x = z["resp"][: 4 * 60 * 1000]
    t0 = 1_700_000_000 * 10**9
    chunks = [_belt_chunk(x, t0, i) for i in range(len(x) // 1000)]
    heads, plan = load_heads(ARTIFACTS_DIR, [RESP_CARD])
    events = offline_events(heads, chunks, plan=plan)
    head = [e for e in events if e.kind == "head"]
    fused = [e for e in events if e.kind == "fused"]
    assert head and len(head) == len(fused)
    for e in fused:
        st = e.modalities["resp"]
        assert st.present and "no_head" not in st.reasons
        assert st.weight == pytest.approx(1.0 if st.quality > 0 else 0.0)
        assert e.heads[RESP_CARD].quality == pytest.approx(st.quality)
    assert np.mean([e.modalities["resp"].quality for e in fused]) > 0.5


@pytest.mark.slow
def test_train_then_evaluate_the_respiration_head_three_subjects(shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`emopipe train/evaluate --only resp` on 3 real subjects: card, metrics, accuracy JSON, a loadable head."""
    from agents.cli import main
    from models.registry import load

    art, res, cache = tmp_path / "art", tmp_path / "acc.json", tmp_path / "cache"
    common = ["--data-dir", str(shared_data), "--subjects", "2,3,4", "--cache-dir", str(cache), "--epochs", "2"]
    assert main(["train", "--only", "resp", "--out", str(art), *common]) == 0
    card = json.loads((art / f"{RESP_CARD}.json").read_text())
    assert card["metrics"] is None and card["training_data"]["subjects"] == [2, 3, 4]
    assert card["input"]["feature_names"] == list(resp_features(np.zeros((1, 480)), 8.0, ()))
    argv = ["evaluate", "--only", "resp", "--cut-draws", "2", "--artifacts", str(art), "--results", str(res)]
    assert main([*argv, *common]) == 0
    acc = json.loads(res.read_text())["stress_resp"]
    assert acc["n_subjects"] == 3 and 0.0 <= acc["head_resp"]["balanced_accuracy"] <= 1.0
    metrics = json.loads((art / f"{RESP_CARD}.json").read_text())["metrics"]
    assert metrics["balanced_accuracy"] == acc["head_resp"]["balanced_accuracy"]
    assert metrics["start_cut"]["leak_check"]["n_draws"] == 2 and set(metrics["per_subject_balanced_accuracy"]) == {
        "2",
        "3",
        "4",
    }
    m = load(art / f"{RESP_CARD}.json")
    _, x = m.prepare(m.new_state(), {"RESP_Rate_Mean": 14.0})
    assert m.predict_proba(np.stack([x])).shape == (1, 2)
