"""Pure parts of the classify stage: watermark, assembly into slots, batching, events."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from agents.classify import classify_batch
from models.preprocess import PreprocessSpec, preprocess_init, preprocess_step
from pipeline.events import encode_event
from pipeline.records import WindowRecord, decode_window_record, encode_window_record
from pipeline.steps import subject_step, subject_watermark_ns
from pipeline.stream import Window

S = 10**9


class LinearModel:
    """A real (tiny) model with the LoadedModel interface: softmax of a fixed linear map."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.spec = PreprocessSpec(names)
        self.classes = ("non_stress", "stress")
        self.card = {"name": "linear", "version": "t1", "modalities": ["eda", "bvp"]}
        self.w = np.linspace(-1, 1, len(names))

    def new_state(self):
        return preprocess_init(self.spec)

    def prepare(self, state, features):
        return preprocess_step(state, features)

    def predict_proba(self, x):
        logit = np.asarray(x, dtype=np.float64) @ self.w
        p = 1 / (1 + np.exp(-logit))
        return np.stack([1 - p, p], axis=1)


def _win(modality: str, end_s: int, value: float, quality: float = 1.0) -> WindowRecord:
    w = Window(
        modality=modality, start_ns=(end_s - 60) * S, end_ns=end_s * S, fs_hz=4.0, channels=(modality,),
        samples=np.full((1, 240), value), gap_fraction=0.0, quality=quality, quality_reasons=(),
        features={f"{modality.upper()}_Mean": value},
    )  # fmt: skip
    return WindowRecord("S1", "sess", w, ingest_ns=end_s, synthetic=False)


def test_watermark_is_slowest_live_modality():
    mods = ("eda", "bvp", "acc")
    assert subject_watermark_ns({"eda": 100 * S, "bvp": 80 * S, "acc": 90 * S}, mods, 60 * S, 300 * S) == 80 * S
    # a modality 400 s behind stopped sending: it no longer holds the others back
    assert subject_watermark_ns({"eda": 500 * S, "bvp": 100 * S, "acc": 490 * S}, mods, 60 * S, 300 * S) == 490 * S
    # a modality not seen yet holds the watermark at the subject's first window ...
    assert subject_watermark_ns({"eda": 200 * S}, mods, 60 * S, 300 * S) == 60 * S - 1
    # ... until the others are stale_s past it (the device has no such sensor)
    assert subject_watermark_ns({"eda": 400 * S}, mods, 60 * S, 300 * S) == 400 * S


def test_late_starting_modality_still_makes_the_first_slots():
    model = LinearModel(("EDA_Mean", "BVP_Mean"))
    state, out = None, []
    for end in range(60, 120, 5):  # EDA runs 60 s ahead of BVP
        state, ready = subject_step(model, state, _win("eda", end, 1.0), grace_s=10, stale_s=300, now_ns=1)
        out += ready
    assert out == []
    for end in range(60, 120, 5):
        state, ready = subject_step(model, state, _win("bvp", end, 2.0), grace_s=10, stale_s=300, now_ns=1)
        out += ready
    assert [p.mm.end_ns // S for p in out] == list(range(60, 120, 5))
    assert all(all(p.mm.present.values()) for p in out)


def test_slots_complete_in_order_and_state_pickles():
    model = LinearModel(("EDA_Mean", "BVP_Mean"))
    state, out = None, []
    for end in range(60, 120, 5):
        for m, v in (("eda", end / 10), ("bvp", 70 - end / 20)):
            state, ready = subject_step(model, state, _win(m, end, v), grace_s=10, stale_s=300, now_ns=1)
            state = pickle.loads(pickle.dumps(state))  # survives the changelog table
            out.extend(ready)
    assert [p.mm.end_ns // S for p in out] == list(range(60, 120, 5))
    events = classify_batch(model, out)
    assert [e.window_end_ns // S for e in events] == list(range(60, 120, 5))
    for e in events:
        encode_event(e)  # schema-valid
        assert e.modalities["eda"].present and e.modalities["bvp"].present
    # one batched call equals calls one by one
    one_by_one = [classify_batch(model, [p])[0].probabilities for p in out]
    assert all(e.probabilities == pytest.approx(p, abs=1e-12) for e, p in zip(events, one_by_one, strict=True))


def test_missing_modality_flushes_after_grace_and_is_flagged():
    model = LinearModel(("EDA_Mean", "BVP_Mean"))
    state = None
    ready_all = []
    for end in range(60, 385, 5):  # only EDA arrives: BVP is taken as absent once EDA is 300 s ahead
        state, ready = subject_step(model, state, _win("eda", end, 1.0), grace_s=10, stale_s=300, now_ns=1)
        ready_all.extend(ready)
    assert [p.mm.end_ns // S for p in ready_all] == list(range(60, 375, 5))  # end + grace <= watermark 380
    ev = classify_batch(model, ready_all)[0]
    assert not ev.modalities["bvp"].present and ev.modalities["bvp"].reasons == ("missing",)


def test_window_record_round_trip_is_bit_exact():
    rec = _win("eda", 60, 1.0 / 3.0)
    back = decode_window_record(encode_window_record(rec))
    assert back.window.features == rec.window.features
    assert np.array_equal(back.window.samples, rec.window.samples)
    assert back.subject_id == rec.subject_id and back.window.end_ns == rec.window.end_ns
