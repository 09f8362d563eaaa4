"""Pure parts of the classify stage: per-head assembly and watermark, batching, fusion, events."""

from __future__ import annotations

import pickle

import msgpack
import numpy as np
import pytest

from agents.classify import fuse_subjects, run_heads
from models.preprocess import PreprocessSpec, preprocess_init, preprocess_step
from pipeline.events import encode_event
from pipeline.heads import head_watermark_ns
from pipeline.plan import head_spec
from pipeline.records import WindowRecord, decode_window_record, encode_window_record
from pipeline.steps import fusion_step, subject_step
from pipeline.stream import Window

S = 10**9


class LinearHead:
    """A real (tiny) head with the pipeline.heads interface: softmax of a fixed linear map of the features."""

    def __init__(self, name: str, modalities: tuple[str, ...], classes=("non-stress", "stress"), fail=False) -> None:
        names = tuple(f"{m.upper()}_Mean" for m in modalities)
        self.spec = head_spec({
            "name": name, "version": "t1", "classes": list(classes), "modalities": list(modalities),
            "window": {"window_s": 60.0, "hop_s": 5.0}, "input": {"kind": "features", "feature_version": "1.3.0"},
        })  # fmt: skip
        self.pre = PreprocessSpec(names)
        self.w = np.linspace(-1, 1, len(names))
        self.fail = fail

    def new_state(self):
        return preprocess_init(self.pre)

    def prepare(self, state, mm):
        feats = {k: v for w in mm.windows.values() for k, v in w.features.items()}
        return preprocess_step(state, feats)

    def predict_proba(self, xs):
        if self.fail:
            raise RuntimeError("model exploded")
        logit = np.asarray(xs, dtype=np.float64) @ self.w
        p = 1 / (1 + np.exp(-logit))
        return np.stack([1 - p, p], axis=1)


def _win(modality: str, end_s: int, value: float, quality: float = 1.0, subject: str = "S1") -> WindowRecord:
    w = Window(
        modality=modality, start_ns=(end_s - 60) * S, end_ns=end_s * S, fs_hz=4.0, channels=(modality,),
        samples=np.full((1, 240), value), gap_fraction=0.0, quality=quality, quality_reasons=(),
        features={f"{modality.upper()}_Mean": value},
    )  # fmt: skip
    return WindowRecord(subject, "sess", w, ingest_ns=end_s, synthetic=False)


def _feed(heads, recs, state=None, **kw):
    pending = []
    for rec in recs:
        state, ready = subject_step(heads, state, rec, grace_s=10, stale_s=300, now_ns=1, **kw)
        state = pickle.loads(pickle.dumps(state))  # survives the changelog table
        pending += ready
    return state, pending


def test_watermark_is_slowest_live_modality():
    mods = ("eda", "bvp", "acc")
    assert head_watermark_ns({"eda": 100 * S, "bvp": 80 * S, "acc": 90 * S}, mods, 60 * S, 300 * S) == 80 * S
    # a modality 400 s behind stopped sending: it no longer holds the others back
    assert head_watermark_ns({"eda": 500 * S, "bvp": 100 * S, "acc": 490 * S}, mods, 60 * S, 300 * S) == 490 * S
    # a modality not seen yet holds the watermark at the head's first window ...
    assert head_watermark_ns({"eda": 200 * S}, mods, 60 * S, 300 * S) == 60 * S - 1
    # ... until the others are stale_s past it (the device has no such sensor)
    assert head_watermark_ns({"eda": 400 * S}, mods, 60 * S, 300 * S) == 400 * S


