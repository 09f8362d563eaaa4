"""Learned facial-AU emotion models for users with labelled face data (``--video-labels``).

The committed video model is the EMFACS rule table (:mod:`pipeline.emfacs`, no training): no
labelled face data ships with emopipe. With a labelled corpus processed by OpenFace, a user trains
and evaluates a learned model with the same CLI::

    emopipe train    --only video_learned --video-labels labels.csv --out my_models/
    emopipe evaluate --only video_learned --video-labels labels.csv --artifacts my_models/

``labels.csv`` has a header and one row per OpenFace CSV (one clip or segment with one label)::

    openface_csv,subject,label
    clips/s01_happy.csv,s01,happy
    clips/s01_sad.csv,s01,sad

Relative paths are resolved against the folder of ``labels.csv``. Each clip is cut into the live
path's windows (5 s, a new window every 5 s of the clip's ``timestamp``), and each window becomes
``pipeline.features.video.video_features`` (mean AU intensity and activation rate per AU), the
features the live ``video_features`` stream produces. An MLP with the training set's standardisation
folded into its first layer maps that vector to the labels; evaluation is leave-one-subject-out.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from models.exceptions import DataNotFoundError, ModelError
from models.networks import MLPClassifier

#: the live path's video window and hop (pipeline.stream.default_config for video_features)
WINDOW_S = 5.0
#: a window needs at least this many tracked frames to count
MIN_FRAMES = 3


@dataclass(frozen=True)
class LabelledClip:
    """One row of ``labels.csv``."""

    path: Path
    subject: str
    label: str


@dataclass(frozen=True)
class VideoSet:
    """Windows of every labelled clip.

    Attributes
    ----------
    x : ndarray float32, shape (W, F)
        ``video_features`` of each window, in ``feature_names`` order (NaN -> 0).
    y : ndarray int64, shape (W,)
        Index into ``classes``.
    subject : ndarray of str, shape (W,)
    feature_names, classes : tuple of str
    """

    x: NDArray[np.float32]
    y: NDArray[np.int64]
    subject: NDArray[np.str_]
    feature_names: tuple[str, ...]
    classes: tuple[str, ...]


def read_labels(path: Path) -> list[LabelledClip]:
    """Parse ``labels.csv`` (columns ``openface_csv,subject,label``); clear errors for bad rows."""
    path = Path(path)
    if not path.is_file():
        msg = f"video labels file {path} not found"
        raise DataNotFoundError(msg)
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    need = {"openface_csv", "subject", "label"}
    if not rows or not need <= set(rows[0]):
        msg = f"{path}: need a header with columns {sorted(need)} and at least one row"
        raise ModelError(msg)
    clips = []
    for i, r in enumerate(rows, start=2):
        if not all((r.get(k) or "").strip() for k in need):
            msg = f"{path}, line {i}: empty {sorted(k for k in need if not (r.get(k) or '').strip())}"
            raise ModelError(msg)
        p = Path(r["openface_csv"].strip())
        p = p if p.is_absolute() else path.parent / p
        if not p.is_file():
            msg = f"{path}, line {i}: OpenFace CSV {p} not found"
            raise DataNotFoundError(msg)
        clips.append(LabelledClip(p, r["subject"].strip(), r["label"].strip()))
    return clips


def clip_windows(
    timestamps_s: NDArray[np.float64], values: NDArray[np.float32], channels: tuple[str, ...]
) -> list[dict[str, float]]:
    """``video_features`` of consecutive :data:`WINDOW_S` windows of one clip (frames ``(n, channels)``)."""
    from pipeline.features.video import video_features

    if timestamps_s.size == 0:
        return []
    k = np.floor((timestamps_s - timestamps_s[0]) / WINDOW_S).astype(np.int64)
    out = []
    for w in np.unique(k):
        sel = k == w
        if sel.sum() >= MIN_FRAMES:
            out.append(video_features(np.ascontiguousarray(values[sel].T, dtype=np.float64), 0.0, channels))
    return out


def load_video_set(clips: Sequence[LabelledClip]) -> VideoSet:
    """Parse every clip's OpenFace CSV and window it; all clips must share the AU columns."""
    from pipeline.features.video import video_names
    from pipeline.sources.openface import parse_openface_csv

    classes = tuple(sorted({c.label for c in clips}))
    names: tuple[str, ...] | None = None
    xs: list[list[float]] = []
    ys: list[int] = []
    subs: list[str] = []
    for c in clips:
        table = parse_openface_csv(c.path.read_text())
        these = video_names(table.channels)
        if names is None:
            names = these
        elif these != names:
            msg = f"{c.path}: AU columns differ from the first clip's"
            raise ModelError(msg)
        for feats in clip_windows(table.timestamps_s, table.values, table.channels):
            xs.append([feats.get(n, float("nan")) for n in these])
            ys.append(classes.index(c.label))
            subs.append(c.subject)
    if names is None or not xs:
        msg = f"no window of >= {MIN_FRAMES} tracked frames in {len(clips)} clips"
        raise ModelError(msg)
    x = np.nan_to_num(np.asarray(xs, dtype=np.float32))
    return VideoSet(x, np.asarray(ys, np.int64), np.asarray(subs), names, classes)


def fit_video_mlp(x: NDArray[np.float32], y: NDArray[np.int64], n_classes: int, seed: int = 0) -> MLPClassifier:
    """MLP on standardised window features; the standardisation is folded into the first layer.

    Returns an ``MLPClassifier`` that takes the raw ``video_features`` vector ``(B, F)``.
    """
    from dataclasses import replace

    import torch

    from models import defaults
    from models.training import fit

    mean = x.mean(axis=0)
    sd = np.maximum(x.std(axis=0), 1e-6)
    net = MLPClassifier(x.shape[1], n_classes, **defaults.VIDEO_PARAMS)
    fit(net, ((x - mean) / sd).astype(np.float32), y, n_classes, replace(defaults.VIDEO_FIT, seed=seed))
    first = net.layers[0]
    assert isinstance(first, torch.nn.Linear)
    with torch.no_grad():
        w = first.weight / torch.from_numpy(sd).float()
        first.bias.sub_(w @ torch.from_numpy(mean).float())
        first.weight.copy_(w)
    return net


def loso_video(vs: VideoSet, seed: int = 0) -> NDArray[np.float64]:
    """Leave-one-subject-out probabilities ``(W, n_classes)`` of :func:`fit_video_mlp`."""
    from models.training import predict_proba

    subjects = np.unique(vs.subject)
    if len(subjects) < 2:
        msg = "leave-one-subject-out needs labelled clips of at least 2 subjects"
        raise ModelError(msg)
    proba = np.zeros((len(vs.y), len(vs.classes)))
    for s in subjects:
        te = vs.subject == s
        net = fit_video_mlp(vs.x[~te], vs.y[~te], len(vs.classes), seed)
        proba[te] = predict_proba(net, vs.x[te])
    return proba
