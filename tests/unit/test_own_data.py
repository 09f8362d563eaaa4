"""``emopipe train --data DIR --labels FILE`` on real recordings (3 Stress-Predict subjects, first 25 min each,
copied as a lab's 'own data' with a label CSV made from the data set's per-second labels)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from agents.cli import main
from models import stress_data as sd
from models.registry import load

SUBJECTS = (2, 3, 4)


def trimmed_e4(src, dst, minutes):
    dst.mkdir(parents=True)
    for name in ("BVP", "EDA", "TEMP", "ACC"):
        lines = (src / f"{name}.csv").read_text().splitlines()
        fs = float(lines[1].split(",")[0])
        (dst / f"{name}.csv").write_text("\n".join(lines[: 2 + int(minutes * 60 * fs)]) + "\n")


@pytest.fixture(scope="module")
def own_data(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    for s in SUBJECTS:
        trimmed_e4(shared_data / "stress-predict" / "Raw_data" / f"S{s:02d}", root / "data" / f"S{s:02d}", 25.0)
    sd.write_label_csv(shared_data, SUBJECTS, root / "labels.csv")
    return root


def test_train_on_own_data_then_score(own_data, tmp_path, capsys):
    out = tmp_path / "models"
    rc = main(["train", "--data", str(own_data / "data"), "--labels", str(own_data / "labels.csv"),
               "--out", str(out), "--epochs", "2", "--name", "lab_stress"])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "leave-one-subject-out, 3 subjects" in text and "start-cut" in text
    card = json.loads((out / "lab_stress.json").read_text())
    m = card["metrics"]
    assert card["classes"] == ["non-stress", "stress"] and card["training_data"]["subject_ids"] == ["S02", "S03", "S04"]
    assert sorted(m["per_subject_balanced_accuracy"]) == ["S02", "S03", "S04"]
    assert 0.0 <= m["balanced_accuracy"] <= 1.0 and np.asarray(m["confusion"]).sum() == m["n"]
    assert m["start_cut"]["leak_check"]["n_draws"] >= 1
    model = load(out / "lab_stress.json")
    state = model.new_state()
    state, x = model.prepare(state, {})
    assert model.predict_proba(x[None, :]).shape == (1, 2)
    # the trained model scores through emopipe score (its training subjects are flagged as in-sample)
    rep = tmp_path / "rep"
    rc = main(["score", str(own_data / "data" / "S02"), "--model", str(out / "lab_stress.json"),
               "--labels", str(own_data / "labels.csv"), "--out", str(rep), "--n-boot", "50"])  # fmt: skip
    assert rc == 0
    assert json.loads((rep / "report.json").read_text())["in_training_data"] == ["S02"]


def test_own_data_bad_input_is_clear(own_data, tmp_path, capsys):
    base = ["train", "--out", str(tmp_path)]
    assert main([*base, "--data", str(own_data / "data")]) == 2
    assert "--data and --labels go together" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,t_s,label\nS02,1644227583,relaxed\n")
    assert main([*base, "--data", str(own_data / "data"), "--labels", str(bad)]) == 2
    assert "'relaxed' is not a class" in capsys.readouterr().err
    assert main([*base, "--data", str(tmp_path / "none"), "--labels", str(own_data / "labels.csv")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_markers_give_the_same_training_data_as_the_label_csv(own_data, shared_data, tmp_path):
    """Recorded markers (rest / task segments at the label change points) train the same model as the CSV."""
    from pipeline.markers import Marker, encode_marker

    labels = sd.load_labels(shared_data)
    lines = []
    for s in SUBJECTS:
        t, y, _ = labels[s]
        change = np.flatnonzero(np.diff(y)) + 1
        bounds = [0, *change.tolist(), len(t)]
        for a, b in itertools.pairwise(bounds):
            name = "task" if y[a] == 1 else "rest"
            t_end = int(t[b - 1]) + 1
            for kind, tt in (("start", int(t[a])), ("end", t_end)):
                lines.append(encode_marker(Marker(f"S{s:02d}", "e4", tt * 10**9, kind, name, "test")).decode())
    (tmp_path / "markers.jsonl").write_text("\n".join(lines) + "\n")
    outs = {}
    runs = (
        ("csv", own_data / "labels.csv", []),
        ("markers", tmp_path / "markers.jsonl", ["--label-map", "rest=non-stress,task=stress"]),
    )
    for kind, lab, extra in runs:
        out = tmp_path / kind
        rc = main(["train", "--data", str(own_data / "data"), "--labels", str(lab), "--out", str(out), "--epochs", "1",
                   *extra])  # fmt: skip
        assert rc == 0
        outs[kind] = json.loads((out / "stress_binary.json").read_text())
    assert outs["csv"]["training_data"]["n_windows"] == outs["markers"]["training_data"]["n_windows"]
    assert outs["csv"]["metrics"]["confusion"] == outs["markers"]["metrics"]["confusion"]
