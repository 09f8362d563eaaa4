"""Stream features on REAL recordings agree with NeuroKit's offline processing and the device's own HR.

Data: Stress-Predict Empatica E4 exports (5 subjects, minutes 10-20 of each session) and the systole
1000 Hz ECG. The stream path (causal filter + per-window features) is compared with NeuroKit's
offline ``*_process`` (zero-phase cleaning) on the same raw window, and BVP heart rate with the E4's
HR.csv (the device's 10-s moving average, averaged over the window).

Stated tolerances ("clean" = stream quality >= 0.9 and >= 80 % of the window covered by valid beats):
- BVP: per subject >= 5 clean windows; median |HR - nk.ppg_process mean PPG_Rate| <= 3 bpm, max <= 6 bpm;
  median |HR - E4 HR.csv| <= 4 bpm. (Wrist PPG at rest: differences come from beats one method
  keeps and the other rejects.)
- ECG: windows with >= 95 % valid beats within 1 bpm of nk.ecg_process mean ECG_Rate; all within 2 bpm.
- EDA: tonic level within 0.05 uS + 5 % of NeuroKit's tonic (eda_process) after the filter warm-up;
  SCR count exactly, amplitude and rise time within 1e-9, equal to ``nk.eda_peaks`` run on the same
  phasic component (without NeuroKit's relative threshold, with the 0.01 uS amplitude rule).
- TEMP mean within 0.05 degC of the raw mean; ACC magnitude exactly that of the raw 1/64 g samples.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pytest

from pipeline.features.eda import SCR_MIN_AMPLITUDE_US, eda_decompose
from pipeline.stream import Window, default_config, stream_offline

SUBJECTS = ("S02", "S03", "S04", "S06", "S07")
START_S, LENGTH_S = 600, 600


def _read_e4(path: Path, max_s: int) -> tuple[int, float, np.ndarray]:
    """Tiny E4 CSV reader: (t0_ns, fs_hz, samples (channels, n)) of the first ``max_s`` seconds."""
    head = np.loadtxt(path, delimiter=",", ndmin=2, max_rows=2)
    fs_hz = float(head[1, 0])
    body = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=2, max_rows=int(max_s * fs_hz))
    return round(float(head[0, 0]) * 1e9), fs_hz, body.T.astype(np.float64)


def _segment(path: Path) -> tuple[int, float, np.ndarray]:
    t0, fs_hz, x = _read_e4(path, START_S + LENGTH_S)
    return t0 + START_S * 10**9, fs_hz, x[:, int(START_S * fs_hz) :]


def _raw_window(w: Window, t0_ns: int, x: np.ndarray) -> np.ndarray:
    i0 = int(np.ceil((w.start_ns - t0_ns) * w.fs_hz / 1e9 - 1e-9))
    return x[:, i0 : i0 + w.samples.shape[1]]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_bvp_heart_rate_vs_neurokit_and_e4(shared_data: Path, subject: str) -> None:
    raw_dir = shared_data / "stress-predict" / "Raw_data" / subject
    t0, fs_hz, x = _segment(raw_dir / "BVP.csv")
    hr_t0, _, hr = _read_e4(raw_dir / "HR.csv", START_S + LENGTH_S + 60)
    windows = stream_offline(default_config("bvp", fs_hz), t0, x)[::4]
    d_nk, d_e4 = [], []
    for w in windows:
        if w.quality < 0.9 or w.features["BVP_Beats_ValidFraction"] < 0.8:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sig, _ = nk.ppg_process(_raw_window(w, t0, x)[0], sampling_rate=int(fs_hz))
        d_nk.append(abs(w.features["BVP_HR_Mean"] - float(sig["PPG_Rate"].mean())))
        i0 = (w.start_ns - hr_t0) // 10**9
        d_e4.append(abs(w.features["BVP_HR_Mean"] - float(hr[0, i0 : i0 + 60].mean())))
    assert len(d_nk) >= 5, f"{subject}: only {len(d_nk)} clean windows"
    assert np.median(d_nk) <= 3.0 and max(d_nk) <= 6.0, d_nk
    assert np.median(d_e4) <= 4.0, d_e4


def test_ecg_heart_rate_vs_neurokit(shared_data: Path) -> None:
    ecg = np.load(shared_data / "systole-ecg" / "task1_1000hz.npz")["ecg"][:400_000].astype(np.float64)[None, :]
    t0 = 1_600_000_000_000_000_000
    windows = stream_offline(replace(default_config("ecg", 1000.0), hop_s=30.0), t0, ecg)
    assert len(windows) >= 10
    for w in windows:
        sig, _ = nk.ecg_process(_raw_window(w, t0, ecg)[0], sampling_rate=1000)
        diff = abs(w.features["ECG_HR_Mean"] - float(sig["ECG_Rate"].mean()))
        assert w.quality >= 0.9
        assert diff <= 2.0
        if w.features["ECG_Beats_ValidFraction"] >= 0.95:
            assert diff <= 1.0, (w.start_ns, diff)


def _check_scrs_against_neurokit(w: Window) -> None:
    """Our numpy SCR detector == nk.eda_peaks (no relative threshold) + the 0.01 uS amplitude rule."""
    _, phasic = eda_decompose(w.samples[0], w.fs_hz)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = nk.eda_peaks(phasic, sampling_rate=int(w.fs_hz), amplitude_min=0.0)
    amp = np.asarray(info["SCR_Amplitude"], dtype=np.float64)
    ok = np.isfinite(amp) & (amp >= SCR_MIN_AMPLITUDE_US)
    assert w.features["EDA_SCR_N"] == np.count_nonzero(ok)
    if np.any(ok):
        assert w.features["EDA_SCR_Amplitude_Mean"] == pytest.approx(amp[ok].mean(), abs=1e-9)
        rise = np.asarray(info["SCR_RiseTime"], dtype=np.float64)[ok]
        assert w.features["EDA_SCR_RiseTime_Mean"] == pytest.approx(rise.mean(), abs=1e-9)


@pytest.mark.filterwarnings("ignore:EDA signal is sampled at very low frequency")
@pytest.mark.parametrize("subject", SUBJECTS)
def test_eda_temp_acc_vs_offline(shared_data: Path, subject: str) -> None:
    raw_dir = shared_data / "stress-predict" / "Raw_data" / subject
    t0, fs_hz, x = _segment(raw_dir / "EDA.csv")
    for w in stream_offline(default_config("eda", fs_hz), t0, x)[::20]:
        if "filter_warmup" in w.quality_reasons:
            continue
        sig, _ = nk.eda_process(_raw_window(w, t0, x)[0], sampling_rate=int(fs_hz))
        nk_tonic = float(sig["EDA_Tonic"].mean())
        assert w.features["EDA_Tonic_Mean"] == pytest.approx(nk_tonic, abs=0.05 + 0.05 * abs(nk_tonic))
        _check_scrs_against_neurokit(w)
    t0, fs_hz, x = _segment(raw_dir / "TEMP.csv")
    for w in stream_offline(default_config("temp", fs_hz), t0, x)[::20]:
        if "filter_warmup" not in w.quality_reasons:
            assert w.features["TEMP_Mean"] == pytest.approx(float(_raw_window(w, t0, x).mean()), abs=0.05)
    t0, fs_hz, x = _segment(raw_dir / "ACC.csv")
    for w in stream_offline(default_config("acc", fs_hz, units="1/64 g"), t0, x)[::20]:
        raw_g = _raw_window(w, t0, x) / 64.0
        mag = np.sqrt(raw_g[0] ** 2 + raw_g[1] ** 2 + raw_g[2] ** 2)
        assert w.features["ACC_Mag_Mean"] == pytest.approx(float(mag.mean()), rel=1e-9)
        assert 0.7 < w.features["ACC_Mag_Mean"] < 1.5  # gravity dominates a wrist at rest or walking
