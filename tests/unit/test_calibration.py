"""Personal calibration (models.calibration): the adaptation, the split, and what gets recorded where."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.calibration import adapt, first_task_bounds_s, record_calibrated


def test_first_task_bounds():
    t = np.arange(100, 200, dtype=np.int64)
    phase = np.zeros(100, np.int64)
    phase[20:40] = 1
    phase[60:70] = 2
    assert first_task_bounds_s(t, phase) == (120, 140)
    with pytest.raises(ValueError, match="no seconds"):
        first_task_bounds_s(t, np.zeros(100, np.int64))


def test_recalibration_moves_a_biased_head_to_the_subject():
    # a head whose stress probability is shifted for this subject (constructed numbers, not signals):
    # rest windows at p ~ 0.7, task windows at p ~ 0.9; uncalibrated, every window reads as stress
    rng = np.random.default_rng(0)
    y_cal = np.r_[np.zeros(60, np.int64), np.ones(30, np.int64)]
    p_cal = np.where(y_cal == 1, 0.9, 0.7) + rng.normal(0, 0.02, len(y_cal))
    y_new = np.r_[np.zeros(50, np.int64), np.ones(50, np.int64)]
    p_new = np.where(y_new == 1, 0.9, 0.7) + rng.normal(0, 0.02, len(y_new))
    x = np.zeros((len(y_cal), 3), np.float32)
    xn = np.zeros((len(y_new), 3), np.float32)
    assert np.mean((p_new > 0.5) == y_new) == 0.5
    for method in ("recal", "stack"):
        q = adapt(method, p_cal, x, y_cal, p_new, xn)
        assert np.mean((q > 0.5) == y_new) > 0.95, method
    # one class only in the calibration segment: the head's output is left as it is
    np.testing.assert_array_equal(adapt("recal", p_cal[:60], x[:60], y_cal[:60], p_new, xn), p_new)
    with pytest.raises(ValueError, match="unknown adaptation"):
        adapt("nope", p_cal, x, y_cal, p_new, xn)


def test_record_keeps_other_keys(tmp_path):
    results = tmp_path / "accuracy.json"
    results.write_text(json.dumps({"stress_binary": {"balanced_accuracy": 0.7}, "ravdess": {"uar": 0.6}}))
    card = tmp_path / "stress_binary.json"
    card.write_text(json.dumps({"name": "stress_binary", "metrics": {"balanced_accuracy": 0.7}}))
    part = {
        "balanced_accuracy": 0.8, "balanced_accuracy_ci95": [0.7, 0.9], "macro_f1": 0.79, "auroc": 0.85,
        "start_cut": {"balanced_accuracy": 0.79, "leak_check": {"delta_ci95": [-0.02, 0.01]}},
    }  # fmt: skip
    res = {"default_method": "recal", "recal": part, "uncalibrated": {**part, "balanced_accuracy": 0.7},
           "n_scored_windows": 10, "protocol": "p", "start_cut_s": [{}]}  # fmt: skip
    record_calibrated(res, card, results)
    acc = json.loads(results.read_text())
    assert acc["ravdess"] == {"uar": 0.6} and acc["stress_binary"]["balanced_accuracy"] == 0.7
    assert acc["stress_binary"]["calibrated_balanced_accuracy"] == 0.8
    assert acc["stress_binary"]["calibrated_same_windows_uncalibrated"] == 0.7
    c = json.loads(card.read_text())
    assert c["metrics"]["balanced_accuracy"] == 0.7 and c["metrics"]["calibrated"]["recal"]["balanced_accuracy"] == 0.8
