"""``emopipe score``: label files, window labels, metrics, report; one real-data run on a Stress-Predict subject."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agents.cli import main
from models.exceptions import LabelError
from models.scoring import (
    SubjectScores,
    Timeline,
    marker_timeline,
    parse_label_map,
    read_label_csv,
    score_report,
    tag_timeline,
    window_labels,
)
from pipeline.markers import Marker

CLASSES = ("non-stress", "stress")
S = 1_000_000_000


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_label_csv_with_subjects_names_indices_and_map(tmp_path):
    p = write(tmp_path, "l.csv", "subject,t_s,label\nA,12,stress\nA,10,non-stress\nA,11,1\nB,5.5,task\n")
    tl = read_label_csv(p, CLASSES, parse_label_map("task=stress"))
    assert sorted(tl) == ["A", "B"]
    assert tl["A"].t_ns.tolist() == [10 * S, 11 * S, 12 * S]  # sorted by time
    assert tl["A"].y.tolist() == [0, 1, 1]
    assert tl["B"].t_ns.tolist() == [5_500_000_000] and tl["B"].y.tolist() == [1]


def test_label_csv_without_subject_applies_to_all(tmp_path):
    p = write(tmp_path, "l.csv", "timestamp_unix_s,label\n1,stress\n2,stress\n")
    assert list(read_label_csv(p, CLASSES)) == ["*"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("time,label\n1,stress\n", "lacks a time column"),
        ("subject,t_s,lab\nA,1,stress\n", "lacks a time column"),
        ("subject,t_s,label\nA,1,calm\n", "'calm' is not a class of the model"),
        ("subject,t_s,label\nA,yesterday,stress\n", "is not a number"),
        ("subject,t_s,label\nA,1,7\n", "not a class"),
        ("subject,t_s,label\n", "no label rows"),
    ],
)
def test_bad_label_csv_is_a_clear_error(tmp_path, text, reason):
    with pytest.raises(LabelError, match=reason):
        read_label_csv(write(tmp_path, "l.csv", text), CLASSES)


def test_missing_label_file(tmp_path):
    with pytest.raises(LabelError, match="not found"):
        read_label_csv(tmp_path / "nope.csv", CLASSES)
    with pytest.raises(LabelError, match="NAME=CLASS"):
        parse_label_map("rest")


def test_window_labels_majority_and_half_coverage():
    t = np.arange(0, 100, dtype=np.int64) * S
    y = (np.arange(100) >= 40).astype(np.int64)
    tl = Timeline(t[:70], y[:70])  # seconds 70.. unlabelled
    start = np.array([0, 20, 30, 50, 60, 65], np.int64) * S
    end = start + 20 * S
    # [0,20) -> 0; [20,40) -> 0; [30,50): 10 vs 10, argmax picks 0; [50,70) -> 1; [60,80): 10 s labelled = half
    # -> 1; [65,85): 5 s labelled < half -> -1
    assert window_labels(start, end, tl, 2).tolist() == [0, 0, 0, 1, 1, -1]


def test_tag_and_marker_timelines():
    span = (0, 100 * S)
    tl = tag_timeline([10 * S, 20 * S, 50 * S, 60 * S, 90 * S], span, 2, max_pairs=0)
    assert len(tl.t_ns) == 100
    assert tl.y[[5, 10, 19, 20, 55, 95]].tolist() == [0, 1, 1, 0, 1, 0]
    ms = [Marker("A", "s", 10 * S, "start", "rest", "t"), Marker("A", "s", 30 * S, "end", "rest", "t"),
          Marker("A", "s", 30 * S, "start", "stroop", "t"), Marker("A", "s", 40 * S, "end", "stroop", "t")]  # fmt: skip
    mt = marker_timeline(ms, span, CLASSES, {"rest": "non-stress", "stroop": "stress"})
    assert mt.t_ns[0] == 10 * S and mt.t_ns[-1] == 39 * S  # unmarked seconds are unlabelled
    assert mt.y.tolist() == [0] * 20 + [1] * 10
    with pytest.raises(LabelError, match="'stroop' is not a class"):
        marker_timeline(ms, span, CLASSES, {"rest": "non-stress"})


def test_score_report_matches_direct_computation():
    from sklearn.metrics import balanced_accuracy_score, f1_score

    rng = np.random.default_rng(0)
    scored, timelines, all_y, all_p = {}, {}, [], []
    for k in range(4):
        n = 50
        start = (np.arange(n) * 5 + 1000 * k) * S
        end = start + 60 * S
        y = (np.arange(n) // 10 % 2).astype(np.int64)
        p1 = np.clip(0.5 + (y - 0.5) * rng.uniform(-0.2, 1.0, n), 0, 1)
        proba = np.c_[1 - p1, p1]
        scored[f"S{k}"] = SubjectScores(start, end, proba)
        # per-second labels: window label = y of the window (every second of a window gets it, later wins)
        t = np.arange(start[0], end[-1], S)
        lab = np.zeros(len(t), np.int64)
        for s, e, v in zip(start, end, y, strict=True):
            lab[(t >= s + 30 * S) & (t < e)] = v  # second half of each window decides the majority
        timelines[f"S{k}"] = Timeline(t, lab)
    rep = score_report(scored, timelines, CLASSES, n_boot=200)
    for sid, sc in scored.items():
        y = window_labels(sc.start_ns, sc.end_ns, timelines[sid], 2)
        all_y.append(y)
        all_p.append(sc.proba)
        assert rep["per_subject"][sid]["balanced_accuracy"] == pytest.approx(
            balanced_accuracy_score(y, sc.proba.argmax(1))
        )
    y, p = np.concatenate(all_y), np.concatenate(all_p)
    pooled = rep["pooled"]
    assert pooled["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, p.argmax(1)))
    assert pooled["macro_f1"] == pytest.approx(f1_score(y, p.argmax(1), average="macro"))
    lo, hi = pooled["balanced_accuracy_ci95"]
    assert lo <= pooled["balanced_accuracy"] <= hi and lo < hi
    assert pooled["n_subjects"] == 4 and pooled["n"] == 200
    assert np.asarray(pooled["confusion"]).sum() == 200


def test_no_overlap_is_a_clear_error():
    sc = {"A": SubjectScores(np.array([0], np.int64), np.array([60 * S], np.int64), np.array([[0.5, 0.5]]))}
    with pytest.raises(LabelError, match="do not overlap"):
        score_report(sc, {"A": Timeline(np.array([10_000 * S], np.int64), np.array([1], np.int64))}, CLASSES)


def test_cli_bad_labels_exit_2_with_reason(tmp_path, capsys, shared_data):
    rec = str(shared_data / "stress-predict" / "Raw_data" / "S02")
    assert main(["score", rec, "--labels", str(tmp_path / "missing.csv"), "--out", str(tmp_path)]) == 2
    assert "label file" in capsys.readouterr().err
    bad = write(tmp_path, "b.csv", "who,when\n1,2\n")
    assert main(["score", rec, "--labels", str(bad), "--out", str(tmp_path)]) == 2
    assert "lacks a time column" in capsys.readouterr().err
    assert main(["score", rec, "--labels", "tags", "--model", "nosuch", "--out", str(tmp_path)]) == 2
    assert "no model 'nosuch'" in capsys.readouterr().err
    assert main(["score", rec, "--labels", "tags", "--model", "stress_binary@9.9", "--out", str(tmp_path)]) == 2
    assert "not version 9.9" in capsys.readouterr().err


def trimmed_e4(src: Path, dst: Path, minutes: float) -> Path:
    """Copy the first ``minutes`` of an E4 session (header rows kept) and its tags file."""
    dst.mkdir(parents=True)
    for name in ("BVP", "EDA", "TEMP", "ACC"):
        lines = (src / f"{name}.csv").read_text().splitlines()
        fs = float(lines[1].split(",")[0])
        (dst / f"{name}.csv").write_text("\n".join(lines[: 2 + int(minutes * 60 * fs)]) + "\n")
    for tags in src.glob("tags*.csv"):
        (dst / tags.name).write_text(tags.read_text())
    return dst


def test_score_real_subject_through_the_live_path(tmp_path, shared_data, capsys):
    """Real data: 20 minutes of Stress-Predict S02 (rest, then the Stroop task) with the committed model."""
    from agents.offline import offline_events
    from agents.sources import find_recordings, recording_chunks
    from models import stress_data as sd
    from models.heads import head_from_model
    from models.registry import load_default
    from models.scoring import score_recordings
    from pipeline.plan import stream_plan

    rec_dir = trimmed_e4(shared_data / "stress-predict" / "Raw_data" / "S02", tmp_path / "S02", 20.0)
    labels = tmp_path / "labels.csv"
    sd.write_label_csv(shared_data, [2], labels)
    out = tmp_path / "report"
    rc = main(["score", str(rec_dir), "--labels", str(labels), "--out", str(out), "--n-boot", "200"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "| S02 |" in text and "pooled over 1 subject(s)" in text and "in this model's training data" in text
    rep = json.loads((out / "report.json").read_text())
    for f in ("report.html", "confusion.png", "per_subject.png", "timeline_S02.png"):
        assert (out / f).stat().st_size > 1000, f
    assert rep["model"]["name"] == "stress_binary"
    w = rep["windows"]["S02"]
    y = np.asarray(w["y"])
    # 20 min of signal, 60 s windows every 5 s: ~229 windows, every one labelled, both classes present
    assert 200 < len(y) < 240 and (y >= 0).all() and set(y.tolist()) == {0, 1}
    # labels agree with the data set's own rule (models.stress_data.window_labels)
    t, yb, _ = sd.load_labels(shared_data)[2]
    ref = sd.window_labels(np.asarray(w["start_ns"]), np.asarray(w["end_ns"]), t, yb)
    assert (ref == y).all()
    # in-sample subject with the Stroop task inside: clearly better than chance
    assert rep["pooled"]["balanced_accuracy"] > 0.6
    # the scorer's probabilities are the live path's (agents.offline.offline_events, the streaming reference)
    model = load_default("stress_binary")
    recording = find_recordings([rec_dir])[0]
    chunks = list(recording_chunks(recording, chunk_s=1.0, t0_offset_ns=0, untimed_t0_ns=0))
    head = head_from_model(model)
    evs = [e for e in offline_events([head], chunks, plan=stream_plan([head.spec])) if e.kind == "head"]
    ours = score_recordings(model, [chunks])["S02"]
    assert [e.window_end_ns for e in evs] == ours.end_ns.tolist()
    np.testing.assert_allclose([e.probabilities["stress"] for e in evs], ours.proba[:, 1], rtol=0, atol=1e-12)
    # E4 button presses give nearly the same labels (presses match the label change points within ~1 s)
    out2 = tmp_path / "report_tags"
    args = ["score", str(rec_dir), "--labels", "tags", "--tag-pairs", "3", "--out", str(out2), "--n-boot", "50"]
    assert main(args) == 0
    y_tags = np.asarray(json.loads((out2 / "report.json").read_text())["windows"]["S02"]["y"])
    assert np.mean(y_tags == y) > 0.97
