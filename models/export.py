"""Export trained networks to TorchScript with a model card JSON next to each.

The exported module maps a float32 batch to class **probabilities** (softmax applied):
``(B, F)`` for feature models, ``(B, C, T)`` for raw-window models.  The card is the
model's contract; see :func:`write_card` and the README of :mod:`models.registry`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
CARD_SCHEMA = "emopipe.model_card/1"


class ProbaModule(nn.Module):
    """Wraps a logits network; ``forward`` returns softmax probabilities."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        """Probabilities ``(B, n_classes)``."""
        return torch.softmax(self.net(x), dim=-1)


class ProbaModule2(nn.Module):
    """:class:`ProbaModule` for two-input networks (``forward(x, f)``)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor, f: Tensor) -> Tensor:
        """Probabilities ``(B, n_classes)``."""
        return torch.softmax(self.net(x, f), dim=-1)


def export_torchscript(net: nn.Module, example: Tensor | tuple[Tensor, Tensor], path: Path) -> Path:
    """Trace ``net`` (eval mode) with softmax on top and save it to ``path``; returns ``path``.

    ``example`` is one input batch, or a pair for two-input networks such as ``AudioFusionNet``.
    """
    net.eval()
    args = example if isinstance(example, tuple) else (example,)
    wrapped = (ProbaModule2(net) if len(args) == 2 else ProbaModule(net)).eval()
    with torch.no_grad():
        traced = torch.jit.trace(wrapped, args, check_trace=False)  # type: ignore[no-untyped-call]
    path.parent.mkdir(parents=True, exist_ok=True)
    traced.save(str(path))
    return path


def write_card(card: dict[str, Any], path: Path) -> Path:
    """Write a model card (adds ``schema``), keys sorted for stable diffs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = {"schema": CARD_SCHEMA, **card}
    path.write_text(json.dumps(out, indent=1, sort_keys=True, default=_json_default) + "\n")
    return path


def read_card(path: Path) -> dict[str, Any]:
    """Read a model card JSON."""
    card: dict[str, Any] = json.loads(Path(path).read_text())
    return card


def update_card(path: Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into an existing card (for example ``metrics``) and rewrite it."""
    card = read_card(path)
    card.update(fields)
    card.pop("schema", None)
    write_card(card, path)
    return card


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, tuple | set):
        return list(o)
    msg = f"not JSON serialisable: {type(o)}"
    raise TypeError(msg)
