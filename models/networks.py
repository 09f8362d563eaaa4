"""PyTorch classifiers: a causal dilated TCN and a GRU over raw multichannel windows,
and an MLP over window features.

Each module stores its hyper-parameters exactly as given (``get_params()``) and its
``forward`` delegates to the pure functions below, which take tensors and layers and
return tensors.  Every network returns **logits**, shape ``(batch, n_classes)``.

Input shapes
------------
- raw networks: ``(batch, channels, time)`` float32, already normalised; NaN means missing
  and is replaced by 0 (the subject's baseline level).
- MLP: ``(batch, n_features)`` float32.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "GRUClassifier",
    "LSTMSeqClassifier",
    "MLPClassifier",
    "TCNClassifier",
    "TCNSeqClassifier",
    "causal_conv",
    "gru_logits",
    "mlp_logits",
    "tcn_logits",
]


def causal_conv(x: Tensor, conv: nn.Module) -> Tensor:
    """Causal 1-D convolution (an :class:`nn.Conv1d`): left-pad by ``dilation * (kernel - 1)``.

    Output shape ``(B, C_out, T)``.
    """
    assert isinstance(conv, nn.Conv1d)
    pad = conv.dilation[0] * (conv.kernel_size[0] - 1)
    out: Tensor = conv(F.pad(x, (pad, 0)))
    return out


def tcn_logits(
    x: Tensor,
    convs: nn.ModuleList,
    skips: nn.ModuleList,
    head: nn.Linear,
    dropout: float,
    training: bool,
    pooling: str = "mean",
) -> Tensor:
    """Residual causal dilated blocks, pool over time (mean, or mean and sd), linear head.

    Parameters
    ----------
    x : Tensor, shape (B, C, T)
    convs : pairs of :class:`nn.Conv1d` per level, flattened ``[a0, b0, a1, b1, ...]``
    skips : 1x1 convolutions (or :class:`nn.Identity`) matching channels per level
    """
    h = torch.nan_to_num(x)
    for level, skip in enumerate(skips):
        a, b = convs[2 * level], convs[2 * level + 1]
        y = F.dropout(F.relu(causal_conv(h, a)), dropout, training)
        y = F.dropout(F.relu(causal_conv(y, b)), dropout, training)
        h = F.relu(y + skip(h))
    if pooling == "last":  # causal read-out: the output at the newest step
        pooled = h[:, :, -1]
    elif pooling == "meanstd":
        pooled = torch.cat([h.mean(dim=-1), h.std(dim=-1)], dim=-1)
    else:
        pooled = h.mean(dim=-1)
    out: Tensor = head(pooled)
    return out


def gru_logits(x: Tensor, gru: nn.GRU, head: nn.Linear) -> Tensor:
    """GRU over time (input ``(B, C, T)``), last hidden state of the top layer -> logits."""
    _, h_n = gru(torch.nan_to_num(x).transpose(1, 2))
    out: Tensor = head(h_n[-1])
    return out


def mlp_logits(x: Tensor, layers: nn.ModuleList, dropout: float, training: bool) -> Tensor:
    """ReLU MLP; the last layer is linear. ``x`` shape ``(B, F)``; NaN -> 0."""
    h = torch.nan_to_num(x)
    for layer in layers[:-1]:
        h = F.dropout(F.relu(layer(h)), dropout, training)
    out: Tensor = layers[-1](h)
    return out


class _Params:
    _params: dict[str, Any]

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, exactly as given."""
        return dict(self._params)


class TCNClassifier(nn.Module, _Params):
    """Temporal convolutional network: ``levels`` residual blocks with dilation ``2**level``.

    Receptive field = ``1 + 2 * (kernel_size - 1) * (2**levels - 1)`` samples.
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        hidden: int = 16,
        levels: int = 4,
        kernel_size: int = 3,
        dropout: float = 0.1,
        pooling: str = "mean",
    ) -> None:
        super().__init__()
        self._params = {
            "in_channels": in_channels,
            "n_classes": n_classes,
            "hidden": hidden,
            "levels": levels,
            "kernel_size": kernel_size,
            "dropout": dropout,
            "pooling": pooling,
        }
        if pooling not in ("mean", "meanstd", "last"):
            msg = f"pooling must be 'mean', 'meanstd' or 'last', got {pooling!r}"
            raise ValueError(msg)
        self.dropout = dropout
        self.pooling = pooling
        convs: list[nn.Module] = []
        skips: list[nn.Module] = []
        c_in = in_channels
        for level in range(levels):
            d = 2**level
            convs += [
                nn.Conv1d(c_in, hidden, kernel_size, dilation=d),
                nn.Conv1d(hidden, hidden, kernel_size, dilation=d),
            ]
            skips.append(nn.Conv1d(c_in, hidden, 1) if c_in != hidden else nn.Identity())
            c_in = hidden
        self.convs = nn.ModuleList(convs)
        self.skips = nn.ModuleList(skips)
        self.head = nn.Linear(hidden * (2 if pooling == "meanstd" else 1), n_classes)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, T)`` -> logits ``(B, n_classes)``."""
        return tcn_logits(x, self.convs, self.skips, self.head, self.dropout, self.training, self.pooling)


