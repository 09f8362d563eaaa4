"""The stream plan from the cards (refusals with clear messages) and the fusion rule on the circumplex."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.export import ARTIFACTS_DIR
from models.heads import DEFAULT_HEADS, HEAD_KINDS, load_heads, load_plan
from pipeline.emfacs import EMFACS_CLASSES
from pipeline.exceptions import PlanError
from pipeline.fusion import AFFECT_COORDS, SHARED_LABELS, HeadOutput, affect_region, class_coords, fuse
from pipeline.plan import head_spec, stream_plan

RAVDESS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")


def _card(**kw):
    card = {
        "name": "h", "version": "1", "classes": ["non-stress", "stress"], "modalities": ["eda"],
        "window": {"window_s": 60.0, "hop_s": 5.0}, "input": {"kind": "features", "feature_version": "1.3.0"},
    }  # fmt: skip
    card.update(kw)
    return card


def test_committed_cards_give_one_plan():
    plan = load_plan(ARTIFACTS_DIR, DEFAULT_HEADS)
    assert plan.modalities["eda"].window_s == 60.0 and plan.modalities["audio_features"].window_s == 5.0
    assert {p.hop_s for p in plan.modalities.values()} == {5.0}
    # only heads that read frames or samples make windows carry samples
    assert {m for m, p in plan.modalities.items() if p.keep_samples} == {"audio_features", "eeg"}
    assert plan.modalities["ecg"].heads == ("stress_ecg",)
    assert {head_spec(json.loads((ARTIFACTS_DIR / f"{h}.json").read_text())).kind for h in DEFAULT_HEADS} <= set(
        HEAD_KINDS
    )


@pytest.mark.parametrize(
    ("cards", "reason"),
    [
        ([_card(), _card(name="g", window={"window_s": 30.0, "hop_s": 5.0})], "already fixed 60.0 s every 5.0 s"),
        ([_card(input={"kind": "features", "feature_version": "0.9.0"})], "feature version 0.9.0"),
        ([_card(input={"kind": "holographic", "feature_version": "1.3.0"})], "unknown input kind"),
        ([_card(classes=["blue", "green"])], "no place on the circumplex"),
        ([_card(window={"window_s": 7.0, "hop_s": 5.0})], "whole number of hops"),
        ([_card(), _card()], "same name"),
        ([{"name": "bare", "version": "1"}], "lacks what a head needs"),
    ],
)
def test_a_card_that_does_not_fit_is_refused_with_a_clear_message(cards, reason):
    with pytest.raises(PlanError, match=reason):
        stream_plan([head_spec(c) for c in cards])


def test_a_missing_head_card_names_what_is_there(tmp_path):
    with pytest.raises(PlanError, match="no model card"):
        load_heads(tmp_path, ["stress_binary"])


def test_custom_classes_are_placed_by_the_card():
    spec = head_spec(_card(classes=["blue", "green"], affect={"blue": [-0.5, -0.5], "green": [0.5, 0.5]}))
    assert spec.affect["green"] == (0.5, 0.5)


@pytest.mark.parametrize(
    "classes", [("non-stress", "stress"), RAVDESS, EMFACS_CLASSES, ("relaxed", "stressed", "drowsy")]
)
def test_every_committed_class_has_a_place_on_the_circumplex(classes):
    xy = class_coords(classes)
    assert xy.shape == (len(classes), 2) and np.all(np.abs(xy) <= 1)


def test_the_mapping_follows_the_circumplex():
    region = {c: affect_region(*AFFECT_COORDS[c]) for c in AFFECT_COORDS}
    assert region["stress"] == region["angry"] == region["fearful"] == "high-arousal negative"
    assert region["happy"] == region["surprised"] == "high-arousal positive"
    assert region["sad"] == "low-arousal negative" and region["calm"] == region["relaxed"] == "low-arousal positive"
    assert region["neutral"] == "neutral" and set(region.values()) <= set(SHARED_LABELS)


def test_fusion_weights_heads_by_quality_and_drops_unusable_ones():
    stress = HeadOutput("stress", "1", ("non-stress", "stress"), np.array([0.0, 1.0]), 0.9, ("eda",))
    speech = HeadOutput("speech", "1", RAVDESS, np.eye(8)[2], 0.3, ("audio_features",))  # happy
    face = HeadOutput("face", "1", EMFACS_CLASSES, np.eye(7)[1], 0.0, ("video_features",))  # no quality
    f = fuse([stress, speech, face])
    assert f.weights == pytest.approx({"stress": 0.75, "speech": 0.25, "face": 0.0})
    a = 0.75 * AFFECT_COORDS["stress"][0] + 0.25 * AFFECT_COORDS["happy"][0]
    v = 0.75 * AFFECT_COORDS["stress"][1] + 0.25 * AFFECT_COORDS["happy"][1]
    assert (f.arousal, f.valence) == pytest.approx((a, v))
    assert f.probabilities["high-arousal negative"] == pytest.approx(0.75) and f.label == "high-arousal negative"
    assert sum(f.probabilities.values()) == pytest.approx(1.0) and f.confidence == pytest.approx(1.2 / 3)


def test_with_no_usable_head_the_fused_reading_says_so():
    a = HeadOutput("a", "1", ("calm", "angry"), np.array([0.5, 0.5]), 0.0, ())
    b = HeadOutput("b", "1", ("sad",), np.array([1.0]), float("nan"), ())
    f = fuse([a, b])
    assert f.confidence == 0.0 and f.weights == {"a": 0.5, "b": 0.5}
    assert sum(f.probabilities.values()) == pytest.approx(1.0)
