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


@pytest.mark.slow
def test_train_then_evaluate_sequence_models_and_heads_three_subjects(shared_data, tmp_path):
    """`--only stress_seq`: LSTM/TCN window_sequence cards and the three head cards, metrics written back."""
    from models.registry import load

    art, res, cache = tmp_path / "art", tmp_path / "acc.json", tmp_path / "cache"
    common = ["--data-dir", str(shared_data), "--subjects", "2,3,4", "--cache-dir", str(cache), "--epochs", "1"]
    assert main(["train", "--only", "stress_seq", "--out", str(art), *common]) == 0
    names = ("stress_binary_lstm", "stress_binary_tcn", "stress_eda", "stress_bvp", "stress_tempacc")
    for n in names:
        card = json.loads((art / f"{n}.json").read_text())
        assert card["metrics"] is None
        assert card["input"]["kind"] == ("window_sequence" if "binary" in n else "features")
    assert json.loads((art / "stress_tempacc.json").read_text())["modalities"] == ["temp", "acc"]
    m = load(art / "stress_binary_tcn.json")
    assert m.context_windows == json.loads((art / "stress_binary_tcn.json").read_text())["input"]["context_windows"]
    argv = ["evaluate", "--only", "stress_seq", "--cut-draws", "2", "--artifacts", str(art), "--results", str(res)]
    assert main([*argv, *common]) == 0
    acc = json.loads(res.read_text())["stress_seq"]
    for k in ("mlp", "lstm", "tcn", "head_eda", "head_bvp", "head_tempacc", "late_heads_quality", "logreg"):
        assert 0.0 <= acc[k]["balanced_accuracy"] <= 1.0 and 0.0 <= acc[k]["balanced_accuracy_start_cut"] <= 1.0
    assert acc["clock_only"]["leak_check_within_score_noise"] in (True, False)
    lstm = json.loads((art / "stress_binary_lstm.json").read_text())
    assert lstm["metrics"]["balanced_accuracy"] == acc["lstm"]["balanced_accuracy"]
    assert lstm["metrics"]["start_cut"]["leak_check"]["n_draws"] == 2
