"""Fusion of the heads' outputs into one reading per subject and hop (pure numpy).

Every head (a model card plus its module: physiology, speech, face, EEG) reads its own classes. To
combine heads that know different classes, each class is placed on Russell's circumplex of affect
(arousal, valence in [-1, 1]; :data:`AFFECT_COORDS`, overridable per card with ``"affect"``). A head's
reading on the circumplex is the probability-weighted mean of its classes' coordinates; the fused
reading is the weighted mean of the heads' readings, with head weights ``prior_h * quality_h``
normalised over the heads that contributed. A head of zero quality (its modalities missing or unusable)
falls away; when no head has any quality the fused event has ``confidence`` 0 and equal weights.

The fused discrete labels are the shared affect regions :data:`SHARED_LABELS`: each class of each head
votes its probability, weighted by the head's weight, for the region its coordinates fall in
(:func:`affect_region`). So a stress head and a speech-emotion head fuse into one distribution over
the same five labels, while each head's own probabilities stay available beside it.

Examples
--------
>>> import numpy as np
>>> stress = HeadOutput("stress", "1", ("non-stress", "stress"), np.array([0.2, 0.8]), 1.0, ("eda",))
>>> speech = HeadOutput("speech", "1", ("happy", "angry"), np.array([0.1, 0.9]), 0.5, ("audio_features",))
>>> f = fuse([stress, speech])
>>> f.label, round(f.weights["stress"], 3), round(f.weights["speech"], 3)
('high-arousal negative', 0.667, 0.333)
>>> fuse([stress, HeadOutput("face", "1", ("happy",), np.array([1.0]), 0.0, ())]).weights
{'stress': 1.0, 'face': 0.0}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from pipeline.exceptions import SignalError

FloatArray = NDArray[np.float64]

#: version of the fusion rule; fused events carry ``model_name="fusion"`` and this version
FUSION_VERSION = "2.0.0"

#: the shared discrete labels of fused events (regions of the circumplex)
SHARED_LABELS: tuple[str, ...] = (
    "neutral",
    "high-arousal positive",
    "high-arousal negative",
    "low-arousal negative",
    "low-arousal positive",
)
#: a reading closer than this to the origin (max norm) is "neutral"
NEUTRAL_RADIUS = 0.2

#: (arousal, valence) of every class the committed heads know. Emotion terms follow the placements of
#: Russell (1980, "A circumplex model of affect") and Posner, Russell & Peterson (2005), rounded to
#: 0.1; stress follows the stress/relaxation axis of the same model (stress: high arousal, negative
#: valence; non-stress: mildly low arousal, mildly positive). EEG classes are the synthetic model's.
AFFECT_COORDS: dict[str, tuple[float, float]] = {
    # physiology (Stress-Predict)
    "non-stress": (-0.3, 0.2),
    "stress": (0.7, -0.5),
    "stroop": (0.6, -0.4),
    "interview": (0.7, -0.5),
    "hyperventilation": (0.8, -0.3),
    # speech (RAVDESS) and face (EMFACS prototypes)
    "neutral": (0.0, 0.0),
    "calm": (-0.6, 0.4),
    "happy": (0.5, 0.8),
    "sad": (-0.5, -0.7),
    "angry": (0.8, -0.6),
    "fearful": (0.7, -0.7),
    "disgust": (0.3, -0.7),
    "surprised": (0.8, 0.3),
    # EEG (SYNTHETIC model)
    "relaxed": (-0.5, 0.3),
    "stressed": (0.7, -0.5),
    "drowsy": (-0.8, 0.0),
}


@dataclass(frozen=True)
class HeadOutput:
    """One head's reading of one window.

    Parameters
    ----------
    name, version : str
        The head's model card name and version.
    classes : tuple of str
        The head's own classes.
    proba : ndarray, shape (len(classes),)
        Its class probabilities (rows sum to 1).
    quality : float
        Quality of its input in 0..1 (presence and signal quality of its modalities).
    modalities : tuple of str
        The modalities it read.
    synthetic : bool
        Whether the head was trained on SYNTHETIC data (flagged in every event it touches).
    affect : mapping class -> (arousal, valence), optional
        Coordinates of its classes; defaults to :data:`AFFECT_COORDS`.
    """

    name: str
    version: str
    classes: tuple[str, ...]
    proba: FloatArray
    quality: float
    modalities: tuple[str, ...]
    synthetic: bool = False
    affect: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class FusedReading:
    """The fused result of one window: shared labels, circumplex point, head weights."""

    label: str
    probabilities: dict[str, float]
    arousal: float
    valence: float
    weights: dict[str, float]
    head_affect: dict[str, tuple[float, float]]
    confidence: float


def class_coords(classes: Sequence[str], affect: Mapping[str, tuple[float, float]] | None = None) -> FloatArray:
    """(arousal, valence) of each class, shape ``(len(classes), 2)``; SignalError for an unplaced class."""
    table = {**AFFECT_COORDS, **(affect or {})}
    missing = [c for c in classes if c not in table]
    if missing:
        msg = f"classes {missing} have no place on the circumplex: give them in the card's 'affect' mapping"
        raise SignalError(msg)
    return np.asarray([table[c] for c in classes], dtype=np.float64)


def affect_region(arousal: float, valence: float) -> str:
    """The shared label of a circumplex point (one of :data:`SHARED_LABELS`)."""
    if max(abs(arousal), abs(valence)) < NEUTRAL_RADIUS:
        return "neutral"
    level = "high-arousal" if arousal >= 0 else "low-arousal"
    return f"{level} {'positive' if valence >= 0 else 'negative'}"


def head_affect(out: HeadOutput) -> tuple[float, float]:
    """A head's reading on the circumplex: probability-weighted mean of its classes' coordinates."""
    p = _proba(out)
    a, v = p @ class_coords(out.classes, out.affect)
    return float(a), float(v)


def head_weights(outputs: Sequence[HeadOutput], prior: Mapping[str, float] | None = None) -> tuple[FloatArray, float]:
    """Normalised weights ``prior_h * quality_h`` (shape ``(H,)``) and the confidence in 0..1.

    The confidence is the usable share of the total prior weight. With no usable head the weights are
    equal and the confidence is 0.
    """
    pri = np.asarray([1.0 if prior is None else float(prior.get(o.name, 1.0)) for o in outputs])
    q = np.clip(np.nan_to_num(np.asarray([o.quality for o in outputs], dtype=np.float64)), 0.0, 1.0)
    w = pri * q
    total = float(w.sum())
    if total <= 0:
        return np.full(len(outputs), 1.0 / len(outputs)), 0.0
    return w / total, total / max(float(pri.sum()), 1e-12)


def fuse(outputs: Sequence[HeadOutput], prior: Mapping[str, float] | None = None) -> FusedReading:
    """Fuse the heads' readings of one window (see the module docstring)."""
    if not outputs:
        msg = "fuse needs at least one head output"
        raise SignalError(msg)
    weights, confidence = head_weights(outputs, prior)
    shared = dict.fromkeys(SHARED_LABELS, 0.0)
    arousal = valence = 0.0
    affects: dict[str, tuple[float, float]] = {}
    for out, w in zip(outputs, weights, strict=True):
        p = _proba(out)
        coords = class_coords(out.classes, out.affect)
        a, v = (float(x) for x in p @ coords)
        affects[out.name] = (a, v)
        arousal += float(w) * a
        valence += float(w) * v
        for pc, (ca, cv) in zip(p, coords, strict=True):
            shared[affect_region(float(ca), float(cv))] += float(w) * float(pc)
    label = max(shared, key=lambda k: shared[k])
    return FusedReading(
        label=label,
        probabilities=shared,
        arousal=float(np.clip(arousal, -1.0, 1.0)),
        valence=float(np.clip(valence, -1.0, 1.0)),
        weights={o.name: float(w) for o, w in zip(outputs, weights, strict=True)},
        head_affect=affects,
        confidence=confidence,
    )


