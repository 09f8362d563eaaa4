"""Score a trained model on labelled recordings without retraining (``emopipe score``).

The recordings go through the live path's functions (:func:`score_recordings`: the window and
subject steps of :mod:`pipeline.steps` and the same batched model call and event builder as the
classify stage), so a score here is what the worker would have produced. Labels come from

- a per-second label CSV (:func:`read_label_csv`), columns ``subject,t_s,label`` (one recording per
  subject id) or ``timestamp_unix_s,label`` (the same labels for every recording); ``t_s`` /
  ``timestamp_unix_s`` are unix seconds (UTC), each row labels the second starting there, ``label`` is
  a class name of the model (or, with ``label_map``, a name mapped to one) or a class index;
- E4 button presses (``tags_*.csv`` next to the recording; :func:`tag_timeline`): presses 1-2, 3-4, ...
  bracket segments of the model's last class (``stress``), everything else of the recording is the first;
- recorded markers (JSON lines of :mod:`pipeline.markers`; :func:`marker_timeline`): the condition at
  each second, mapped to a class with ``label_map``.

A window's label is the majority of its labelled seconds, when at least half of the window is labelled
(the rule of the training data, :func:`models.stress_data.window_labels`); other windows are not scored.
Metrics (:func:`score_report`): per subject and pooled balanced accuracy, macro-F1, AUROC and the
confusion matrix, with 95% intervals from resampling subjects (:mod:`models.metrics`).

Nothing here writes model cards or ``bench/results``.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.exceptions import LabelError, ModelError
from pipeline.contract import SensorChunk

log = logging.getLogger(__name__)

#: time columns accepted in a label CSV (unix seconds, UTC)
TIME_COLUMNS: tuple[str, ...] = ("t_s", "timestamp_unix_s")
#: subject id used for labels that apply to every recording (CSV without a subject column)
ANY_SUBJECT = "*"
#: model input rows per predict_proba call
BATCH = 512

LABEL_FORMAT_HELP = (
    "per-second label CSV with a header: 'subject,t_s,label' (t_s = unix seconds UTC, one row per "
    "labelled second; subject = the recording's subject id, e.g. the E4 folder name S02) or "
    "'timestamp_unix_s,label' (same labels for every recording); label = a class name of the model "
    "(e.g. non-stress / stress) or its index 0..C-1. Or 'tags': the E4 button presses in each "
    "recording's tags_*.csv, presses 1-2, 3-4, ... bracket the last class (use --tag-pairs 3 for "
    "Stress-Predict). Or a .jsonl file of markers (emopipe mark / export): the condition at each second, "
    "mapped to classes with --label-map"
)


@dataclass(frozen=True)
class Timeline:
    """Per-second labels of one subject: ``t_ns`` (int64, sorted, unix ns) and class index ``y`` (int64)."""

    t_ns: NDArray[np.int64]
    y: NDArray[np.int64]
    period_s: float = 1.0


@dataclass
class SubjectScores:
    """What the model said about one subject's windows (event order).

    Attributes
    ----------
    start_ns, end_ns : ndarray int64, shape (W,)
    proba : ndarray float64, shape (W, C)
    session_id : str
    """

    start_ns: NDArray[np.int64]
    end_ns: NDArray[np.int64]
    proba: NDArray[np.float64]
    session_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- model resolution


def resolve_model(spec: str, model_dir: Path) -> tuple[Any, Path]:
    """Load ``NAME[@VERSION]`` (a card name in ``model_dir`` or a default task) or a card path.

    Returns ``(LoadedModel, card_path)``; :class:`ModelError` with what exists when nothing matches.
    """
    from models.registry import DEFAULTS, load

    name, _, version = spec.partition("@")
    path = Path(name)
    candidates = [path] if path.suffix == ".json" else []
    candidates += [model_dir / f"{name}.json"]
    if name in DEFAULTS:
        candidates.append(model_dir / DEFAULTS[name])
    card_path = next((p for p in candidates if p.is_file()), None)
    if card_path is None:
        known = sorted(p.stem for p in Path(model_dir).glob("*.json")) if Path(model_dir).is_dir() else []
        msg = f"no model {name!r}: no card {' or '.join(str(p) for p in candidates)}; models in {model_dir}: {known}"
        raise ModelError(msg)
    model = load(card_path)
    if version and str(model.card.get("version")) != version:
        msg = f"{card_path} is {model.card.get('name')}@{model.card.get('version')}, not version {version}"
        raise ModelError(msg)
    return model, card_path


# ----------------------------------------------------------------------------- the live path, offline


def score_recordings(
    model: Any,
    recordings: Iterable[Iterable[SensorChunk]],
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[str, SubjectScores]:
    """Run recordings through the live path's steps and return the model's output per subject.

    The one place where ``emopipe score`` calls the pipeline: :func:`pipeline.steps.window_step` per stream,
    :func:`pipeline.steps.subject_step` per subject (assembly, personal baseline, model input) and the
    classify stage's batched ``predict_proba`` per head + :func:`pipeline.heads.head_results`, exactly as
    :func:`agents.offline.offline_events` composes them for one head (without importing Faust, which costs
    seconds). Training and the calibration study window recordings through
    :func:`models.stress_data.build_subject_windows` (``pipeline.stream.stream_offline``, the same
    windowing) and normalise them with :func:`models.stress.subject_arrays`, as ``emopipe train`` does.

    Parameters
    ----------
    model : LoadedModel
    recordings : iterable of chunk iterables
        Each is one recording's chunks in event-time order (any subjects; usually one).
    progress : callable, optional
        Called with the number of chunks consumed since the last call.
    """
    from models.heads import head_from_model
    from pipeline.heads import HeadResult, Pending, head_results
    from pipeline.plan import stream_plan
    from pipeline.steps import DEFAULT_GRACE_S, DEFAULT_STALE_S, subject_step, window_records, window_step

    head = head_from_model(model)
    plan = stream_plan([head.spec])
    out: dict[str, SubjectScores] = {}
    for chunks in recordings:
        streams: dict[str, Any] = {}
        subjects: dict[str, Any] = {}
        pending: list[Pending] = []
        n = 0
        for c in chunks:
            streams[c.stream_key], windows = window_step(streams.get(c.stream_key), c, plan)
            for rec in window_records(c, windows, ingest_ns=0, plan=plan):
                subjects[c.subject_id], ready = subject_step(
                    [head], subjects.get(c.subject_id), rec, grace_s=DEFAULT_GRACE_S, stale_s=DEFAULT_STALE_S, now_ns=0
                )
                pending.extend(ready)
            n += 1
            if progress is not None and n % 256 == 0:
                progress(256)
        if progress is not None:
            progress(n % 256)
        results: list[HeadResult] = []
        for i in range(0, len(pending), BATCH):
            part = pending[i : i + BATCH]
            results += head_results(head, part, head.predict_proba([p.x for p in part]), inference_done_ns=0)
        events = results
        by_subject: dict[str, list[Any]] = {}
        for ev in events:
            by_subject.setdefault(ev.subject_id, []).append(ev)
        for sid, evs in by_subject.items():
            if sid in out:
                msg = f"subject {sid!r} appears in two recordings; give each recording its own subject id"
                raise LabelError(msg)
            out[sid] = SubjectScores(
                np.array([e.start_ns for e in evs], np.int64),
                np.array([e.end_ns for e in evs], np.int64),
                np.array([e.proba for e in evs], np.float64),
                evs[0].session_id,
            )
    return out


# ----------------------------------------------------------------------------- labels


def parse_label_map(text: str | None) -> dict[str, str]:
    """``"rest=non-stress,stroop=stress"`` -> dict; :class:`LabelError` for a malformed entry."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            msg = f"--label-map entry {part!r} is not NAME=CLASS"
            raise LabelError(msg)
        out[key.strip()] = value.strip()
    return out


