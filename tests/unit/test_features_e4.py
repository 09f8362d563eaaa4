"""Unit tests of the E4 window features (bvp, eda, temp, acc). Synthetic signals are labelled as such."""

from __future__ import annotations

import math

import neurokit2 as nk
import numpy as np
import pytest

from pipeline.exceptions import SignalError
from pipeline.features import FEATURE_VERSION, feature_names, window_features


@pytest.mark.parametrize("modality", ["bvp", "eda", "temp", "acc"])
def test_keys_are_the_declared_names_in_order(modality: str) -> None:
    n_ch = 3 if modality == "acc" else 1
    x = np.random.default_rng(0).normal(size=(n_ch, 600))
    feats = window_features(modality, x, 10.0)
    assert tuple(feats) == feature_names(modality)
    assert all(name.startswith(modality.upper() + "_") for name in feats)
    assert FEATURE_VERSION


@pytest.mark.parametrize("modality", ["bvp", "eda", "temp", "acc"])
def test_flat_window_gives_values_or_nan_never_raises_and_input_unchanged(modality: str) -> None:
    n_ch = 3 if modality == "acc" else 1
    x = np.full((n_ch, 256), 0.5)
    before = x.copy()
    feats = window_features(modality, x, 4.0)
    assert np.array_equal(x, before)
    assert set(feats) == set(feature_names(modality))


def test_wrong_shapes_raise_signal_error() -> None:
    with pytest.raises(SignalError):
        window_features("bvp", np.zeros(100), 64.0)
    with pytest.raises(SignalError):
        window_features("acc", np.zeros((1, 100)), 32.0)
    with pytest.raises(SignalError):
        window_features("nope", np.zeros((1, 100)), 32.0)


def test_temp_slope_and_stats_of_a_ramp() -> None:
    fs_hz = 4.0
    t_s = np.arange(240) / fs_hz
    x = (30.0 + 0.01 * t_s)[None, :]
    feats = window_features("temp", x, fs_hz)
    assert feats["TEMP_Slope"] == pytest.approx(0.01, rel=1e-9)
    assert feats["TEMP_Mean"] == pytest.approx(30.0 + 0.01 * t_s.mean())
    assert feats["TEMP_Max"] - feats["TEMP_Min"] == pytest.approx(0.01 * t_s[-1])


def test_acc_still_vs_moving() -> None:
    fs_hz = 32.0
    n = 1920
    still = np.zeros((3, n))
    still[2] = 1.0
    f_still = window_features("acc", still, fs_hz)
    assert f_still["ACC_Mag_Mean"] == pytest.approx(1.0)
    assert f_still["ACC_ENMO_Mean"] == pytest.approx(0.0)
    assert f_still["ACC_Moving_Fraction"] == 0.0
    t_s = np.arange(n) / fs_hz
    moving = still.copy()
    moving[0] = 0.5 * np.sin(2 * np.pi * 2.0 * t_s)  # 2 Hz shaking, 0.5 g
    f_mov = window_features("acc", moving, fs_hz)
    assert f_mov["ACC_Moving_Fraction"] == 1.0
    assert f_mov["ACC_X_Std"] == pytest.approx(0.5 / math.sqrt(2), rel=1e-3)
    assert f_mov["ACC_Activity"] > 0.3


@pytest.mark.parametrize("hr_bpm", [55, 72, 110])
def test_bvp_heart_rate_on_synthetic_ppg(hr_bpm: int) -> None:
    """SYNTHETIC: neurokit2's PPG simulator at a known heart rate."""
    x = nk.ppg_simulate(duration=60, sampling_rate=64, heart_rate=hr_bpm, random_state=3)
    feats = window_features("bvp", x[None, :], 64.0)
    assert feats["BVP_HR_Mean"] == pytest.approx(hr_bpm, abs=3.0)
    assert feats["BVP_Beats_ValidFraction"] > 0.8
    assert not math.isnan(feats["BVP_HRV_HF"])  # 60 s window: HF allowed
    assert math.isnan(feats["BVP_HRV_LF"])  # LF needs >= 120 s


def test_bvp_long_window_has_lf() -> None:
    """SYNTHETIC: 150 s window enables LF and LF/HF."""
    x = nk.ppg_simulate(duration=150, sampling_rate=64, heart_rate=70, random_state=4)
    feats = window_features("bvp", x[None, :], 64.0)
    assert feats["BVP_HRV_LF"] > 0 and feats["BVP_HRV_LFHF"] > 0


def test_bvp_noise_gives_nan_hrv_not_error() -> None:
    x = np.random.default_rng(1).normal(size=(1, 3840)) * 1e-3
    feats = window_features("bvp", x, 64.0)
    assert feats["BVP_Beats_ValidFraction"] < 1.0


def test_eda_scr_count_on_synthetic_and_flat() -> None:
    """SYNTHETIC: neurokit2's EDA simulator with 4 SCRs at the E4's 4 Hz."""
    x = nk.eda_simulate(duration=60, sampling_rate=4, scr_number=4, drift=-0.01, random_state=5)
    feats = window_features("eda", x[None, :], 4.0)
    assert 3 <= feats["EDA_SCR_N"] <= 5
    assert feats["EDA_SCR_Amplitude_Mean"] > 0.1
    assert 0.5 < feats["EDA_SCR_RiseTime_Mean"] < 10
    flat = np.full((1, 240), 2.0) + np.random.default_rng(2).normal(size=(1, 240)) * 1e-4
    f_flat = window_features("eda", flat, 4.0)
    assert f_flat["EDA_SCR_N"] == 0.0
    assert f_flat["EDA_Tonic_Mean"] == pytest.approx(2.0, abs=1e-3)
