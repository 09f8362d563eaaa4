"""Committed default models: cards, loader API, TorchScript vs eager agreement, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.export import ARTIFACTS_DIR, read_card
from models.networks import build_network
from models.registry import DEFAULTS, ModelNotFoundError, load_default

REQUIRED = (
    "name",
    "version",
    "task",
    "classes",
    "modalities",
    "channels",
    "input",
    "normalisation",
    "training_data",
    "metrics",
    "training_time_s",
)
NET_TASKS = [
    t
    for t in DEFAULTS
    if (ARTIFACTS_DIR / DEFAULTS[t]).is_file() and read_card(ARTIFACTS_DIR / DEFAULTS[t]).get("artifact")
]


def _example(card: dict, b: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Random input batch: one array, or (lld, functionals) for the two-input audio model."""
    keys = ("shape", "functionals_shape") if card["input"]["kind"] == "lld+functionals" else ("shape",)
    return tuple(
        rng.normal(size=[b if s == "B" else int(s) for s in card["input"][k]]).astype(np.float32) for k in keys
    )


def test_every_default_has_a_complete_card():
    assert "stress_binary" in NET_TASKS
    for task, fname in DEFAULTS.items():
        path = ARTIFACTS_DIR / fname
        if not path.is_file():
            continue
        card = read_card(path)
        missing = [k for k in REQUIRED if k not in card]
        assert not missing, f"{fname} lacks {missing}"
        assert card["task"] == task
        if card.get("artifact"):
            assert (ARTIFACTS_DIR / card["artifact"]).stat().st_size < 2_000_000


@pytest.mark.parametrize("task", NET_TASKS)
def test_torchscript_matches_eager_network(task):
    m = load_default(task)
    card = m.card
    eager = build_network(card["architecture"]["kind"], card["architecture"]["params"]).eval()
    traced_sd = torch.jit.load(str(ARTIFACTS_DIR / card["artifact"])).state_dict()
    eager.load_state_dict({k.removeprefix("net."): v for k, v in traced_sd.items()})
    x = _example(card, 7, np.random.default_rng(0))
    with torch.no_grad():
        expect = torch.softmax(eager(*(torch.from_numpy(a) for a in x)), dim=-1).numpy()
    got = m.predict_proba(x if len(x) > 1 else x[0])
    np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-6)
    assert got.shape == (7, len(card["classes"]))
    # batched == one by one
    single = np.concatenate([m.predict_proba(tuple(a[i : i + 1] for a in x)) for i in range(7)])
    np.testing.assert_allclose(got, single, rtol=1e-5, atol=1e-6)


def test_stress_model_prepare_path_is_causal_and_picklable():
    import pickle

    m = load_default("stress_binary")
    names = m.card["input"]["feature_names"]
    rng = np.random.default_rng(1)
    rows = [{k: float(v) for k, v in zip(names, rng.normal(size=len(names)), strict=True)} for _ in range(12)]
    st = m.new_state()
    xs = []
    for i, r in enumerate(rows):
        st, x = m.prepare(st, r)
        xs.append(x)
        if i == 5:
            st = pickle.loads(pickle.dumps(st))
    x = np.stack(xs)
    assert x.shape == (12, len(m.input_names)) and x.dtype == np.float32
    assert np.all(x[:6] == 0.0)  # before min_windows past windows: at baseline
    p = m.predict_proba(x)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)


def test_calibration_seeds_the_baseline_like_past_windows():
    m = load_default("stress_binary")
    names = m.card["input"]["feature_names"]
    rng = np.random.default_rng(2)
    rows = [{k: float(v) for k, v in zip(names, rng.normal(size=len(names)), strict=True)} for _ in range(10)]
    calibrated = m.calibrate(m.new_state(), rows[:8])
    _, x_cal = m.prepare(calibrated, rows[8])
    stepped = m.new_state()
    for r in rows[:8]:
        stepped, _ = m.prepare(stepped, r)
    _, x_step = m.prepare(stepped, rows[8])
    np.testing.assert_array_equal(x_cal, x_step)
    assert np.any(x_cal != 0.0)  # 8 calibration windows >= min_windows: normalised from the first live window
    _, x_fresh = m.prepare(m.new_state(), rows[8])
    assert np.all(x_fresh == 0.0)


def test_video_rules_and_unknown_task():
    v = load_default("video_emotion")
    p = v.predict_proba(np.zeros((2, len(v.card["input"]["au_order"]))))
    assert p.shape == (2, len(v.classes)) and v.classes[int(p[0].argmax())] == "neutral"
    with pytest.raises(ModelNotFoundError):
        load_default("no_such_task")
