"""Multimodal input layout for training (pure numpy), robust to missing modalities.

Late fusion of heads lives in :mod:`pipeline.fusion` (the live path and evaluation share it):
``late_fusion`` is re-exported here. ``p = sum_m w_m q_m p_m / sum_m w_m q_m`` over the heads present,
with ``q_m`` the window quality in 0..1 (0 or NaN = absent) and ``w_m`` a prior weight (default 1);
with no usable head the result is uniform and the confidence 0.

Early fusion: every modality owns a fixed block of the input vector; a missing modality's
block is zero (= "at the subject's baseline" after personal normalisation), which is
what the early-fusion networks see during training under modality dropout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from models.exceptions import ModelError
from pipeline.fusion import late_fusion

__all__ = ["early_fusion_vector", "late_fusion", "modality_groups"]


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