def class_index(value: str, classes: Sequence[str], label_map: Mapping[str, str], where: str) -> int:
    """Index of a label value (class name, mapped name or index) in ``classes``; LabelError otherwise."""
    v = label_map.get(value.strip(), value.strip())
    if v in classes:
        return list(classes).index(v)
    if v.lstrip("-").isdigit() and 0 <= int(v) < len(classes):
        return int(v)
    msg = (
        f"{where}: label {value!r} is not a class of the model {list(classes)} (nor an index 0..{len(classes) - 1}); "
        "map your names with --label-map NAME=CLASS,..."
    )
    raise LabelError(msg)


def read_label_csv(
    path: Path, classes: Sequence[str], label_map: Mapping[str, str] | None = None
) -> dict[str, Timeline]:
    """Per-second labels from a CSV (see the module notes); subject id -> :class:`Timeline`.

    Raises
    ------
    LabelError
        Missing file, no header with a time column and ``label``, unparsable time, unknown label.
    """
    label_map = label_map or {}
    path = Path(path)
    if not path.is_file():
        msg = f"label file {path} not found"
        raise LabelError(msg)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        tcol = next((c for c in TIME_COLUMNS if c in cols), None)
        if tcol is None or "label" not in cols:
            msg = (
                f"{path}: header {cols} lacks a time column ({' or '.join(TIME_COLUMNS)}) and 'label'; "
                f"expected e.g. 'subject,t_s,label' or 'timestamp_unix_s,label'"
            )
            raise LabelError(msg)
        rows: dict[str, list[tuple[int, int]]] = {}
        for i, raw in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            where = f"{path}:{i}"
            try:
                t_ns = round(float(row[tcol]) * 1e9)
            except ValueError:
                msg = f"{where}: {tcol} {row[tcol]!r} is not a number (unix seconds)"
                raise LabelError(msg) from None
            subject = row.get("subject", ANY_SUBJECT) or ANY_SUBJECT
            rows.setdefault(subject, []).append((t_ns, class_index(row["label"], classes, label_map, where)))
    if not rows:
        msg = f"{path}: no label rows"
        raise LabelError(msg)
    out = {}
    for subject, pairs in rows.items():
        pairs.sort()
        t = np.array([p[0] for p in pairs], np.int64)
        period = float(np.median(np.diff(t)) / 1e9) if len(t) > 1 else 1.0
        out[subject] = Timeline(t, np.array([p[1] for p in pairs], np.int64), period_s=max(period, 1e-3))
    return out


