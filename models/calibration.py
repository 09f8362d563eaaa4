"""Personal calibration from marked segments, and its honest evaluation on Stress-Predict.

Protocol (a lab marks a rest and one labelled task at the start of a session): the test subject's
pre-task rest and first stress task (the Stroop test) are the calibration segment; only windows that
start after the Stroop test ends are scored (the interview, the hyperventilation task and the rests and
questionnaires between and after them). Two steps use the calibration segment:

1. the personal baseline is seeded with it (:meth:`models.registry.LoadedModel.calibrate`, which is
   :func:`models.preprocess.preprocess_calibrate`; in Stress-Predict the recording starts with the rest,
   so this equals the live running baseline started at the first window);
2. a light per-subject adaptation of the head's output, fitted on the calibration windows' labels
   (rest = non-stress, Stroop = stress) and never on a scored window:
   ``recal`` (the default): logistic recalibration of the head's stress logit, ``p' = sigmoid(a * logit(p) + b)``
   (2 parameters per subject, class-balanced, L2 C = 1); ``stack``: a class-balanced, strongly regularised
   logistic regression on the window's 43 baseline-normalised inputs plus the head's logit (C = 0.05).

The head itself comes from leave-one-subject-out folds (the default MLP with its fixed configuration),
so the test subject is never in its training data. The uncalibrated score is the same fold model on the
same scored windows. Start-cut check: each draw cuts a uniform random 0..min(max_cut_s, rest - min_rest_s)
seconds from the start of each test recording (at least ``min_rest_s`` of rest and the whole Stroop test
stay, so the scored windows are the same), and the calibrated score is recomputed with the later-starting
baseline; :func:`models.metrics.leak_check` gives the paired subject-bootstrap interval of cut - full.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.metrics import bootstrap_balanced_accuracy_ci95, leak_check, per_group_balanced_accuracy, scores

log = logging.getLogger(__name__)

#: adaptation methods, the default first (fixed before the evaluation was run)
METHODS: tuple[str, ...] = ("recal", "stack")
RECAL_C = 1.0
STACK_C = 0.05
WINDOW_S = 60.0


def first_task_bounds_s(t_s: NDArray[np.int64], y_phase: NDArray[np.int64], phase: int = 1) -> tuple[int, int]:
    """Start and end (unix s, end exclusive) of the labelled seconds of ``phase`` (1 = the first stress run)."""
    sel = t_s[y_phase == phase]
    if len(sel) == 0:
        msg = f"no seconds labelled phase {phase}"
        raise ValueError(msg)
    return int(sel.min()), int(sel.max()) + 1


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


def adapt(
    method: str,
    p_cal: NDArray[np.float64],
    x_cal: NDArray[np.float32],
    y_cal: NDArray[np.int64],
    p_new: NDArray[np.float64],
    x_new: NDArray[np.float32],
) -> NDArray[np.float64]:
    """Per-subject adaptation fitted on calibration windows; returns adapted stress probabilities of new windows.

    Parameters
    ----------
    method : {"recal", "stack"}
    p_cal, p_new : ndarray, shape (N,), (M,)
        The head's stress probability.
    x_cal, x_new : ndarray, shape (N, F), (M, F)
        The head's inputs (baseline-normalised features); used by ``stack`` only.
    y_cal : ndarray int, shape (N,)
        Calibration labels (0 rest, 1 task). With one class only the head's output is returned unchanged.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(np.unique(y_cal)) < 2:
        return p_new
    if method == "recal":
        lr = LogisticRegression(C=RECAL_C, class_weight="balanced", max_iter=1000)
        lr.fit(_logit(p_cal)[:, None], y_cal)
        return np.asarray(lr.predict_proba(_logit(p_new)[:, None])[:, 1], dtype=np.float64)
    if method == "stack":
        model = make_pipeline(StandardScaler(), LogisticRegression(C=STACK_C, class_weight="balanced", max_iter=2000))
        model.fit(np.c_[x_cal, _logit(p_cal)], y_cal)
        return np.asarray(model.predict_proba(np.c_[x_new, _logit(p_new)])[:, 1], dtype=np.float64)
    msg = f"unknown adaptation {method!r} (choose from {METHODS})"
    raise ValueError(msg)


