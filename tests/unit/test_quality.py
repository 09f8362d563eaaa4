"""Window quality scores and reasons (synthetic signals, labelled SYNTHETIC)."""

from __future__ import annotations

import neurokit2 as nk
import numpy as np
import pytest

from pipeline.filters import default_filter_config, filter_init, filter_step
from pipeline.quality import beat_template_correlation, motion_penalty, window_quality


def _filtered(modality: str, x: np.ndarray, fs_hz: float) -> np.ndarray:
    return filter_step(filter_init(default_filter_config(modality, fs_hz)), x)[1]


def test_clean_synthetic_ppg_scores_high_noise_scores_low() -> None:
    """SYNTHETIC PPG vs white noise."""
    x = nk.ppg_simulate(duration=60, sampling_rate=64, heart_rate=70, random_state=0)[None, :]
    good = window_quality("bvp", x, _filtered("bvp", x, 64.0), 64.0)
    assert good.score > 0.9 and good.reasons == ()
    noise = np.random.default_rng(0).normal(size=(1, 3840))
    bad = window_quality("bvp", noise, _filtered("bvp", noise, 64.0), 64.0)
    assert bad.score < 0.6
    assert {"beat_template_mismatch", "few_valid_beats"} & set(bad.reasons)


def test_clean_synthetic_ecg_scores_high() -> None:
    """SYNTHETIC ECG."""
    x = nk.ecg_simulate(duration=30, sampling_rate=500, heart_rate=65, random_state=1)[None, :]
    q = window_quality("ecg", x, _filtered("ecg", x, 500.0), 500.0)
    assert q.score > 0.9, q


def test_flat_and_clipping() -> None:
    flat = np.full((1, 600), 3.0)
    q = window_quality("bvp", flat, flat * 0, 10.0)
    assert q.score == 0.0 and "flat" in q.reasons
    x = np.sin(np.linspace(0, 60, 3840))[None, :] * 2
    clipped = np.clip(x, -1.0, 1.0)
    q = window_quality("eeg", clipped, clipped, 64.0)
    assert "clipping" in q.reasons and q.score < 0.5
    # temperature may legitimately stay constant at the E4's resolution
    assert "flat" not in window_quality("temp", np.full((1, 240), 33.0), np.full((1, 240), 33.0), 4.0).reasons


def test_eda_contact_temp_range_gap_nan_warmup() -> None:
    x = np.abs(np.random.default_rng(1).normal(0.005, 0.001, (1, 240)))
    q = window_quality("eda", x, x, 4.0)
    assert "eda_no_contact" in q.reasons and q.score <= 0.1
    t = 15.0 + np.random.default_rng(2).normal(0, 0.01, (1, 240))
    assert "temp_implausible" in window_quality("temp", t, t, 4.0).reasons
    ok = 2.0 + np.random.default_rng(3).normal(0, 0.01, (1, 240))
    q = window_quality("eda", ok, ok, 4.0, bad_fraction=0.25, nan_seen=True, warmup=True)
    assert q.reasons == ("gap", "nan", "filter_warmup")
    assert q.score == pytest.approx(0.75 * 0.5)


def test_eda_partial_contact_loss_lowers_quality_by_its_share() -> None:
    """A strap that loosens mid-window: the flat stretch near 0 uS costs quality in proportion."""
    rng = np.random.default_rng(4)
    ok = 0.3 + rng.normal(0, 0.005, (1, 240))
    assert window_quality("eda", ok, ok, 4.0).reasons == ()
    for share in (0.1, 0.25, 0.5):
        x = ok.copy()
        x[0, -round(share * 240) :] = 0.001281 * rng.integers(0, 3, round(share * 240))
        q = window_quality("eda", x, x, 4.0)
        assert q.reasons == ("eda_no_contact",)
        assert q.score == pytest.approx(max(0.1, 1.0 - 2.0 * share))
    # a low but real conductance (dry skin, 0.03 uS) is not contact loss
    dry = 0.03 + rng.normal(0, 0.002, (1, 240))
    assert "eda_no_contact" not in window_quality("eda", dry, dry, 4.0).reasons


def test_motion_penalty_from_acc() -> None:
    t = np.arange(32 * 20) / 32.0
    still = np.stack([np.zeros_like(t), np.zeros_like(t), np.ones_like(t)])
    assert motion_penalty(still, 32.0).score == 1.0
    moving = still.copy()
    moving[0] = 0.3 * np.sin(2 * np.pi * 1.5 * t)
    q = motion_penalty(moving, 32.0)
    assert q.reasons == ("motion",) and 0.0 < q.score < 1.0


def test_template_correlation_of_identical_beats_is_one() -> None:
    beat = np.sin(np.linspace(0, np.pi, 40)) ** 3
    x = np.tile(beat, 20)
    peaks = np.arange(20) * 40 + 20
    assert beat_template_correlation(x, peaks, 40.0) == pytest.approx(1.0)


def test_template_correlation_matches_neurokit_on_real_bvp(shared_data) -> None:  # type: ignore[no-untyped-def]
    """REAL E4 BVP (S03, minutes 10-15): our numpy templatematch within 0.05 of nk.ppg_quality's mean."""
    import warnings

    from pipeline.features.bvp import bvp_peaks
    from pipeline.stream import default_config, stream_offline

    path = shared_data / "stress-predict" / "Raw_data" / "S03" / "BVP.csv"
    x = np.loadtxt(path, skiprows=2, max_rows=64 * 900)[None, 64 * 600 :]
    wins = stream_offline(default_config("bvp", 64.0), 1_700_000_000_000_000_000, x)[::8]
    assert len(wins) >= 5
    for w in wins:
        y = w.samples[0]
        peaks = bvp_peaks(y, 64.0)
        assert peaks is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nk_q = float(np.mean(nk.ppg_quality(y, peaks=peaks, sampling_rate=64, method="templatematch")))
        assert beat_template_correlation(y, peaks, 64.0) == pytest.approx(nk_q, abs=0.05)


def test_acc_flat_only_when_every_axis_is_constant() -> None:
    still = np.zeros((3, 32 * 60))
    still[2] = 1.0
    wiggle = still.copy()
    wiggle[0, ::7] = 1 / 64  # one quantisation step now and then on x; y and z constant
    assert "flat" not in window_quality("acc", wiggle, wiggle, 32.0).reasons
    assert "flat" in window_quality("acc", still, still, 32.0).reasons
