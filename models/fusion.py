"""Multimodal fusion (pure numpy): late fusion of per-modality probabilities and an
early-fusion input layout, both robust to missing modalities.

Late fusion: ``p = sum_m w_m q_m p_m / sum_m w_m q_m`` over the modalities present, with
``q_m`` the window quality in 0..1 (0 or NaN = absent) and ``w_m`` a prior weight per
modality (default 1).  With no usable modality the result is the uniform distribution
and the returned confidence (``sum_m w_m q_m / sum_m w_m``) is 0.

Early fusion: every modality owns a fixed block of the input vector; a missing modality's
block is zero (= "at the subject's baseline" after personal normalisation), which is
what the early-fusion networks see during training under modality dropout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from models.exceptions import ModelError

__all__ = ["early_fusion_vector", "late_fusion", "modality_groups"]


def late_fusion(
    probs: Mapping[str, NDArray[np.float64] | None],
    quality: Mapping[str, NDArray[np.float64] | float | None],
    prior: Mapping[str, float] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Quality- and presence-weighted average of per-modality class probabilities.

    Parameters
    ----------
    probs : modality -> array (B, C) or None (modality absent)
    quality : modality -> array (B,) or scalar in 0..1, or None (absent)
    prior : modality -> weight >= 0 (default 1 each)

    Returns
    -------
    fused : ndarray (B, C), rows sum to 1
    confidence : ndarray (B,), share of the total prior weight that was usable
    """
    present = {m: p for m, p in probs.items() if p is not None}
    if not present:
        msg = "late_fusion needs at least one modality's probabilities"
        raise ModelError(msg)
    shapes = {np.shape(p) for p in present.values()}
    if len(shapes) != 1:
        msg = f"modality probabilities disagree in shape: {sorted(shapes)}"
        raise ModelError(msg)
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


def modality_groups(input_names: Sequence[str]) -> dict[str, list[int]]:
    """Column indices per modality, from feature-name prefixes (``EDA_Mean@b0`` -> ``eda``)."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(input_names):
        groups.setdefault(name.split("_", 1)[0].lower(), []).append(i)
    return groups


def early_fusion_vector(
    blocks: Mapping[str, NDArray[np.float32] | None], layout: Mapping[str, int]
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Concatenate per-modality blocks in ``layout`` order (modality -> block width).

    Returns the vector (missing blocks zero) and a presence mask of shape (len(layout),).
    """
    parts: list[NDArray[np.float32]] = []
    mask = np.zeros(len(layout), dtype=bool)
    for i, (m, width) in enumerate(layout.items()):
        blk = blocks.get(m)
        if blk is None:
            parts.append(np.zeros(width, dtype=np.float32))
            continue
        arr = np.nan_to_num(np.asarray(blk, dtype=np.float32))
        if arr.shape != (width,):
            msg = f"block {m!r} has shape {arr.shape}, layout says ({width},)"
            raise ModelError(msg)
        parts.append(arr)
        mask[i] = True
    return np.concatenate(parts) if parts else np.zeros(0, np.float32), mask