def _split(a: Any, bounds_s: tuple[int, int]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(calibration mask, scored mask) of one subject's windows: ends by the task end / starts after it."""
    start = np.asarray(a.meta["start_ns"], dtype=np.int64)
    end_task_ns = bounds_s[1] * 1_000_000_000
    return start + int(WINDOW_S * 1e9) <= end_task_ns, start >= end_task_ns


def evaluate_calibrated(
    data_dir: Path,
    cache_dir: Path | None,
    subjects: list[int] | None = None,
    seed: int = 0,
    epochs: int | None = None,
    n_folds: int = 0,
    n_cut_draws: int = 5,
    max_cut_s: float = 900.0,
    min_rest_s: float = 120.0,
    progress: bool = True,
) -> dict[str, Any]:
    """LOSO of the default stress MLP with the calibration protocol of the module notes.

    Returns a JSON-able dict: ``uncalibrated`` and one entry per method of :data:`METHODS`, each with
    ``balanced_accuracy`` (+ ``_ci95``, subjects resampled), ``macro_f1``, ``auroc``, ``confusion``,
    ``per_subject_balanced_accuracy`` and ``start_cut`` (leak check), all on the same scored windows.
    """
    from models import defaults
    from models import stress as st
    from models.build import stress_arrays

    task = "stress_binary"
    spec, windows, labels = stress_arrays(data_dir, cache_dir, subjects, progress)
    data = {s: st.subject_arrays(windows[s], labels[s], spec) for s in windows}
    bounds = {s: first_task_bounds_s(labels[s][0], labels[s][2]) for s in windows}
    rng = np.random.default_rng(seed)
    rest_s = {s: bounds[s][0] - windows[s].start_ns[0] / 1e9 for s in windows}
    cut_max = {s: max(0.0, min(max_cut_s, rest_s[s] - min_rest_s)) for s in windows}
    cuts = [{s: float(rng.uniform(0.0, cut_max[s])) for s in sorted(windows)} for _ in range(n_cut_draws)]
    cut_draws = [{s: st.subject_arrays(windows[s], labels[s], spec, cut_s=c[s]) for s in windows} for c in cuts]
    cand = defaults.with_fit(defaults.STRESS_DEFAULT, seed=seed, epochs=epochs)
    res = st.loso([cand], data, task, spec, cut_draws, progress, n_folds)[cand.name]

    def per_subject(pooled: Mapping[str, Any], arrays: Mapping[int, Any]) -> dict[int, NDArray[np.float64]]:
        subj = np.asarray(pooled["subject"])
        out = {s: np.asarray(pooled["proba"])[subj == s, 1] for s in arrays}
        for s, p in out.items():
            assert len(p) == len(arrays[s].subject)  # loso keeps each subject's row order
        return out

    def run(arrays: Mapping[int, Any], p_head: Mapping[int, NDArray[np.float64]]) -> dict[str, tuple[Any, ...]]:
        """method -> (y, proba (N, 2), subject) over the scored windows of every subject."""
        acc: dict[str, list[Any]] = {m: [] for m in ("uncalibrated", *METHODS)}
        for s in sorted(arrays):
            a = arrays[s]
            cal, scored = _split(a, bounds[s])
            y = a.y[task]
            for m in acc:
                if m == "uncalibrated":
                    p = p_head[s][scored]
                else:
                    p = adapt(m, p_head[s][cal], a.x_feat[cal], y[cal], p_head[s][scored], a.x_feat[scored])
                acc[m].append((y[scored], np.c_[1 - p, p], np.full(int(scored.sum()), s, np.int64)))
        return {m: tuple(np.concatenate([r[i] for r in rows]) for i in range(3)) for m, rows in acc.items()}

    full = run(data, per_subject(res, data))
    cut_runs = [run(cd, per_subject(rc, cd)) for cd, rc in zip(cut_draws, res["cut"], strict=True)]
    out: dict[str, Any] = {
        "protocol": (
            "LOSO, default MLP per fold; calibration = the test subject's windows that end by the end of the "
            "first stress task (pre-task rest + Stroop), scored = windows that start after it (interview, "
            "hyperventilation, rests, questionnaire)"
        ),
        "folds": "leave-one-subject-out" if n_folds <= 0 else f"{n_folds} subject-grouped folds",
        "subjects": sorted(windows),
        "start_cut_rule": f"uniform 0..min({max_cut_s:.0f} s, rest - {min_rest_s:.0f} s) per test subject, "
        f"{n_cut_draws} draws; same scored windows",
        "start_cut_s": [{int(k): round(v, 1) for k, v in c.items()} for c in cuts],
        "default_method": METHODS[0],
    }
    for m, (y, p, g) in full.items():
        r = scores(y, p, 2)
        r["balanced_accuracy_ci95"] = bootstrap_balanced_accuracy_ci95(y, p, g)
        r["per_subject_balanced_accuracy"] = per_group_balanced_accuracy(y, p, g)
        lc = leak_check((y, p, g), [cr[m] for cr in cut_runs])
        r["start_cut"] = {"balanced_accuracy": lc["start_cut_balanced_accuracy"], "leak_check": lc}
        out[m] = r
    out["n_scored_windows"] = len(full["uncalibrated"][0])
    out["n_calibration_windows"] = int(sum(_split(data[s], bounds[s])[0].sum() for s in data))
    return out


def summary_lines(res: Mapping[str, Any]) -> Sequence[str]:
    """Readable lines of :func:`evaluate_calibrated`'s result."""
    n = f"{res['folds']}, {len(res['subjects'])} subjects, {res['n_scored_windows']} scored windows"
    lines = [res["protocol"], n]
    for m in ("uncalibrated", *METHODS):
        r = res[m]
        lo, hi = r["balanced_accuracy_ci95"]
        lc = r["start_cut"]["leak_check"]
        lines.append(
            f"- {m}{' (default)' if m == res['default_method'] else ''}: balanced accuracy "
            f"{r['balanced_accuracy']:.3f} (95% CI {lo:.3f}-{hi:.3f}), macro-F1 {r['macro_f1']:.3f}, AUROC "
            f"{r['auroc']:.3f}; start-cut {lc['start_cut_balanced_accuracy']:.3f} (cut - full {lc['delta']:+.3f}, "
            f"CI {lc['delta_ci95'][0]:+.3f} to {lc['delta_ci95'][1]:+.3f})"
        )
    return lines


def record_calibrated(res: Mapping[str, Any], card_path: Path, results_path: Path) -> dict[str, Any]:
    """Write the result into the card (``metrics.calibrated``) and ``accuracy.json`` (``stress_binary.calibrated_*``).

    Both files are re-read just before writing and only these keys change, so concurrent evaluate runs of
    other targets are kept. Returns the keys written to ``accuracy.json``.
    """
    import json

    from models.export import read_card, update_card

    m = res["default_method"]
    d, u = res[m], res["uncalibrated"]
    keys = {
        "calibrated_balanced_accuracy": d["balanced_accuracy"],
        "calibrated_balanced_accuracy_ci95": d["balanced_accuracy_ci95"],
        "calibrated_macro_f1": d["macro_f1"],
        "calibrated_auroc": d["auroc"],
        "calibrated_start_cut_balanced_accuracy": d["start_cut"]["balanced_accuracy"],
        "calibrated_start_cut_delta_ci95": d["start_cut"]["leak_check"]["delta_ci95"],
        "calibrated_same_windows_uncalibrated": u["balanced_accuracy"],
        "calibrated_same_windows_uncalibrated_ci95": u["balanced_accuracy_ci95"],
        "calibrated_method": m,
        "calibrated_n_scored_windows": res["n_scored_windows"],
        "calibrated_protocol": res["protocol"],
    }
    results_path.parent.mkdir(parents=True, exist_ok=True)
    acc: dict[str, Any] = json.loads(results_path.read_text()) if results_path.is_file() else {}
    acc["stress_binary"] = {**acc.get("stress_binary", {}), **keys}
    results_path.write_text(json.dumps(acc, indent=1, sort_keys=True) + "\n")
    if card_path.is_file():
        card = read_card(card_path)
        metrics = dict(card.get("metrics") or {})
        slim = {k: v for k, v in res.items() if k not in ("start_cut_s",)}
        metrics["calibrated"] = json.loads(json.dumps(slim, default=float))
        update_card(card_path, metrics=metrics)
    else:
        log.warning("no card %s to update", card_path)
    return keys
