"""Artefacts of the robustness benchmark (models.corruption) and re-windowing one modality.

The signals here are SYNTHETIC (neurokit2 simulators / constants); the benchmark itself uses real E4 data.
"""

from __future__ import annotations

import neurokit2 as nk
import numpy as np
import pytest

from models import stress_data as sd
from models.corruption import EDA_STEP_US, bvp_motion_noise, eda_contact_loss, robust_sd, stretches
from models.exceptions import ModelError


def test_stretches_cover_the_requested_share_and_are_seeded():
    a = stretches(4 * 3600, 4.0, np.random.default_rng(0), coverage=0.4, min_s=120, max_s=480)
    b = stretches(4 * 3600, 4.0, np.random.default_rng(0), coverage=0.4, min_s=120, max_s=480)
    np.testing.assert_array_equal(a, b)
    assert 0.4 <= a.mean() < 0.55
    runs = np.diff(np.r_[0, a.astype(int), 0])
    lengths = np.flatnonzero(runs == -1) - np.flatnonzero(runs == 1)
    assert lengths.min() >= 120 * 4
    with pytest.raises(ModelError):
        stretches(100, 4.0, np.random.default_rng(0), coverage=1.0)


def test_eda_contact_loss_is_a_flat_line_near_zero_only_inside_the_mask():
    rng = np.random.default_rng(1)
    x = 0.4 + 0.01 * rng.standard_normal((1, 2400))
    mask = np.zeros(2400, dtype=bool)
    mask[600:1400] = True
    y = eda_contact_loss(x, mask, rng)
    np.testing.assert_array_equal(y[0, ~mask], x[0, ~mask])
    inside = y[0, mask]
    assert inside.min() >= 0.0 and inside.max() <= 0.01 + 2 * EDA_STEP_US
    np.testing.assert_allclose(inside / EDA_STEP_US, np.round(inside / EDA_STEP_US), atol=1e-9)


def test_bvp_motion_noise_is_large_broadband_and_clipped():
    x = nk.ppg_simulate(duration=120, sampling_rate=64, heart_rate=70, random_state=0)[None, :] * 50.0
    mask = np.zeros(x.shape[1], dtype=bool)
    mask[64 * 30 : 64 * 90] = True
    sd_clean = robust_sd(x[0])
    y = bvp_motion_noise(x, 64.0, mask, np.random.default_rng(2))
    np.testing.assert_array_equal(y[0, ~mask], x[0, ~mask])
    diff = y[0, mask] - x[0, mask]
    assert np.std(diff) > 1.5 * sd_clean
    med = np.median(x[0])
    assert np.max(np.abs(y[0, mask] - med)) <= 3.0 * sd_clean + 1e-9
    assert np.mean(np.isclose(np.abs(y[0, mask] - med), 3.0 * sd_clean)) > 0.05  # saturated samples


def test_corrupted_signal_through_the_pipeline_lowers_quality_and_replaces_only_that_modality():
    """EDA contact loss -> pipeline windows -> quality reason fires; replace_modality swaps the EDA part."""
    fs = 4.0
    n = int(fs * 600)
    rng = np.random.default_rng(3)
    eda = (0.5 + 0.02 * np.sin(np.arange(n) / 40.0) + 0.002 * rng.standard_normal(n))[None, :]
    temp = np.full((1, n), 33.0) + 0.01 * rng.standard_normal((1, n))
    t0 = 1_700_000_000 * 10**9
    clean = {m: sd.pipeline_windower(m, fs, t0, x) for m, x in (("eda", eda), ("temp", temp))}
    mask = np.zeros(n, dtype=bool)
    mask[int(fs * 200) : int(fs * 400)] = True
    bad = sd.pipeline_windower("eda", fs, t0, eda_contact_loss(eda, mask, rng))
    inside = [w for w in bad if w.start_ns >= t0 + 200 * 10**9 and w.end_ns <= t0 + 400 * 10**9]
    assert inside and all("eda_no_contact" in w.quality_reasons and w.quality <= 0.1 for w in inside)
    partly = [w for w in bad if w.start_ns < t0 + 200 * 10**9 < w.end_ns - 15 * 10**9]
    assert partly and all(w.quality < 0.9 for w in partly)
    ends = sorted(int(w.end_ns) for w in clean["eda"])
    feats = []
    for e in ends:
        row: dict[str, float] = {}
        for m in ("eda", "temp"):
            row.update(next(w for w in clean[m] if w.end_ns == e).features)
        feats.append(row)
    q = np.ones((len(ends), 4))
    sw = sd.SubjectWindows(1, np.asarray(ends), np.asarray(ends) - 60 * 10**9, feats, q, np.zeros((len(ends), 4, 240)))
    out = sd.replace_modality(sw, "eda", bad[:-1])  # the last window did not arrive
    j = sd.STRESS_MODALITIES.index("eda")
    by_end = {w.end_ns: w for w in bad}
    for i, e in enumerate(ends[:-1]):
        assert out.quality[i, j] == by_end[e].quality
        assert out.features[i]["EDA_Mean"] == by_end[e].features["EDA_Mean"]
        assert out.features[i]["TEMP_Mean"] == feats[i]["TEMP_Mean"]
    assert out.quality[-1, j] == 0.0 and "EDA_Mean" not in out.features[-1]
    np.testing.assert_array_equal(out.quality[:, 2], q[:, 2])


def test_quality_gated_mlp_treats_a_low_quality_modality_as_absent():
    """mlp_quality_gated: the same network; a modality with quality < gate gets its input block zeroed."""
    from models import stress as st
    from models.preprocess import PreprocessSpec
    from models.training import FitConfig, predict_proba

    spec = PreprocessSpec(("EDA_Mean", "EDA_SD", "BVP_HR_Mean", "TEMP_Mean", "ACC_Mean"))
    rng = np.random.default_rng(0)
    n = 200
    x = rng.normal(size=(n, 5)).astype(np.float32)  # SYNTHETIC
    y = (x[:, 0] > 0).astype(np.int64)
    q = np.ones((n, 4))
    q[::2, 0] = 0.2  # EDA poor in every second window
    a = st.Arrays(x, np.zeros((n, 4, 1), np.float32), q, {"stress_binary": y}, np.zeros(n, np.int64))
    cand = st.Candidate("g", "mlp", {"hidden": (4,)}, FitConfig(epochs=2), quality_gate=0.5)
    memo: dict = {}
    pred, net = st.train_candidate(cand, a, "stress_binary", spec, memo=memo)
    _, same = st.train_candidate(
        st.Candidate("m", "mlp", {"hidden": (4,)}, FitConfig(epochs=2)), a, "stress_binary", spec, memo=memo
    )
    assert same is net  # one trained network shared through the memo
    zeroed = x.copy()
    zeroed[::2, :2] = 0.0
    np.testing.assert_array_equal(pred(a), predict_proba(net, zeroed))
