"""PNG plots and the HTML page of an ``emopipe score`` report (matplotlib, no display needed)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(report: Mapping[str, Any], path: Path) -> None:
    """Pooled confusion matrix, cells coloured by row share (recall), with counts."""
    plt = _plt()
    conf = np.asarray(report["pooled"]["confusion"], dtype=np.float64)
    classes = report["classes"]
    share = conf / np.maximum(conf.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.4 * len(classes) + 2.5, 1.2 * len(classes) + 1.8))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{int(conf[i, j])}\n{share[i, j]:.0%}", ha="center", va="center",
                    color="white" if share[i, j] > 0.6 else "black", fontsize=9)  # fmt: skip
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    ax.set_title(f"pooled confusion, balanced accuracy {report['pooled']['balanced_accuracy']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_per_subject(report: Mapping[str, Any], path: Path) -> None:
    """Balanced accuracy and macro-F1 per subject, with the pooled value and its interval."""
    plt = _plt()
    subs = [s for s, v in report["per_subject"].items() if "balanced_accuracy" in v]
    ba = [report["per_subject"][s]["balanced_accuracy"] for s in subs]
    f1 = [report["per_subject"][s]["macro_f1"] for s in subs]
    x = np.arange(len(subs))
    fig, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(subs) + 2.5), 3.5))
    ax.bar(x - 0.2, ba, 0.4, label="balanced accuracy")
    ax.bar(x + 0.2, f1, 0.4, label="macro-F1")
    p = report["pooled"]
    lo, hi = p["balanced_accuracy_ci95"]
    ax.axhline(p["balanced_accuracy"], color="k", lw=1, label=f"pooled BA {p['balanced_accuracy']:.3f}")
    if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
        ax.axhspan(lo, hi, color="k", alpha=0.1, label="95% CI (subjects resampled)")
    ax.axhline(1.0 / len(report["classes"]), color="r", ls=":", lw=1, label="chance")
    ax.set_xticks(x, subs, rotation=45 if len(subs) > 8 else 0)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("per-subject scores")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_timeline(report: Mapping[str, Any], subject: str, path: Path) -> None:
    """Class probabilities of one subject's windows over time, the labelled class shaded behind."""
    plt = _plt()
    w = report["windows"][subject]
    classes = report["classes"]
    end = np.asarray(w["end_ns"], dtype=np.int64)
    if len(end) == 0:
        return
    t_min = (end - end[0]) / 60e9
    proba = np.asarray(w["proba"], dtype=np.float64)
    y = np.asarray(w["y"], dtype=np.int64)
    fig, ax = plt.subplots(figsize=(9, 3))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for c in range(len(classes)):
        shade = y == c
        if shade.any():
            ax.fill_between(t_min, 0, 1, where=shade, step="mid", color=colours[c % len(colours)], alpha=0.15,
                            label=f"label: {classes[c]}")  # fmt: skip
    cols = [len(classes) - 1] if len(classes) == 2 else range(len(classes))
    for c in cols:
        ax.plot(t_min, proba[:, c], color=colours[c % len(colours)], lw=1.2, label=f"P({classes[c]})")
    ax.axhline(0.5 if len(classes) == 2 else 1.0 / len(classes), color="k", ls=":", lw=0.8)
    ax.set_ylim(0, 1)
    ax.set_xlabel("minutes since the first window end")
    ax.set_ylabel("probability")
    ax.set_title(f"{subject}: model output against the labels (unshaded = unlabelled)")
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_html(report: Mapping[str, Any], out_dir: Path, text_summary: str) -> Path:
    """Write the PNGs and ``report.html`` into ``out_dir``; returns the HTML path."""
    out_dir = Path(out_dir)
    plot_confusion(report, out_dir / "confusion.png")
    plot_per_subject(report, out_dir / "per_subject.png")
    timelines = []
    for sid in report["windows"]:
        name = f"timeline_{''.join(ch if ch.isalnum() or ch in '-_' else '_' for ch in sid)}.png"
        plot_timeline(report, sid, out_dir / name)
        timelines.append((sid, name))
    m = report.get("model", {})
    head = f"{m.get('name', '?')}@{m.get('version', '?')}"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>emopipe score: {html.escape(head)}</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}pre{background:#f4f4f4;padding:1em}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>emopipe score: {html.escape(head)}</h1>",
        f"<p>labels: {html.escape(str(report.get('labels', '')))}; card: {html.escape(str(m.get('card', '')))}</p>",
        f"<pre>{html.escape(text_summary)}</pre>",
        "<h2>Confusion</h2><img src='confusion.png' alt='confusion matrix'>",
        "<h2>Per subject</h2><img src='per_subject.png' alt='per-subject scores'>",
        "<h2>Timelines</h2>",
        *[f"<h3>{html.escape(s)}</h3><img src='{n}' alt='timeline {html.escape(s)}'>" for s, n in timelines],
        "</body></html>",
    ]
    path = out_dir / "report.html"
    path.write_text("\n".join(parts))
    return path
