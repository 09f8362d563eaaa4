"""Learned AU model on labelled OpenFace clips (models.video) through `emopipe train/evaluate`.

The clips here are SYNTHETIC (generated OpenFace-format CSVs with a smiling and a frowning
pattern): no labelled face data ships with emopipe. They test the path, not facial emotion.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agents.cli import main
from models.exceptions import ModelError
from models.registry import load
from models.video import clip_windows, read_labels

AUS = ("AU04", "AU06", "AU12")
PATTERN = {"happy": {"AU06": 2.5, "AU12": 3.0}, "angry": {"AU04": 3.0}}


def _write_clip(path: Path, label: str, rng: np.random.Generator, seconds: float = 20.0, fps: float = 30.0) -> None:
    n = int(seconds * fps)
    cols = ["frame", "timestamp", "confidence", "success", *(f"{a}_r" for a in AUS), *(f"{a}_c" for a in AUS)]
    lines = [", ".join(cols)]
    for i in range(n):
        r = [max(0.0, PATTERN[label].get(a, 0.3) + rng.normal(0, 0.5)) for a in AUS]
        c = [1.0 if v > 1.0 else 0.0 for v in r]
        lines.append(", ".join(f"{v:.3f}" for v in [i + 1, i / fps, 0.98, 1.0, *r, *c]))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = ["openface_csv,subject,label"]
    for s in ("s1", "s2", "s3", "s4"):
        for label in PATTERN:
            name = f"clips/{s}_{label}.csv"
            (tmp_path / "clips").mkdir(exist_ok=True)
            _write_clip(tmp_path / name, label, rng)
            rows.append(f"{name},{s},{label}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "labels.csv"


def test_clip_windows_follow_the_live_grid():
    ts = np.arange(0, 12.0, 1 / 30)
    vals = np.ones((len(ts), 2), np.float32)
    wins = clip_windows(ts, vals, ("AU12_r", "AU12_c"))
    assert len(wins) == 3  # 0-5, 5-10, 10-12 s
    assert wins[0] == {"VIDEO_AU12_Intensity_Mean": 1.0, "VIDEO_AU12_Activation_Rate": 1.0}


def test_train_and_evaluate_a_learned_au_model(labelled: Path, tmp_path: Path):
    out = tmp_path / "models"
    args = ["--video-labels", str(labelled)]
    assert main(["train", "--only", "video_learned", "--out", str(out), *args]) == 0
    m = load(out / "video_learned.json")
    assert m.classes == ("angry", "happy")
    names = m.card["input"]["feature_names"]
    happy = {n: 0.0 for n in names} | {"VIDEO_AU06_Intensity_Mean": 2.5, "VIDEO_AU12_Intensity_Mean": 3.0}
    happy |= {"VIDEO_AU04_Intensity_Mean": 0.4, "VIDEO_AU06_Activation_Rate": 1.0, "VIDEO_AU12_Activation_Rate": 1.0}
    angry = {n: 0.0 for n in names} | {"VIDEO_AU04_Intensity_Mean": 3.0, "VIDEO_AU04_Activation_Rate": 1.0}
    angry |= {"VIDEO_AU06_Intensity_Mean": 0.4, "VIDEO_AU12_Intensity_Mean": 0.4}
    p = m.predict_proba(np.array([[happy[n] for n in names], [angry[n] for n in names]], np.float32))
    assert p.shape == (2, 2)
    assert p[0].argmax() == 1 and p[1].argmax() == 0  # raw features in: standardisation is inside the model
    res = tmp_path / "acc.json"
    assert main(["evaluate", "--only", "video_learned", "--artifacts", str(out), "--results", str(res), *args]) == 0
    card = json.loads((out / "video_learned.json").read_text())
    assert card["metrics"]["balanced_accuracy"] > 0.9
    assert set(card["metrics"]["per_subject_balanced_accuracy"]) == {"s1", "s2", "s3", "s4"}


def test_video_learned_needs_labels_and_good_rows(tmp_path: Path):
    assert main(["train", "--only", "video_learned", "--out", str(tmp_path)]) == 2
    bad = tmp_path / "labels.csv"
    bad.write_text("openface_csv,subject\nx.csv,s1\n")
    with pytest.raises(ModelError, match="columns"):
        read_labels(bad)
    bad.write_text("openface_csv,subject,label\nmissing.csv,s1,happy\n")
    with pytest.raises(FileNotFoundError, match=r"missing\.csv"):
        read_labels(bad)
