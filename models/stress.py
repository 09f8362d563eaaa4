"""Stress models on Stress-Predict: input arrays, model zoo and leave-one-subject-out evaluation.

Every candidate is trained with fixed hyper-parameters (never tuned on a test subject).
Inputs are personal-baseline normalised window features (:mod:`models.preprocess`) or
normalised raw windows; neither carries time, window position or anything that counts them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models import stress_data as sd
from models.fusion import late_fusion, modality_groups
from models.preprocess import PreprocessSpec, preprocess_init, preprocess_step, raw_init, raw_normalise
from models.sequence import stack_context
from models.training import FitConfig, fit, predict_proba
from pipeline.baseline import BaselineConfig

log = logging.getLogger(__name__)

TASKS: dict[str, tuple[str, ...]] = {"stress_binary": sd.BINARY_CLASSES, "phase": sd.PHASE_CLASSES}
#: window hop of pipeline.stream.default_config for physiology (s)
HOP_S = 5.0
#: one personal baseline, half-life 120 windows = 10 min at HOP_S.  Until stop 7 the default used two
#: (10 min and 2 min): a pair of running means with different half-lives drifts apart as the session
#: goes on, so a flexible model can read elapsed time from their difference, and that model lost 5
#: points when the start of the test recordings was cut (the leak check); see models/README.md.
DEFAULT_BASELINES = (BaselineConfig(halflife_windows=120.0, min_windows=6),)
#: physiology heads: head name -> the E4 modalities whose features it reads (its quality is their minimum)
HEADS: dict[str, tuple[str, ...]] = {"eda": ("eda",), "bvp": ("bvp",), "tempacc": ("temp", "acc")}
RAW_BASELINE = BaselineConfig(halflife_windows=120.0, min_windows=6)


def default_spec() -> PreprocessSpec:
    """Feature names of the four E4 modalities from :mod:`pipeline.features` and the default baselines."""
    from pipeline.features import feature_names

    names: list[str] = []
    for m in sd.STRESS_MODALITIES:
        names += feature_names(m, channels=("x", "y", "z") if m == "acc" else ())
    return PreprocessSpec(tuple(names), DEFAULT_BASELINES)


@dataclass
class Arrays:
    """Labelled windows of one or more subjects (rows aligned)."""

    x_feat: NDArray[np.float32]
    x_raw: NDArray[np.float32]
    quality: NDArray[np.float64]
    y: dict[str, NDArray[np.int64]]
    subject: NDArray[np.int64]
    meta: dict[str, Any] = field(default_factory=dict)
    #: (N, K, F): each row's last K normalised vectors (models.sequence), or None without sequence models
    x_seq: NDArray[np.float32] | None = None

    def take(self, m: NDArray[np.bool_]) -> Arrays:
        """Rows where ``m`` is true."""
        return Arrays(
            self.x_feat[m],
            self.x_raw[m],
            self.quality[m],
            {k: v[m] for k, v in self.y.items()},
            self.subject[m],
            self.meta,
            None if self.x_seq is None else self.x_seq[m],
        )


def subject_arrays(
    sw: sd.SubjectWindows,
    labels: tuple[NDArray[np.int64], ...],
    spec: PreprocessSpec,
    cut_s: float = 0.0,
    context_windows: int = 0,
) -> Arrays:
    """Normalise one subject's windows in time order (after dropping the first ``cut_s`` seconds).

    The running baselines start at the first kept window, exactly as a live session would.
    ``context_windows = K > 0`` also fills ``x_seq`` (N, K, F): the sequence of every window over all
    kept windows, labelled or not, as :func:`models.sequence.sequence_step` builds it live.
    """
    keep = np.flatnonzero(sw.start_ns >= sw.start_ns[0] + int(cut_s * 1e9))
    states = preprocess_init(spec)
    rstate = raw_init(sd.RAW_CHANNELS, RAW_BASELINE)
    xf, xr = [], []
    for i in keep:
        states, v = preprocess_step(states, sw.features[i])
        rstate, r = raw_normalise(rstate, sw.raw[i].astype(np.float64))
        xf.append(v)
        xr.append(r)
    t_s, y_bin, y_phase = labels
    start, end = sw.start_ns[keep], sw.end_ns[keep]
    yb = sd.window_labels(start, end, t_s, y_bin)
    yp = sd.window_labels(start, end, t_s, y_phase)
    ok = yb >= 0
    x_seq = None
    if context_windows > 0:
        full = np.asarray(xf, np.float32).reshape(len(keep), len(spec.input_names))
        x_seq = stack_context(full, context_windows)[ok]
    return Arrays(
        np.asarray(xf, np.float32)[ok],
        np.asarray(xr, np.float32)[ok],
        sw.quality[keep][ok],
        {"stress_binary": yb[ok], "phase": yp[ok]},
        np.full(int(ok.sum()), sw.subject, np.int64),
        {"start_ns": start[ok], "recording_start_ns": int(sw.start_ns[0])},
        x_seq,
    )


def concat(parts: Sequence[Arrays]) -> Arrays:
    """Stack subjects."""
    return Arrays(
        np.concatenate([p.x_feat for p in parts]),
        np.concatenate([p.x_raw for p in parts]),
        np.concatenate([p.quality for p in parts]),
        {k: np.concatenate([p.y[k] for p in parts]) for k in parts[0].y},
        np.concatenate([p.subject for p in parts]),
        x_seq=None if any(p.x_seq is None for p in parts) else np.concatenate([p.x_seq for p in parts]),
    )


# ----------------------------------------------------------------------------- model zoo

Predictor = Callable[[Arrays], NDArray[np.float64]]


@dataclass(frozen=True)
class Candidate:
    """One model family with fixed hyper-parameters."""

    name: str
    kind: str  # logreg | gboost | mlp | late_mlp | late_heads | lstm_seq | tcn_seq | tcn | gru
    params: Mapping[str, Any] = field(default_factory=dict)
    fit_cfg: FitConfig = field(default_factory=FitConfig)
    raw_stride: int = 3  # raw networks train on every k-th window (5 s hop -> 15 s)
    time_pool: int = 1  # raw networks: average-pool the 4 Hz input by this factor first
    #: feature models: read only these modalities' features (a head); () = all
    modalities: tuple[str, ...] = ()
    #: lstm_seq / tcn_seq: K, the windows in one input (Arrays.x_seq holds at least K)
    context_windows: int = 0
    #: late_heads: weight each head by its window quality (False: equal weights, presence only)
    quality_weighted: bool = True
    #: lstm_seq / tcn_seq: train on every k-th window (neighbouring sequences share K - 1 of K windows)
    seq_stride: int = 1
    #: mlp: at prediction, a modality whose window quality is below this is treated as absent (its input
    #: block set to 0, what modality dropout trained the network for); 0 = never
    quality_gate: float = 0.0


def pool_time(x: NDArray[np.float32], k: int) -> NDArray[np.float32]:
    """Average-pool raw windows ``(B, C, T)`` over time by ``k`` (NaN-aware) -> ``(B, C, T // k)``."""
    if k <= 1:
        return x
    t = (x.shape[-1] // k) * k
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out: NDArray[np.float32] = np.nanmean(x[..., -t:].reshape(*x.shape[:-1], t // k, k), axis=-1).astype(np.float32)
    return out


def _feature_groups(spec: PreprocessSpec) -> dict[str, list[int]]:
    return modality_groups(spec.input_names)


def train_candidate(
    c: Candidate,
    tr: Arrays,
    task: str,
    spec: PreprocessSpec,
    progress: bool = False,
    memo: dict[Any, Any] | None = None,
) -> tuple[Predictor, Any]:
    """Fit ``c`` on ``tr``; return a predictor (Arrays -> proba) and the fitted object.

    ``memo`` (one dict per training set): head MLPs with the same columns, parameters and fit settings
    are trained once and shared by the head candidates and the late-fusion candidates (training is
    seeded, so a shared net is the one each would have trained).
    """
    n_cls = len(TASKS[task])
    y = tr.y[task]
    if c.kind in ("logreg", "gboost"):
        model = _sk_model(c, n_cls).fit(tr.x_feat, y)
        return (lambda a: model.predict_proba(a.x_feat).astype(np.float64)), model
    if c.kind == "mlp":
        cols = head_columns(spec, c.modalities)
        net = _fit_mlp(c, cols, tr, task, spec, progress, c.name, memo)
        if c.quality_gate <= 0:
            return (lambda a: predict_proba(net, a.x_feat[:, cols])), net
        mods = list(sd.STRESS_MODALITIES)
        blocks = {m: [cols.index(i) for i in g if i in cols] for m, g in _feature_groups(spec).items()}

        def gated(a: Arrays) -> NDArray[np.float64]:
            x = a.x_feat[:, cols].copy()
            for m, idx in blocks.items():
                if idx:
                    low = a.quality[:, mods.index(m)] < c.quality_gate
                    x[np.ix_(low, np.asarray(idx, dtype=np.int64))] = 0.0
            return predict_proba(net, x)

        return gated, net
    if c.kind == "late_mlp":
        return _train_late(c, tr, task, spec, progress)
    if c.kind == "late_heads":
        return _train_heads(c, tr, task, spec, progress, memo)
    if c.kind in ("lstm_seq", "tcn_seq"):
        return _train_seq(c, tr, task, spec, progress)
    from models.networks import GRUClassifier, TCNClassifier

    cls: type[TCNClassifier] | type[GRUClassifier] = TCNClassifier if c.kind == "tcn" else GRUClassifier
    raw_net = cls(tr.x_raw.shape[1], n_cls, **c.params)
    sl = slice(None, None, c.raw_stride)
    xr = pool_time(tr.x_raw[sl], c.time_pool)
    fit(raw_net, xr, y[sl], n_cls, c.fit_cfg, [[i] for i in range(xr.shape[1])], progress, c.name)
    return (lambda a: predict_proba(raw_net, pool_time(a.x_raw, c.time_pool))), raw_net


def _sk_model(c: Candidate, n_cls: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if c.kind == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000, **c.params))
    return HistGradientBoostingClassifier(class_weight="balanced", random_state=0, **c.params)


def _train_late(c: Candidate, tr: Arrays, task: str, spec: PreprocessSpec, progress: bool) -> tuple[Predictor, Any]:
    from models.networks import MLPClassifier

    n_cls = len(TASKS[task])
    groups = _feature_groups(spec)
    nets = {}
    for m, cols in groups.items():
        net = MLPClassifier(len(cols), n_cls, **c.params)
        fit(net, tr.x_feat[:, cols], tr.y[task], n_cls, c.fit_cfg, (), progress, f"{c.name}:{m}")
        nets[m] = net
    mods = list(sd.STRESS_MODALITIES)

    def predict(a: Arrays) -> NDArray[np.float64]:
        probs = {m: predict_proba(nets[m], a.x_feat[:, cols]) for m, cols in groups.items()}
        qual = {m: a.quality[:, mods.index(m)] for m in groups}
        return late_fusion(probs, qual)[0]

    return predict, nets


def head_columns(spec: PreprocessSpec, modalities: Sequence[str]) -> list[int]:
    """Input columns of the features of ``modalities`` (all columns when empty), in input order."""
    if not modalities:
        return list(range(len(spec.input_names)))
    groups = _feature_groups(spec)
    return sorted(i for m in modalities for i in groups[m])


def head_quality(quality: NDArray[np.float64], modalities: Sequence[str]) -> NDArray[np.float64]:
    """A head's per-window quality: the mean over its modalities' columns of ``quality`` (N, M), a missing
    modality counting 0 (NaN -> 0): the live rule, :func:`pipeline.heads.head_quality`."""
    mods = list(sd.STRESS_MODALITIES)
    cols = np.nan_to_num(quality[:, [mods.index(m) for m in modalities]], nan=0.0)
    q: NDArray[np.float64] = cols.mean(axis=1)
    return q


def _seq_input(a: Arrays, k: int) -> NDArray[np.float32]:
    if a.x_seq is None or a.x_seq.shape[1] < k:
        msg = f"sequence model needs Arrays.x_seq with >= {k} windows (subject_arrays(context_windows=...))"
        raise ValueError(msg)
    return a.x_seq[:, a.x_seq.shape[1] - k :]


def _fit_mlp(
    c: Candidate,
    cols: list[int],
    tr: Arrays,
    task: str,
    spec: PreprocessSpec,
    progress: bool,
    desc: str,
    memo: dict[Any, Any] | None,
) -> Any:
    """An MLP on columns ``cols`` of ``tr.x_feat`` (modality dropout over the modalities among them)."""
    from models.networks import MLPClassifier

    key = ("mlp", tuple(cols), repr(sorted(c.params.items())), c.fit_cfg, task)
    if memo is not None and key in memo:
        return memo[key]
    n_cls = len(TASKS[task])
    groups = [[cols.index(i) for i in g if i in cols] for g in _feature_groups(spec).values()]
    net = MLPClassifier(len(cols), n_cls, **c.params)
    fit(net, tr.x_feat[:, cols], tr.y[task], n_cls, c.fit_cfg, [g for g in groups if g], progress, desc)
    if memo is not None:
        memo[key] = net
    return net


def _train_seq(c: Candidate, tr: Arrays, task: str, spec: PreprocessSpec, progress: bool) -> tuple[Predictor, Any]:
    from models.networks import LSTMSeqClassifier, TCNSeqClassifier

    n_cls = len(TASKS[task])
    k = c.context_windows
    x = _seq_input(tr, k)
    cls: type[LSTMSeqClassifier] | type[TCNSeqClassifier] = (
        LSTMSeqClassifier if c.kind == "lstm_seq" else TCNSeqClassifier
    )
    net = cls(x.shape[2], n_cls, **c.params)
    groups = list(_feature_groups(spec).values())
    sl = slice(None, None, max(c.seq_stride, 1))
    fit(net, x[sl], tr.y[task][sl], n_cls, c.fit_cfg, groups, progress, c.name, groups_last_axis=True)
    return (lambda a: predict_proba(net, _seq_input(a, k))), net


def _train_heads(
    c: Candidate, tr: Arrays, task: str, spec: PreprocessSpec, progress: bool, memo: dict[Any, Any] | None = None
) -> tuple[Predictor, Any]:
    """One MLP per physiology head (:data:`HEADS`), fused by :func:`models.fusion.late_fusion`."""
    nets: dict[str, tuple[Any, list[int]]] = {}
    for h, mods in HEADS.items():
        cols = head_columns(spec, mods)
        nets[h] = (_fit_mlp(c, cols, tr, task, spec, progress, f"{c.name}:{h}", memo), cols)

    def predict(a: Arrays) -> NDArray[np.float64]:
        probs = {h: predict_proba(net, a.x_feat[:, cols]) for h, (net, cols) in nets.items()}
        if c.quality_weighted:
            qual = {h: head_quality(a.quality, HEADS[h]) for h in nets}
        else:  # presence only: a head counts fully when its modalities delivered a window
            qual = {h: (head_quality(a.quality, HEADS[h]) > 0).astype(np.float64) for h in nets}
        return late_fusion(probs, qual)[0]

    return predict, nets


def subject_folds(subjects: Sequence[int], n_folds: int = 0) -> list[list[int]]:
    """Test folds: one per subject (``n_folds <= 0``), else ``n_folds`` groups dealt round-robin in sorted order."""
    subs = sorted(subjects)
    return [[s] for s in subs] if n_folds <= 0 else [subs[i::n_folds] for i in range(n_folds)]


def loso(
    cands: Sequence[Candidate],
    data: Mapping[int, Arrays],
    task: str,
    spec: PreprocessSpec,
    cut_draws: Sequence[Mapping[int, Arrays]] = (),
    progress: bool = True,
    n_folds: int = 0,
) -> dict[str, dict[str, Any]]:
    """Leave-one-subject-out: pooled probabilities per candidate, also on every start-cut draw.

    ``cut_draws`` holds test versions of the recordings with a random start cut (one mapping per
    independent draw); each fold's model predicts them too, so the leak check needs no retraining.
    ``n_folds > 0`` uses that many subject-grouped folds instead (subjects dealt round-robin in
    sorted order), which is still subject-independent and ``len(data) / n_folds`` times cheaper.

    Returns name -> {"y", "proba", "subject", "cut": [{"y", "proba", "subject"} per draw], "train_s"}.
    """
    from tqdm.auto import tqdm

    def pooled() -> dict[str, Any]:
        return {"y": [], "proba": [], "subject": []}

    res: dict[str, dict[str, Any]] = {
        c.name: {**pooled(), "cut": [pooled() for _ in cut_draws], "train_s": 0.0} for c in cands
    }
    folds = subject_folds(list(data), n_folds)
    for test in tqdm(folds, desc=f"{'LOSO' if n_folds <= 0 else f'{n_folds}-fold'} {task}", disable=not progress):
        tr = concat([a for k, a in data.items() if k not in test])
        memo: dict[Any, Any] = {}
        for c in cands:
            t0 = time.perf_counter()
            pred, _ = train_candidate(c, tr, task, spec, memo=memo)
            r = res[c.name]
            r["train_s"] += time.perf_counter() - t0
            for s in test:
                for out, arrays in ((r, data), *zip(r["cut"], cut_draws, strict=True)):
                    out["y"].append(arrays[s].y[task])
                    out["proba"].append(pred(arrays[s]))
                    out["subject"].append(arrays[s].subject)

    def stack(d: dict[str, Any]) -> None:
        for k in ("y", "proba", "subject"):
            d[k] = np.concatenate(d[k]) if d[k] else np.zeros(0)

    for r in res.values():
        stack(r)
        for d in r["cut"]:
            stack(d)
    return res