def segment_timeline(
    segments: Sequence[tuple[int, int | None, int]], span_ns: tuple[int, int], default: int | None
) -> Timeline:
    """Per-second labels over ``span_ns`` from ``(start_ns, end_ns or None, class)`` segments.

    Seconds in no segment get ``default`` (None: unlabelled). Later segments win where they overlap.
    """
    t = np.arange(span_ns[0], span_ns[1], 1_000_000_000, dtype=np.int64)
    y = np.full(len(t), -1 if default is None else default, np.int64)
    for a, b, cls in segments:
        y[(t >= a) & (t < (span_ns[1] if b is None else b))] = cls
    keep = y >= 0
    return Timeline(t[keep], y[keep])


def tag_timeline(tags_ns: Sequence[int], span_ns: tuple[int, int], n_classes: int, max_pairs: int = 0) -> Timeline:
    """E4 button presses -> labels: inside press pairs the last class, elsewhere in the span the first."""
    from pipeline.markers import condition_segments, tag_markers

    segs = condition_segments(tag_markers(tags_ns, subject_id="-", session_id="-", mode="pairs", max_pairs=max_pairs))
    return segment_timeline([(a, b, n_classes - 1) for _, a, b in segs], span_ns, default=0)


def read_markers_jsonl(path: Path) -> list[Any]:
    """Markers from a JSON-lines file (one :mod:`pipeline.markers` object per line); LabelError if malformed."""
    from pipeline.exceptions import ContractError
    from pipeline.markers import decode_marker

    if not Path(path).is_file():
        msg = f"marker file {path} not found"
        raise LabelError(msg)
    out = []
    for i, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if line.strip():
            try:
                out.append(decode_marker(line))
            except ContractError as exc:
                msg = f"{path}:{i}: {exc}"
                raise LabelError(msg) from None
    return out