def test_late_starting_modality_still_makes_the_first_slots():
    head = LinearHead("phys", ("eda", "bvp"))
    state, out = _feed([head], [_win("eda", end, 1.0) for end in range(60, 120, 5)])  # EDA 60 s ahead of BVP
    assert out == []
    state, out = _feed([head], [_win("bvp", end, 2.0) for end in range(60, 120, 5)], state)
    assert [p.mm.end_ns // S for p in out] == list(range(60, 120, 5))
    assert all(all(p.mm.present.values()) for p in out)


def test_slots_complete_in_order_batched_equals_one_by_one():
    head = LinearHead("phys", ("eda", "bvp"))
    recs = [_win(m, end, v) for end in range(60, 120, 5) for m, v in (("eda", end / 10), ("bvp", 70 - end / 20))]
    state, out = _feed([head], recs)
    assert [p.mm.end_ns // S for p in out] == list(range(60, 120, 5))
    results, failed = run_heads([head], out)
    assert failed == [] and [r.end_ns // S for r in results] == list(range(60, 120, 5))
    one_by_one = [run_heads([head], [p])[0][0].proba for p in out]
    assert all(r.proba == pytest.approx(p, abs=1e-12) for r, p in zip(results, one_by_one, strict=True))
    events = fuse_subjects({"S1": state}, results, fusion_grace_s=10)
    heads = [e for e in events if e.kind == "head"]
    fused = [e for e in events if e.kind == "fused"]
    assert len(heads) == len(fused) == len(results)
    for e in events:
        encode_event(e)  # schema-valid
        assert e.modalities["eda"].present and e.modalities["bvp"].present
    # one head: the fused event is that head's reading on the circumplex, with weight 1
    assert all(e.heads["phys"].weight == pytest.approx(1.0) for e in fused)
    assert all(e.heads["phys"].probabilities == h.probabilities for e, h in zip(fused, heads, strict=True))


def test_missing_modality_flushes_after_grace_and_is_flagged():
    head = LinearHead("phys", ("eda", "bvp"))
    # only EDA arrives: BVP is taken as absent once EDA is 300 s ahead
    _, ready = _feed([head], [_win("eda", end, 1.0) for end in range(60, 385, 5)])
    assert [p.mm.end_ns // S for p in ready] == list(range(60, 375, 5))  # end + grace <= watermark 380
    r = run_heads([head], ready)[0][0]
    mods = dict(r.modalities)
    assert not mods["bvp"].present and mods["bvp"].reasons == ("missing",) and mods["bvp"].weight == 0.0
    assert r.quality == pytest.approx(0.5)  # one of two modalities, at quality 1


def test_two_heads_fuse_by_quality_and_a_stopped_head_falls_away_after_the_grace():
    phys = LinearHead("phys", ("eda",))
    speech = LinearHead("speech", ("audio_features",), classes=("calm", "angry"))
    recs = []
    for end in range(60, 200, 5):
        recs.append(_win("eda", end, end / 50, quality=1.0))
        if end < 120:  # the speech stream stops at 120 s
            recs.append(_win("audio_features", end, 1.0, quality=0.5))
    state, pending = _feed([phys, speech], recs)
    results, _ = run_heads([phys, speech], pending)
    events = fuse_subjects({"S1": state}, results, fusion_grace_s=10)
    fused = {e.window_end_ns // S: e for e in events if e.kind == "fused"}
    assert fused[100].heads.keys() == {"phys", "speech"}
    assert fused[100].heads["phys"].weight == pytest.approx(2 / 3)  # quality 1 vs 0.5
    assert fused[100].modalities["audio_features"].weight == pytest.approx(1 / 3)
    # after the speech stream stopped, slots go on with physiology alone once they are 10 s old
    assert set(fused) >= set(range(60, 185, 5))
    assert fused[150].heads.keys() == {"phys"} and fused[150].heads["phys"].weight == 1.0
    assert -1 <= fused[150].arousal <= 1 and fused[150].label in fused[150].probabilities


def test_a_head_that_raises_fails_only_its_own_slots():
    good, bad = LinearHead("good", ("eda",)), LinearHead("bad", ("bvp",), fail=True)
    recs = [_win(m, end, 1.0) for end in range(60, 100, 5) for m in ("eda", "bvp")]
    _, pending = _feed([good, bad], recs, token="msg")
    results, failed = run_heads([good, bad], pending)
    assert {r.head for r in results} == {"good"} and len(results) == 8
    assert {p.head for p, _ in failed} == {"bad"} and all("exploded" in str(e) for _, e in failed)


def test_late_head_result_is_reported_not_fused():
    head = LinearHead("phys", ("eda",))
    state, pending = _feed([head], [_win("eda", end, 1.0) for end in range(60, 90, 5)])
    results, _ = run_heads([head], pending)
    state, slots, late = fusion_step(state, results, grace_s=10)
    assert [s[0].end_ns // S for s in slots] == list(range(60, 90, 5))
    state, slots, late = fusion_step(state, results[:1], grace_s=10)  # the same window again
    assert slots == [] and len(late) == 1 and state.fusion.n_late == 1


def test_window_record_round_trip_is_bit_exact():
    rec = _win("eda", 60, 1.0 / 3.0)
    back = decode_window_record(encode_window_record(rec))
    assert back.window.features == rec.window.features
    assert back.window.samples.astype(np.float32).tobytes() == rec.window.samples.astype(np.float32).tobytes()
    assert back.subject_id == rec.subject_id and back.window.end_ns == rec.window.end_ns


def test_window_records_without_samples_are_small_and_format_1_still_decodes():
    rec = _win("eda", 60, 0.25)
    empty = WindowRecord(
        rec.subject_id, rec.session_id, Window(**{**rec.window.__dict__, "samples": np.zeros((1, 0))}), 1
    )
    assert len(encode_window_record(empty)) < len(encode_window_record(rec)) - 900
    w = rec.window
    v1 = b"EMW1" + msgpack.packb({
        "v": 1, "subject_id": "S1", "session_id": "sess", "ingest_ns": 5, "synthetic": False, "modality": "eda",
        "start_ns": w.start_ns, "end_ns": w.end_ns, "fs_hz": 4.0, "channels": ["eda"],
        "samples": {"shape": [1, 240], "data": w.samples.astype("<f8").tobytes()}, "gap_fraction": 0.0,
        "quality": 1.0, "quality_reasons": [], "features": {"EDA_Mean": 0.25}, "feature_version": "1.3.0",
        "raw": None,
    }, use_bin_type=True)  # fmt: skip
    back = decode_window_record(v1)
    assert back.window.features == {"EDA_Mean": 0.25} and np.array_equal(back.window.samples, w.samples)
