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