def marker_timeline(
    markers: Sequence[Any],
    span_ns: tuple[int, int],
    classes: Sequence[str],
    label_map: Mapping[str, str],
    unmarked: str | None = None,
) -> Timeline:
    """Per-second labels from one subject's markers: the condition at each second, mapped to a class."""
    from pipeline.markers import conditions_of

    t = np.arange(span_ns[0], span_ns[1], 1_000_000_000, dtype=np.int64)
    conds = conditions_of(list(markers), t.tolist())
    cache: dict[str | None, int] = {}
    y = np.full(len(t), -1, np.int64)
    for i, c in enumerate(conds):
        key = c if c is not None else unmarked
        if key is None:
            continue
        if key not in cache:
            cache[key] = class_index(key, classes, label_map, "markers")
        y[i] = cache[key]
    keep = y >= 0
    return Timeline(t[keep], y[keep])


def window_labels(
    start_ns: NDArray[np.int64], end_ns: NDArray[np.int64], tl: Timeline, n_classes: int
) -> NDArray[np.int64]:
    """Majority label of the labelled seconds in each window ``[start, end)``; -1 where under half is labelled."""
    lo = np.searchsorted(tl.t_ns, start_ns, side="left")
    hi = np.searchsorted(tl.t_ns, end_ns, side="left")
    onehot = np.eye(n_classes, dtype=np.int64)[tl.y] if len(tl.y) else np.zeros((0, n_classes), np.int64)
    csum = np.vstack([np.zeros((1, n_classes), np.int64), np.cumsum(onehot, axis=0)])
    out = np.full(len(start_ns), -1, dtype=np.int64)
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        if (b - a) * tl.period_s >= 0.5 * (end_ns[i] - start_ns[i]) / 1e9 and b > a:
            out[i] = int(np.argmax(csum[b] - csum[a]))
    return out


# ----------------------------------------------------------------------------- metrics


def _bootstrap(
    fn: Callable[[NDArray[np.int64], NDArray[np.float64]], float],
    y: NDArray[np.int64],
    proba: NDArray[np.float64],
    groups: NDArray[np.int64],
    n_boot: int,
    seed: int,
) -> list[float]:
    order = np.unique(groups)
    idx = {int(g): np.flatnonzero(groups == g) for g in order}
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        rows = np.concatenate([idx[int(g)] for g in rng.choice(order, size=len(order))])
        v = fn(y[rows], proba[rows])
        if np.isfinite(v):
            vals.append(v)
    if not vals:
        return [float("nan"), float("nan")]
    return [float(v) for v in np.percentile(vals, [2.5, 97.5])]


