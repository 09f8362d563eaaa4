"""Facial action units -> emotion with EMFACS prototype rules (pure, no training).

EMFACS (Friesen & Ekman 1983) lists prototypical action-unit (AU) combinations for the
basic emotions.  The table below uses the commonly cited prototypes (as in Ekman, Friesen &
Hager, FACS Investigator's Guide 2002), restricted to the AUs that OpenFace 2 estimates
as intensities (``AUxx_r``, 0..5):

========== ============================ =========================================
emotion    prototype AUs                meaning
========== ============================ =========================================
happy      6, 12                        cheek raiser, lip corner puller
sad        1, 4, 15                     inner brow raiser, brow lowerer, lip corner depressor
surprised  1, 2, 5, 26                  brow raisers, upper lid raiser, jaw drop
fearful    1, 2, 4, 5, 7, 20, 26        brows, lids, lip stretcher, jaw drop
angry      4, 5, 7, 23                  brow lowerer, lid raiser/tightener, lip tightener
disgust    9, 15, 16*                   nose wrinkler, lip corner depressor (*AU16 not in
                                        OpenFace: replaced by AU10 upper lip raiser)
========== ============================ =========================================

Score of emotion ``e`` for a frame/window with intensities ``a`` (0..5, scaled to 0..1):
the mean over its prototype AUs of ``min(a_k / 5, 1)``, i.e. how completely the prototype
is expressed, times ``(1 + 1e-3 * size_e / max_size) / (1 + 1e-3)`` so that a complete
larger prototype beats a complete subset of it (fear contains surprise).
``neutral`` scores ``1 - max_e score_e``.  Probabilities are a softmax of
``scores / temperature`` (default 0.1), a calibration-free mapping chosen a priori.

Examples
--------
>>> import numpy as np
>>> x = np.zeros((1, len(AU_ORDER))); x[0, AU_ORDER.index("AU06")] = 4; x[0, AU_ORDER.index("AU12")] = 5
>>> EMFACS_CLASSES[int(np.argmax(emfacs_proba(x)))]
'happy'
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from pipeline.exceptions import ContractError

__all__ = ["AU_ORDER", "EMFACS_CLASSES", "EMFACS_PROTOTYPES", "au_vector", "emfacs_proba", "emfacs_scores"]

#: OpenFace 2 AU intensity columns (without the ``_r`` suffix), the model's input order
AU_ORDER: tuple[str, ...] = (
    "AU01",
    "AU02",
    "AU04",
    "AU05",
    "AU06",
    "AU07",
    "AU09",
    "AU10",
    "AU12",
    "AU14",
    "AU15",
    "AU17",
    "AU20",
    "AU23",
    "AU25",
    "AU26",
    "AU45",
)
EMFACS_PROTOTYPES: dict[str, tuple[str, ...]] = {
    "happy": ("AU06", "AU12"),
    "sad": ("AU01", "AU04", "AU15"),
    "surprised": ("AU01", "AU02", "AU05", "AU26"),
    "fearful": ("AU01", "AU02", "AU04", "AU05", "AU07", "AU20", "AU26"),
    "angry": ("AU04", "AU05", "AU07", "AU23"),
    "disgust": ("AU09", "AU10", "AU15"),
}
EMFACS_CLASSES: tuple[str, ...] = ("neutral", *EMFACS_PROTOTYPES)
AU_MAX_INTENSITY = 5.0

_SPECIFICITY = 1e-3
_SIZES = np.array([len(v) for v in EMFACS_PROTOTYPES.values()], dtype=np.float64)
_SIZES = _SIZES / _SIZES.max()
_MATRIX = np.zeros((len(EMFACS_PROTOTYPES), len(AU_ORDER)))
for _i, _aus in enumerate(EMFACS_PROTOTYPES.values()):
    for _au in _aus:
        _MATRIX[_i, AU_ORDER.index(_au)] = 1.0 / len(_aus)


def au_vector(features: Mapping[str, float]) -> NDArray[np.float64]:
    """AU intensities in :data:`AU_ORDER` from a dict keyed ``AU01_r``/``AU01`` (missing -> 0)."""
    out = np.zeros(len(AU_ORDER))
    for i, au in enumerate(AU_ORDER):
        v = features.get(f"{au}_r", features.get(au, 0.0))
        out[i] = v if np.isfinite(v) else 0.0
    return out


def emfacs_scores(au: NDArray[np.floating]) -> NDArray[np.float64]:
    """Prototype completeness per class, shape ``(B, len(EMFACS_CLASSES))`` in 0..1.

    Parameters
    ----------
    au : ndarray, shape (B, len(AU_ORDER))
        AU intensities 0..5 (OpenFace ``AUxx_r``); NaN counts as 0.
    """
    a = np.asarray(au, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != len(AU_ORDER):
        msg = f"expected AU intensities of shape (B, {len(AU_ORDER)}), got {a.shape}"
        raise ContractError(msg)
    a = np.clip(np.nan_to_num(a, nan=0.0) / AU_MAX_INTENSITY, 0.0, 1.0)
    # specificity tie-break: a complete larger prototype (fear) beats a complete subset of it (surprise)
    emo = (a @ _MATRIX.T) * (1.0 + _SPECIFICITY * _SIZES) / (1.0 + _SPECIFICITY)
    neutral = 1.0 - emo.max(axis=1, keepdims=True)
    return np.hstack([neutral, emo])


def emfacs_proba(au: NDArray[np.floating], temperature: float = 0.1) -> NDArray[np.float64]:
    """Softmax of :func:`emfacs_scores` / ``temperature``; rows sum to 1, shape ``(B, 7)``."""
    s = emfacs_scores(au) / temperature
    s = s - s.max(axis=1, keepdims=True)
    e = np.exp(s)
    out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out
