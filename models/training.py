"""Seeded mini-batch training of the networks, with modality dropout.

Modality dropout: during training each sample's modality groups (feature columns or raw
channels) are independently replaced by 0 (= "at the subject's baseline / missing") with
probability ``modality_dropout``, so the network learns to cope with a missing sensor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from tqdm.auto import tqdm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitConfig:
    """Training hyper-parameters (fixed in advance; never tuned on a test subject)."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    modality_dropout: float = 0.15
    seed: int = 0


def seed_everything(seed: int) -> torch.Generator:
    """Seed numpy-free torch state for a reproducible run; returns a generator for batching."""
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def _class_weights(y: NDArray[np.int64], n_classes: int) -> torch.Tensor:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = counts.sum() / np.maximum(counts, 1.0) / n_classes
    return torch.tensor(w, dtype=torch.float32)


def _drop_groups(
    xb: torch.Tensor, groups: Sequence[Sequence[int]], p: float, g: torch.Generator, last_axis: bool = False
) -> torch.Tensor:
    """Zero each sample's groups with probability ``p``: columns of axis 1, or of the last axis
    (``last_axis``: window sequences ``(B, K, F)``, a modality dropped in every window of the sample)."""
    if p <= 0 or not groups:
        return xb
    xb = xb.clone()
    for cols in groups:
        mask = torch.rand(xb.shape[0], generator=g) < p
        idx = torch.as_tensor(list(cols))
        sel = xb[mask]
        if last_axis:
            sel[..., idx] = 0.0
        else:
            sel[:, idx] = 0.0
        xb[mask] = sel
    return xb


def fit(
    model: nn.Module,
    x: NDArray[np.float32],
    y: NDArray[np.int64],
    n_classes: int,
    cfg: FitConfig,
    groups: Sequence[Sequence[int]] = (),
    progress: bool = False,
    desc: str = "train",
    groups_last_axis: bool = False,
) -> nn.Module:
    """Train ``model`` in place with class-balanced cross-entropy (AdamW); returns it in eval mode.

    Parameters
    ----------
    x : ndarray float32, shape (N, F) or (N, C, T)
    y : ndarray int64, shape (N,)
    groups : column (or channel) index lists, one per modality, for modality dropout
    groups_last_axis : the groups index the last axis (window sequences ``(N, K, F)``), not axis 1
    """
    g = seed_everything(cfg.seed)
    for m in model.modules():  # re-initialise from the seed: the result depends on cfg.seed only
        reset = getattr(m, "reset_parameters", None)
        if m is not model and callable(reset):
            reset()
    xt = torch.nan_to_num(torch.as_tensor(x, dtype=torch.float32))
    yt = torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
    loss_fn = nn.CrossEntropyLoss(weight=_class_weights(y, n_classes))
    model.train()
    for _ in tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False):
        perm = torch.randperm(len(yt), generator=g)
        for i in range(0, len(perm), cfg.batch_size):
            b = perm[i : i + cfg.batch_size]
            xb = _drop_groups(xt[b], groups, cfg.modality_dropout, g, groups_last_axis)
            opt.zero_grad()
            loss = loss_fn(model(xb), yt[b])
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    return model


@torch.no_grad()
def predict_proba(model: nn.Module, x: NDArray[np.float32], batch_size: int = 1024) -> NDArray[np.float64]:
    """Softmax probabilities, shape ``(N, n_classes)``."""
    model.eval()
    out = []
    xt = torch.as_tensor(x, dtype=torch.float32)
    for i in range(0, len(xt), batch_size):
        out.append(torch.softmax(model(xt[i : i + batch_size]), dim=-1).numpy())
    return np.concatenate(out).astype(np.float64)