def score_report(
    scored: Mapping[str, SubjectScores],
    timelines: Mapping[str, Timeline],
    classes: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Per-subject and pooled metrics of scored windows against their labels.

    Returns a JSON-able dict: ``pooled`` (balanced_accuracy, macro_f1, auroc, accuracy, confusion, n, and
    ``*_ci95`` from resampling subjects), ``per_subject`` (the same without intervals, plus window
    counts), ``windows`` (per subject: end_ns, start_ns, proba, y with -1 = unlabelled).
    """
    from sklearn.metrics import f1_score, roc_auc_score

    from models.metrics import bootstrap_balanced_accuracy_ci95, scores

    n_cls = len(classes)
    ys, ps, gs = [], [], []
    per: dict[str, Any] = {}
    windows: dict[str, Any] = {}
    for g, (sid, sc) in enumerate(sorted(scored.items())):
        tl = timelines.get(sid)
        y = window_labels(sc.start_ns, sc.end_ns, tl, n_cls) if tl is not None else np.full(len(sc.end_ns), -1)
        windows[sid] = {
            "start_ns": sc.start_ns.tolist(),
            "end_ns": sc.end_ns.tolist(),
            "proba": np.round(sc.proba, 5).tolist(),
            "y": y.tolist(),
        }
        ok = y >= 0
        per[sid] = {"n_windows": len(y), "n_labelled": int(ok.sum())}
        if not ok.any():
            continue
        s = scores(y[ok], sc.proba[ok], n_cls)
        if len(np.unique(y[ok])) < 2:
            s["balanced_accuracy"] = s["accuracy"]  # one class present: recall of that class
            s["note"] = "one class only: balanced accuracy = accuracy, AUROC undefined"
        per[sid].update(s)
        ys.append(y[ok])
        ps.append(sc.proba[ok])
        gs.append(np.full(int(ok.sum()), g, np.int64))
    if not ys:
        msg = (
            f"no window of {sorted(scored)} has a label: the label times do not overlap the recordings "
            f"(label subjects {sorted(timelines)}); check the subject ids and that times are unix seconds"
        )
        raise LabelError(msg)
    y_all, p_all, g_all = np.concatenate(ys), np.concatenate(ps), np.concatenate(gs)
    pooled = scores(y_all, p_all, n_cls)
    pooled["n_subjects"] = len(ys)
    pooled["balanced_accuracy_ci95"] = bootstrap_balanced_accuracy_ci95(y_all, p_all, g_all, n_boot, seed)

    def macro_f1(y: NDArray[np.int64], p: NDArray[np.float64]) -> float:
        return float(f1_score(y, np.argmax(p, 1), labels=list(range(n_cls)), average="macro", zero_division=0))

    def auroc(y: NDArray[np.int64], p: NDArray[np.float64]) -> float:
        if len(np.unique(y)) < 2:
            return float("nan")
        if n_cls == 2:
            return float(roc_auc_score(y, p[:, 1]))
        try:
            q = p / p.sum(axis=1, keepdims=True)
            return float(roc_auc_score(y, q, multi_class="ovr", average="macro", labels=list(range(n_cls))))
        except ValueError:
            return float("nan")

    pooled["macro_f1_ci95"] = _bootstrap(macro_f1, y_all, p_all, g_all, n_boot, seed)
    pooled["auroc_ci95"] = _bootstrap(auroc, y_all, p_all, g_all, n_boot, seed)
    pooled["ci_note"] = f"95% intervals from {n_boot} resamples of the {len(ys)} subjects" + (
        "; with one subject they are only the point value" if len(ys) == 1 else ""
    )
    return {"classes": list(classes), "pooled": pooled, "per_subject": per, "windows": windows}


def format_report(report: Mapping[str, Any]) -> str:
    """Plain-text summary: per-subject table, pooled line with intervals, pooled confusion."""
    from models.metrics import format_confusion

    lines = ["| subject | windows | labelled | balanced acc. | macro-F1 | AUROC |", "|---|---|---|---|---|---|"]
    for sid, s in report["per_subject"].items():
        if "balanced_accuracy" in s:
            lines.append(
                f"| {sid} | {s['n_windows']} | {s['n_labelled']} | {s['balanced_accuracy']:.3f} | "
                f"{s['macro_f1']:.3f} | {s['auroc']:.3f} |"
            )
        else:
            lines.append(f"| {sid} | {s['n_windows']} | 0 | - | - | - |")
    p = report["pooled"]
    ci = {k: p[f"{k}_ci95"] for k in ("balanced_accuracy", "macro_f1", "auroc")}
    lines += [
        "",
        f"pooled over {p['n_subjects']} subject(s), {p['n']} windows: "
        f"balanced accuracy {p['balanced_accuracy']:.3f} (95% CI {ci['balanced_accuracy'][0]:.3f}-"
        f"{ci['balanced_accuracy'][1]:.3f}), macro-F1 {p['macro_f1']:.3f} ({ci['macro_f1'][0]:.3f}-"
        f"{ci['macro_f1'][1]:.3f}), AUROC {p['auroc']:.3f} ({ci['auroc'][0]:.3f}-{ci['auroc'][1]:.3f})",
        p["ci_note"],
        "",
        "confusion (pooled, rows = truth):",
        format_confusion(p["confusion"], report["classes"]),
    ]
    return "\n".join(lines)


def write_json(report: Mapping[str, Any], path: Path) -> None:
    """Write the report as JSON (NaN as null)."""

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not np.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    Path(path).write_text(json.dumps(clean(dict(report)), indent=1) + "\n")