def _proba(out: HeadOutput) -> FloatArray:
    p = np.nan_to_num(np.asarray(out.proba, dtype=np.float64).reshape(-1), nan=0.0)
    if p.shape != (len(out.classes),):
        msg = f"head {out.name}: {p.shape[0]} probabilities for {len(out.classes)} classes"
        raise SignalError(msg)
    s = p.sum()
    return p / s if s > 0 else np.full(len(out.classes), 1.0 / len(out.classes))


def late_fusion(
    probs: Mapping[str, FloatArray | None],
    quality: Mapping[str, FloatArray | float | None],
    prior: Mapping[str, float] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Quality- and presence-weighted average of per-head class probabilities over a batch.

    For heads that share one class set (e.g. the physiology heads of one task).

    Parameters
    ----------
    probs : head -> array (B, C) or None (head absent)
    quality : head -> array (B,) or scalar in 0..1, or None (absent)
    prior : head -> weight >= 0 (default 1 each)

    Returns
    -------
    fused : ndarray (B, C), rows sum to 1
    confidence : ndarray (B,), share of the total prior weight that was usable
    """
    present = {m: p for m, p in probs.items() if p is not None}
    if not present:
        msg = "late_fusion needs at least one head's probabilities"
        raise SignalError(msg)
    shapes = {np.shape(p) for p in present.values()}
    if len(shapes) != 1:
        msg = f"head probabilities disagree in shape: {sorted(shapes)}"
        raise SignalError(msg)
    b, c = next(iter(shapes))
    num = np.zeros((b, c))
    den = np.zeros(b)
    total_prior = 0.0
    for m in probs:
        w_prior = 1.0 if prior is None else float(prior.get(m, 1.0))
        total_prior += w_prior
        p, q = probs[m], quality.get(m)
        if p is None or q is None:
            continue
        qv = np.broadcast_to(np.asarray(q, dtype=np.float64), (b,))
        w = w_prior * np.clip(np.nan_to_num(qv, nan=0.0), 0.0, 1.0)
        num += w[:, None] * np.asarray(p, dtype=np.float64)
        den += w
    fused = np.where(den[:, None] > 0, num / np.where(den > 0, den, 1.0)[:, None], 1.0 / c)
    return fused, den / max(total_prior, 1e-12)
