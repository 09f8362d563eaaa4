"""Classification metrics for subject-independent evaluation (pooled over test folds)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray


def scores(y: NDArray[np.int64], proba: NDArray[np.float64], n_classes: int) -> dict[str, Any]:
    """Balanced accuracy (= UAR), macro-F1, AUROC (binary, or one-vs-rest macro) and confusion matrix.

    Parameters
    ----------
    y : ndarray int, shape (N,)
    proba : ndarray float, shape (N, n_classes)
    """
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, roc_auc_score

    pred = np.argmax(proba, axis=1)
    labels = list(range(n_classes))
    out: dict[str, Any] = {
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(np.mean(pred == y)),
        "n": len(y),
        "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
    }
    try:
        if n_classes == 2:
            out["auroc"] = float(roc_auc_score(y, proba[:, 1]))
        else:
            p = proba / proba.sum(axis=1, keepdims=True)
            out["auroc"] = float(roc_auc_score(y, p, multi_class="ovr", average="macro", labels=labels))
    except ValueError:
        out["auroc"] = float("nan")
    return out


def per_group_balanced_accuracy(
    y: NDArray[np.int64], proba: NDArray[np.float64], groups: NDArray[np.int64]
) -> dict[int, float]:
    """Balanced accuracy of each group (subject / actor) separately."""
    from sklearn.metrics import balanced_accuracy_score

    pred = np.argmax(proba, axis=1)
    out = {}
    for g in np.unique(groups):
        m = groups == g
        out[int(g)] = (
            float(balanced_accuracy_score(y[m], pred[m]))
            if len(np.unique(y[m])) > 1
            else float(np.mean(pred[m] == y[m]))
        )
    return out


def format_table(
    rows: Mapping[str, Mapping[str, Any]], cols: Sequence[str] = ("balanced_accuracy", "macro_f1", "auroc")
) -> str:
    """Markdown table: one row per model."""
    head = "| model | " + " | ".join(cols) + " |"
    sep = "|---|" + "---|" * len(cols)
    lines = [head, sep]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{float(r.get(c, float('nan'))):.3f}" for c in cols) + " |")
    return "\n".join(lines)


def format_confusion(conf: Sequence[Sequence[int]], classes: Sequence[str]) -> str:
    """Confusion matrix as a markdown table (rows = truth, columns = prediction)."""
    lines = ["| truth \\ pred | " + " | ".join(classes) + " |", "|---|" + "---|" * len(classes)]
    for c, row in zip(classes, conf, strict=True):
        lines.append(f"| {c} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def group_confusions(
    y: NDArray[np.int64], pred: NDArray[np.int64], groups: NDArray[np.int64], n_classes: int, order: Sequence[int]
) -> NDArray[np.int64]:
    """Confusion matrix of each group in ``order``: shape ``(len(order), n_classes, n_classes)``, rows = truth.

    A group in ``order`` with no rows gets an all-zero matrix.
    """
    out = np.zeros((len(order), n_classes, n_classes), dtype=np.int64)
    index = {int(g): i for i, g in enumerate(order)}
    gi = np.array([index.get(int(g), -1) for g in groups], dtype=np.int64)
    ok = gi >= 0
    np.add.at(out, (gi[ok], y[ok], pred[ok]), 1)
    return out


def balanced_accuracy_of(conf: NDArray[np.int64]) -> NDArray[np.float64]:
    """Balanced accuracy of confusion matrices ``(..., C, C)`` (classes without truth rows are skipped)."""
    support = conf.sum(axis=-1)
    diag = np.diagonal(conf, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, diag / np.maximum(support, 1), np.nan)
        return np.asarray(np.nanmean(recall, axis=-1), dtype=np.float64)


def leak_check(
    full: tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]],
    cut_draws: Sequence[tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]],
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Start-cut leak check with its noise: is the cut score the same as the full score?

    Parameters
    ----------
    full : (y, proba, subject)
        Pooled test predictions on the full recordings; shapes (N,), (N, C), (N,).
    cut_draws : sequence of (y, proba, subject)
        The same folds' predictions on test recordings with a random start cut, one tuple per
        independent draw of the cut lengths.
    n_boot : int
        Subject-bootstrap resamples (subjects drawn with replacement, the same draw for the full
        and the cut scores, so the difference is paired).

    Returns
    -------
    dict
        ``balanced_accuracy`` (full), ``balanced_accuracy_ci95`` (its subject-bootstrap interval),
        ``start_cut_balanced_accuracy`` (mean over draws) and ``..._draws``, ``delta`` (cut - full),
        ``delta_ci95`` (paired bootstrap), ``holds``: true when ``delta_ci95`` contains 0 (strict: no
        detectable change at all), and ``within_score_noise``: true when ``|delta|`` is at most half
        the width of ``balanced_accuracy_ci95`` (the change is smaller than the score's own
        subject-sampling noise).  A model that reads the clock fails both.
    """
    y, proba, subj = full
    n_cls = proba.shape[1]
    order = [int(s) for s in np.unique(subj)]
    conf_full = group_confusions(y, np.argmax(proba, axis=1), subj, n_cls, order)
    conf_cut = np.stack(
        [group_confusions(yc, np.argmax(pc, axis=1), sc, n_cls, order) for yc, pc, sc in cut_draws]
    )  # (D, S, C, C)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(order), size=(n_boot, len(order)))
    ba_full_b = balanced_accuracy_of(conf_full[idx].sum(axis=1))  # (B,)
    ba_cut_b = balanced_accuracy_of(conf_cut[:, idx].sum(axis=2)).mean(axis=0)  # (B,)
    ba_full = float(balanced_accuracy_of(conf_full.sum(axis=0)))
    draws = [float(v) for v in balanced_accuracy_of(conf_cut.sum(axis=1))]
    delta_b = ba_cut_b - ba_full_b
    lo, hi = (float(v) for v in np.percentile(delta_b, [2.5, 97.5]))
    ba_lo, ba_hi = (float(v) for v in np.percentile(ba_full_b, [2.5, 97.5]))
    delta = float(np.mean(draws)) - ba_full
    return {
        "balanced_accuracy": ba_full,
        "balanced_accuracy_ci95": [ba_lo, ba_hi],
        "start_cut_balanced_accuracy": float(np.mean(draws)),
        "start_cut_balanced_accuracy_draws": draws,
        "delta": delta,
        "delta_ci95": [lo, hi],
        "holds": bool(lo <= 0.0 <= hi),
        "within_score_noise": bool(abs(delta) <= 0.5 * (ba_hi - ba_lo)),
        "n_boot": n_boot,
        "n_draws": len(draws),
    }


def bootstrap_balanced_accuracy_ci95(
    y: NDArray[np.int64], proba: NDArray[np.float64], groups: NDArray[np.int64], n_boot: int = 2000, seed: int = 0
) -> list[float]:
    """95% interval of the pooled balanced accuracy when the groups (subjects, actors) are resampled.

    Parameters
    ----------
    y : ndarray int, shape (N,)
    proba : ndarray float, shape (N, C)
    groups : ndarray int, shape (N,)
    """
    order = [int(g) for g in np.unique(groups)]
    conf = group_confusions(y, np.argmax(proba, axis=1), groups, proba.shape[1], order)
    idx = np.random.default_rng(seed).integers(0, len(order), size=(n_boot, len(order)))
    return [float(v) for v in np.percentile(balanced_accuracy_of(conf[idx].sum(axis=1)), [2.5, 97.5])]
