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
    conf = np.array(card["metrics"]["confusion"])
    assert conf.shape == (2, 2) and conf.sum() == card["metrics"]["n"]
