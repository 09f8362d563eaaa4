"""Network shapes, causality of the TCN, stored hyper-parameters, training determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.networks import GRUClassifier, MLPClassifier, TCNClassifier, build_network
from models.training import FitConfig, fit, predict_proba

torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("net", "x"),
    [
        (TCNClassifier(4, 3, hidden=8, levels=3), torch.randn(5, 4, 50)),
        (TCNClassifier(4, 3, hidden=8, levels=2, pooling="meanstd"), torch.randn(5, 4, 50)),
        (GRUClassifier(4, 3, hidden=8), torch.randn(5, 4, 50)),
        (MLPClassifier(10, 3, hidden=(8,)), torch.randn(5, 10)),
    ],
)
def test_logit_shapes_and_nan_inputs(net, x):
    net.eval()
    assert net(x).shape == (5, 3)
    x = x.clone()
    x[0].view(-1)[0] = float("nan")
    assert torch.isfinite(net(x)).all()


def test_params_stored_as_given_and_rebuild():
    net = TCNClassifier(4, 2, hidden=12, levels=2, kernel_size=5, dropout=0.0)
    p = net.get_params()
    assert p == {
        "in_channels": 4,
        "n_classes": 2,
        "hidden": 12,
        "levels": 2,
        "kernel_size": 5,
        "dropout": 0.0,
        "pooling": "mean",
    }
    assert build_network("tcn", p).get_params() == p
    assert build_network("mlp", {"n_features": 3, "n_classes": 2, "hidden": [4, 4]}).get_params()["hidden"] == (4, 4)


def test_tcn_convolutions_are_causal():
    torch.manual_seed(0)
    net = TCNClassifier(2, 2, hidden=4, levels=3).eval()
    x = torch.randn(1, 2, 40)
    y = x.clone()
    y[:, :, 30:] += 5.0  # change only the future after t=30
    h = x
    hy = y
    from models.networks import causal_conv

    a1 = causal_conv(h, net.convs[0])
    a2 = causal_conv(hy, net.convs[0])
    assert torch.allclose(a1[:, :, :30], a2[:, :, :30])
    assert not torch.allclose(a1[:, :, 30:], a2[:, :, 30:])


def test_fit_is_seeded_and_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    cfg = FitConfig(epochs=15, batch_size=32, lr=1e-2, modality_dropout=0.1, seed=3)
    p1 = predict_proba(fit(MLPClassifier(6, 2, hidden=(8,), dropout=0.0), x, y, 2, cfg, [[0, 1], [2, 3, 4, 5]]), x)
    p2 = predict_proba(fit(MLPClassifier(6, 2, hidden=(8,), dropout=0.0), x, y, 2, cfg, [[0, 1], [2, 3, 4, 5]]), x)
    np.testing.assert_array_equal(p1, p2)
    assert np.mean(p1.argmax(1) == y) > 0.9
    np.testing.assert_allclose(p1.sum(1), 1.0, rtol=1e-6)


def test_audio_fusion_is_the_mean_of_tcn_and_sklearn_logreg_probabilities():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from models.export import ProbaModule2
    from models.networks import AudioFusionNet

    rng = np.random.default_rng(0)
    f_train = rng.normal(size=(120, 6)) * 3 + 1
    y_train = rng.integers(0, 3, 120)
    lr = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(f_train, y_train)
    net = AudioFusionNet(6, 3, {"in_channels": 4, "hidden": 8, "levels": 2, "kernel_size": 3, "dropout": 0.0})
    net.set_logreg(lr[0].mean_, lr[0].scale_, lr[-1].coef_, lr[-1].intercept_)
    net.eval()
    x = torch.from_numpy(rng.normal(size=(5, 4, 32)).astype(np.float32))
    f = rng.normal(size=(5, 6)) * 3 + 1
    with torch.no_grad():
        got = ProbaModule2(net)(x, torch.from_numpy(f.astype(np.float32))).numpy()
        p_tcn = torch.softmax(net.tcn(x), dim=-1).numpy()
    expect = 0.5 * (p_tcn + lr.predict_proba(f))
    np.testing.assert_allclose(got, expect, rtol=1e-4, atol=1e-5)
