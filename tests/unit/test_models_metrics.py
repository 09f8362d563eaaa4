"""Metrics: pooled balanced accuracy from per-subject confusions, and the start-cut leak check."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from models.metrics import balanced_accuracy_of, group_confusions, leak_check


def _onehot(pred: np.ndarray, n: int) -> np.ndarray:
    return np.eye(n)[pred]


def test_pooled_confusions_give_sklearn_balanced_accuracy() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 500)
    pred = np.where(rng.random(500) < 0.6, y, rng.integers(0, 3, 500))
    subj = rng.integers(0, 7, 500)
    conf = group_confusions(y, pred, subj, 3, list(range(7)))
    assert conf.shape == (7, 3, 3)
    assert conf.sum() == 500
    assert np.isclose(balanced_accuracy_of(conf.sum(axis=0)), balanced_accuracy_score(y, pred))


def _subjects(n_subj: int, n_win: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = np.concatenate([(np.arange(n_win) // 10) % 2 for _ in range(n_subj)])
    subj = np.repeat(np.arange(n_subj), n_win)
    return y, subj


def test_leak_check_holds_when_the_cut_changes_nothing() -> None:
    rng = np.random.default_rng(0)
    y, subj = _subjects(20, 60, rng)
    pred = np.where(rng.random(len(y)) < 0.75, y, 1 - y)
    full = (y, _onehot(pred, 2), subj)
    keep = np.tile(np.arange(60) >= 15, 20)  # the cut drops windows, the kept predictions are unchanged
    cut = (y[keep], _onehot(pred[keep], 2), subj[keep])
    lc = leak_check(full, [cut, cut], n_boot=500)
    assert lc["holds"], lc
    assert lc["within_score_noise"]
    assert lc["delta_ci95"][0] < 0 < lc["delta_ci95"][1]
    lo, hi = lc["balanced_accuracy_ci95"]
    assert lo < lc["balanced_accuracy"] < hi


def test_leak_check_fails_for_a_model_that_reads_the_clock() -> None:
    rng = np.random.default_rng(0)
    y, subj = _subjects(20, 60, rng)
    full = (y, _onehot(y, 2), subj)  # perfect on full recordings: it knows the protocol timing
    keep = np.tile(np.arange(60) >= 15, 20)
    shifted = np.concatenate([(np.arange(45) // 10) % 2 for _ in range(20)])  # its clock now starts late
    cut = (y[keep], _onehot(shifted, 2), subj[keep])
    lc = leak_check(full, [cut], n_boot=500)
    assert not lc["holds"]
    assert not lc["within_score_noise"]
    assert lc["delta"] < -0.2
    assert lc["delta_ci95"][1] < 0
