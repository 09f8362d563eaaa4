"""Tiny end-to-end run of `emopipe train` and `emopipe evaluate` on 3 real subjects (few epochs)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.cli import main


@pytest.mark.slow
def test_train_then_evaluate_three_subjects(shared_data, tmp_path):
    art, res, cache = tmp_path / "art", tmp_path / "acc.json", tmp_path / "cache"
    common = ["--data-dir", str(shared_data), "--subjects", "2,3,4", "--cache-dir", str(cache), "--epochs", "2"]
    assert main(["train", "--only", "stress_binary", "--out", str(art), *common]) == 0
    card = json.loads((art / "stress_binary.json").read_text())
    assert card["metrics"] is None and card["training_data"]["subjects"] == [2, 3, 4]
    assert (
        main(
            [
                "evaluate",
                "--only",
                "stress_binary",
                "--models",
                "default",
                "--artifacts",
                str(art),
                "--results",
                str(res),
                *common,
            ]
        )
        == 0
    )
    acc = json.loads(res.read_text())["stress_binary"]
    assert acc["n_subjects"] == 3
    for k in ("balanced_accuracy", "macro_f1", "baseline_balanced_accuracy", "balanced_accuracy_start_cut"):
        assert 0.0 <= acc[k] <= 1.0
    card = json.loads((art / "stress_binary.json").read_text())
    assert card["metrics"]["balanced_accuracy"] == acc["balanced_accuracy"]
    assert set(card["metrics"]["per_subject_balanced_accuracy"]) == {"2", "3", "4"}
    lc = card["metrics"]["start_cut"]["leak_check"]
    assert lc["n_draws"] == 5 and len(lc["start_cut_balanced_accuracy_draws"]) == 5
    assert lc["delta_ci95"][0] <= lc["delta_ci95"][1]
    assert lc["holds"] == (lc["delta_ci95"][0] <= 0.0 <= lc["delta_ci95"][1])
    assert acc["leak_check_holds"] == lc["holds"]
    assert acc["leak_check_within_score_noise"] == lc["within_score_noise"]
    assert 0.0 <= acc["clock_control_balanced_accuracy"] <= 1.0
    assert "clock_only (leak control)" in card["metrics"]["compared"]
    conf = np.array(card["metrics"]["confusion"])
    assert conf.shape == (2, 2) and conf.sum() == card["metrics"]["n"]
