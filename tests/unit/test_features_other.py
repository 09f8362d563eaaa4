"""Features of resp, eeg, audio_features, video_features (synthetic signals labelled SYNTHETIC; real LLD/AU data)."""

from __future__ import annotations

import math
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pytest

from pipeline.exceptions import SignalError
from pipeline.features import feature_names, window_features
from pipeline.filters import default_filter_config, filter_init, filter_step
from pipeline.sources.openface import parse_openface_csv


def test_resp_rate_on_synthetic_breathing() -> None:
    """SYNTHETIC: neurokit2 respiration simulator at 15 breaths/min, causally filtered first."""
    fs_hz = 50.0
    x = nk.rsp_simulate(duration=90, sampling_rate=50, respiratory_rate=15, random_state=0)[None, :]
    y = filter_step(filter_init(default_filter_config("resp", fs_hz)), x)[1][:, -3000:]
    feats = window_features("resp", y, fs_hz)
    assert tuple(feats) == feature_names("resp")
    assert feats["RESP_Rate_Mean"] == pytest.approx(15.0, abs=1.5)
    assert 12 <= feats["RESP_Breaths_N"] <= 18


def test_eeg_band_powers_and_frontal_alpha_asymmetry() -> None:
    """SYNTHETIC: 10 Hz sines (amplitude 1 on F3, 2 on F4) plus weak noise."""
    fs_hz = 256.0
    t = np.arange(int(5 * fs_hz)) / fs_hz
    rng = np.random.default_rng(0)
    x = np.stack([np.sin(2 * np.pi * 10 * t), 2 * np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 20 * t)])
    x = x + rng.normal(0, 0.01, x.shape)
    ch = ("F3", "F4", "Cz")
    feats = window_features("eeg", x, fs_hz, channels=ch)
    assert tuple(feats) == feature_names("eeg", channels=ch)
    assert feats["EEG_F3_Alpha_Abs"] == pytest.approx(0.5, rel=0.1)  # sine power A^2/2
    assert feats["EEG_F3_Alpha_Rel"] > 0.95 and feats["EEG_Cz_Beta_Rel"] > 0.95
    assert feats["EEG_FAA"] == pytest.approx(math.log(4.0), abs=0.05)
    assert "EEG_FAA" not in feature_names("eeg", channels=("Cz", "Pz"))
    with pytest.raises(SignalError):
        window_features("eeg", x, fs_hz, channels=("F3", "F4"))


def test_audio_functionals_on_real_egemaps_lld(shared_data: Path) -> None:
    z = np.load(shared_data / "ravdess" / "wav16k_lld" / "Actor01.npz")
    cols = tuple(str(c) for c in z["columns"])
    frames = z[next(k for k in z.files if k != "columns")].astype(np.float64)  # (frames, lld)
    feats = window_features("audio_features", frames.T, 100.0, channels=cols)
    assert tuple(feats) == feature_names("audio_features", channels=cols)
    assert len(feats) == 5 * len(cols) + 1
    loud = frames[:, cols.index("Loudness_sma3")]
    assert feats["AUDIO_Loudness_sma3_Mean"] == pytest.approx(loud.mean())
    assert feats["AUDIO_Loudness_sma3_P50"] == pytest.approx(np.median(loud))
    f0_name = next(c for c in cols if c.startswith("F0"))
    f0 = frames[:, cols.index(f0_name)]
    assert feats[f"AUDIO_{f0_name}_Mean"] == pytest.approx(f0[f0 != 0].mean())
    assert feats["AUDIO_Voiced_Fraction"] == pytest.approx(np.mean(f0 != 0))
    assert 0.2 < feats["AUDIO_Voiced_Fraction"] < 0.95


def test_video_au_features_on_real_openface_csv(shared_data: Path) -> None:
    table = parse_openface_csv((shared_data / "openface" / "OpenFace_Test.csv").read_text())
    x = table.values.T.astype(np.float64)
    feats = window_features("video_features", x, 30.0, channels=table.channels)
    assert tuple(feats) == feature_names("video_features", channels=table.channels)
    r = [i for i, c in enumerate(table.channels) if c.endswith("_r")]
    c = [i for i, c in enumerate(table.channels) if c.endswith("_c")]
    assert r and c
    au = table.channels[r[0]][:-2]
    assert feats[f"VIDEO_{au}_Intensity_Mean"] == pytest.approx(x[r[0]].mean())
    au_c = table.channels[c[0]][:-2]
    assert feats[f"VIDEO_{au_c}_Activation_Rate"] == pytest.approx(np.mean(x[c[0]] == 1))
    assert all(0.0 <= feats[f"VIDEO_{table.channels[i][:-2]}_Activation_Rate"] <= 1.0 for i in c)
