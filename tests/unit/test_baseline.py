"""pipeline.baseline: causality, pickling, input immutability and the z-score itself."""

from __future__ import annotations

import math
import pickle

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.baseline import BaselineConfig, baseline_calibrate, baseline_init, baseline_moments, baseline_step

NAMES = ("EDA_Mean", "BVP_HR_Mean")


def _run(cfg: BaselineConfig, rows: list[dict[str, float]]) -> list[dict[str, float]]:
    st_ = baseline_init(NAMES, cfg)
    out = []
    for r in rows:
        st_, z = baseline_step(st_, r)
        out.append(z)
    return out


finite = st.floats(-1e3, 1e3, allow_nan=False)
row = st.fixed_dictionaries({"EDA_Mean": finite | st.just(math.nan), "BVP_HR_Mean": finite})


@settings(max_examples=40, deadline=None)
@given(st.lists(row, min_size=1, max_size=40), st.lists(row, max_size=10), st.sampled_from([5.0, 60.0, math.inf]))
def test_future_windows_never_change_past_outputs(rows, more, hl):
    cfg = BaselineConfig(halflife_windows=hl, min_windows=2)
    a = _run(cfg, rows)
    b = _run(cfg, rows + more)
    assert b[: len(rows)] == a


@settings(max_examples=25, deadline=None)
@given(st.lists(row, min_size=1, max_size=20))
def test_state_survives_pickling_and_inputs_unchanged(rows):
    cfg = BaselineConfig(min_windows=1)
    st_ = baseline_init(NAMES, cfg)
    half = len(rows) // 2
    copies = [dict(r) for r in rows]
    for r in rows[:half]:
        st_, _ = baseline_step(st_, r)
    st2 = pickle.loads(pickle.dumps(st_))
    for r in rows[half:]:
        st_, z1 = baseline_step(st_, r)
        st2, z2 = baseline_step(st2, r)
        assert z1 == z2
    assert copies == rows


def test_expanding_zscore_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(5.0, 2.0, size=30)
    cfg = BaselineConfig(halflife_windows=math.inf, min_windows=3, rel_floor=0.0, abs_floor=1e-9, clip_z=100.0)
    zs = [z["EDA_Mean"] for z in _run(cfg, [{"EDA_Mean": v, "BVP_HR_Mean": 1.0} for v in x])]
    for i in range(3, 30):
        expect = (x[i] - x[:i].mean()) / x[:i].std()
        assert math.isclose(zs[i], expect, rel_tol=1e-9, abs_tol=1e-9)
    assert zs[:3] == [0.0, 0.0, 0.0]


def test_exponential_weights_forget_old_level():
    cfg = BaselineConfig(halflife_windows=5.0, min_windows=1)
    st_ = baseline_init(("a",), cfg)
    for _ in range(200):
        st_, _ = baseline_step(st_, {"a": 0.0})
    for _ in range(200):
        st_, _ = baseline_step(st_, {"a": 10.0})
    mean, _, ready = baseline_moments(st_)
    assert ready[0] and abs(mean[0] - 10.0) < 1e-6


def test_missing_values_give_zero_and_do_not_update():
    st_ = baseline_init(("a",), BaselineConfig(min_windows=1))
    st_, _ = baseline_step(st_, {"a": 2.0})
    st2, z = baseline_step(st_, {})
    assert z == {"a": 0.0} and st2.count[0] == 1 and st2.mean[0] == st_.mean[0]
    st3, z = baseline_step(st2, {"a": float("inf")})
    assert z == {"a": 0.0} and st3.count[0] == 1


def test_calibration_seeds_statistics():
    cfg = BaselineConfig(halflife_windows=math.inf, min_windows=2, rel_floor=0.0, clip_z=100.0)
    st_ = baseline_calibrate(baseline_init(("a",), cfg), [{"a": 1.0}, {"a": 3.0}])
    _, z = baseline_step(st_, {"a": 4.0})
    assert math.isclose(z["a"], (4.0 - 2.0) / 1.0)