class GRUClassifier(nn.Module, _Params):
    """GRU over the time axis of a raw window; the last hidden state feeds a linear head."""

    def __init__(
        self, in_channels: int, n_classes: int, hidden: int = 32, layers: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self._params = {
            "in_channels": in_channels,
            "n_classes": n_classes,
            "hidden": hidden,
            "layers": layers,
            "dropout": dropout,
        }
        self.gru = nn.GRU(
            in_channels, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, T)`` -> logits ``(B, n_classes)``."""
        return gru_logits(x, self.gru, self.head)


class MLPClassifier(nn.Module, _Params):
    """Multi-layer perceptron over a feature vector."""

    def __init__(
        self, n_features: int, n_classes: int, hidden: tuple[int, ...] = (64, 32), dropout: float = 0.2
    ) -> None:
        super().__init__()
        self._params = {"n_features": n_features, "n_classes": n_classes, "hidden": hidden, "dropout": dropout}
        self.dropout = dropout
        sizes = [n_features, *hidden, n_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, F)`` -> logits ``(B, n_classes)``."""
        return mlp_logits(x, self.layers, self.dropout, self.training)


class AudioFusionNet(nn.Module, _Params):
    """Speech emotion from two views of the same LLD stream, fused late with equal weights.

    ``forward(x, f)`` takes the TCN input ``x`` ``(B, C, T)`` and the clip's speaker-normalised
    functionals ``f`` ``(B, F)`` (multinomial logistic regression, with its standardisation folded
    into the ``f_mean`` / ``f_scale`` buffers) and returns ``log(0.5 * (p_tcn + p_logreg))``, so a
    softmax on top gives the mean of the two probability vectors exactly.
    """

    f_mean: Tensor  # buffers (registered in __init__)
    f_scale: Tensor

    def __init__(self, n_functionals: int, n_classes: int, tcn: dict[str, Any]) -> None:
        super().__init__()
        self._params = {"n_functionals": n_functionals, "n_classes": n_classes, "tcn": dict(tcn)}
        self.tcn = TCNClassifier(**{**tcn, "n_classes": n_classes})
        self.linear = nn.Linear(n_functionals, n_classes)
        self.register_buffer("f_mean", torch.zeros(n_functionals))
        self.register_buffer("f_scale", torch.ones(n_functionals))

    def set_logreg(self, mean: Any, scale: Any, coef: Any, intercept: Any) -> None:
        """Copy a fitted ``StandardScaler`` + multinomial ``LogisticRegression`` into the functionals head."""
        with torch.no_grad():
            self.f_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.f_scale.copy_(torch.as_tensor(scale, dtype=torch.float32))
            self.linear.weight.copy_(torch.as_tensor(coef, dtype=torch.float32))
            self.linear.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))

    def forward(self, x: Tensor, f: Tensor) -> Tensor:
        """``(B, C, T)``, ``(B, F)`` -> log of the mean class probabilities ``(B, n_classes)``."""
        p_tcn = torch.softmax(self.tcn(x), dim=-1)
        p_lr = torch.softmax(self.linear((f - self.f_mean) / self.f_scale), dim=-1)
        return torch.log(0.5 * (p_tcn + p_lr))


class LSTMSeqClassifier(nn.Module, _Params):
    """LSTM over a subject's last K window feature vectors ``(B, K, F)``, oldest first.

    Causal: the output depends only on the K given windows (the newest last); the final hidden
    state of the top layer, after dropout, feeds a linear head.
    """

    def __init__(
        self, n_features: int, n_classes: int, hidden: int = 16, layers: int = 1, dropout: float = 0.3
    ) -> None:
        super().__init__()
        self._params = {
            "n_features": n_features,
            "n_classes": n_classes,
            "hidden": hidden,
            "layers": layers,
            "dropout": dropout,
        }
        self.dropout = dropout
        self.lstm = nn.LSTM(
            n_features, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, K, F)`` -> logits ``(B, n_classes)``."""
        _, (h_n, _) = self.lstm(torch.nan_to_num(x))
        out: Tensor = self.head(F.dropout(h_n[-1], self.dropout, self.training))
        return out


class TCNSeqClassifier(nn.Module, _Params):
    """Causal dilated TCN over a subject's last K window feature vectors ``(B, K, F)``, oldest first.

    The window vectors are the TCN's channels and the K windows its time axis; the read-out is the
    newest step (``pooling="last"``), so with a receptive field >= K it sees the whole context and
    never a later window.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden: int = 16,
        levels: int = 2,
        kernel_size: int = 3,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self._params = {
            "n_features": n_features,
            "n_classes": n_classes,
            "hidden": hidden,
            "levels": levels,
            "kernel_size": kernel_size,
            "dropout": dropout,
        }
        self.tcn = TCNClassifier(n_features, n_classes, hidden, levels, kernel_size, dropout, pooling="last")

    def forward(self, x: Tensor) -> Tensor:
        """``(B, K, F)`` -> logits ``(B, n_classes)``."""
        out: Tensor = self.tcn(x.transpose(1, 2))
        return out


NETWORKS: dict[str, type[nn.Module]] = {
    "lstm_seq": LSTMSeqClassifier,
    "tcn_seq": TCNSeqClassifier,
    "tcn": TCNClassifier,
    "gru": GRUClassifier,
    "mlp": MLPClassifier,
    "audio_fusion": AudioFusionNet,
}


def build_network(kind: str, params: dict[str, Any]) -> nn.Module:
    """Instantiate a network by kind (``tcn``, ``gru``, ``mlp``) from its stored params."""
    cls = NETWORKS[kind]
    p = dict(params)
    if "hidden" in p and isinstance(p["hidden"], list):
        p["hidden"] = tuple(p["hidden"])
    return cls(**p)
