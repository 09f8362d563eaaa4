"""The emotion event contract: round trips and precise rejections."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.dlq import decode_dead_letter, encode_dead_letter, make_dead_letter
from pipeline.events import EmotionEvent, HeadReading, ModalityStatus, decode_event, encode_event
from pipeline.exceptions import ContractError


def _ev(**kw):
    base = dict(
        subject_id="S02",
        session_id="s1",
        window_start_ns=0,
        window_end_ns=60 * 10**9,
        label="stress",
        probabilities={"non_stress": 0.25, "stress": 0.75},
        modalities={"eda": ModalityStatus(True, 0.5, ("flat",))},
        model_name="m",
        model_version="1",
    )
    base.update(kw)
    return EmotionEvent(**base)


@settings(max_examples=50, deadline=None)
@given(
    p=st.floats(0, 1),
    start=st.integers(0, 2**62),
    length=st.integers(1, 10**12),
    q=st.floats(0, 1),
    arousal=st.none() | st.floats(-1, 1),
)
def test_round_trip(p, start, length, q, arousal):
    ev = _ev(
        window_start_ns=start,
        window_end_ns=start + length,
        probabilities={"non_stress": 1 - p, "stress": p},
        modalities={"bvp": ModalityStatus(q > 0.5, q, ("gap",))},
        arousal=arousal,
        latency_ns={"published_ns": start},
    )
    assert decode_event(encode_event(ev)) == ev
    assert json.loads(encode_event(ev))["event_id"] == f"S02:{start + length}:m@1"


def _reading(**kw):
    base = dict(
        model_name="stress_binary",
        model_version="1.1.0",
        label="stress",
        probabilities={"non-stress": 0.3, "stress": 0.7},
        arousal=0.4,
        valence=-0.3,
        weight=1.0,
        quality=0.8,
        modalities=("eda", "bvp"),
    )
    base.update(kw)
    return HeadReading(**base)


def test_v2_fused_event_with_heads_round_trips():
    ev = _ev(
        label="high-arousal negative",
        model_name="fusion",
        model_version="2.0.0",
        probabilities={"neutral": 0.1, "high-arousal negative": 0.9},
        arousal=0.4,
        valence=-0.3,
        heads={
            "stress_binary": _reading(weight=0.75),
            "ravdess_emotion": _reading(
                model_name="ravdess_emotion",
                label="sad",
                probabilities={"sad": 1.0},
                weight=0.25,
                modalities=("audio_features",),
            ),
        },
        condition="stroop",
        confidence=0.6,
    )
    back = decode_event(encode_event(ev))
    assert back == ev and back.heads["ravdess_emotion"].modalities == ("audio_features",)
    assert ev.event_id == "S02:60000000000:fusion@2.0.0"


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"kind": "head"}, "head name"),
        ({"kind": "fused", "head": "x"}, "head name"),
        ({"kind": "other"}, "kind must be"),
        ({"arousal": 1.5}, "arousal"),
        ({"heads": {"a": _reading(weight=0.5)}}, "weights must sum to 1"),
        ({"heads": {"a": _reading(label="calm")}}, "not one of its classes"),
    ],
)
def test_invalid_v2_fields_are_rejected(kw, reason):
    with pytest.raises(ContractError, match=reason):
        encode_event(_ev(**kw))


def test_schema_1_events_still_decode():
    v1 = {
        "subject_id": "S02",
        "session_id": "s1",
        "window_start_ns": 0,
        "window_end_ns": 60 * 10**9,
        "label": "stress",
        "probabilities": {"non-stress": 0.4, "stress": 0.6},
        "modalities": {"eda": {"present": True, "quality": 0.9, "reasons": []}},
        "model_name": "stress_binary",
        "model_version": "1.1.0",
        "arousal": None,
        "valence": None,
        "latency_ns": {},
        "synthetic": False,
        "schema_version": 1,
        "event_id": "S02:60000000000:1.1.0",
    }
    ev = decode_event(json.dumps(v1))
    assert ev.schema_version == 1 and ev.kind == "fused" and ev.heads == {}
    assert ev.event_id == "S02:60000000000:1.1.0" and ev.modalities["eda"].quality == 0.9


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"label": "happy"}, "not one of the classes"),
        ({"probabilities": {"non_stress": 0.5, "stress": 0.6}}, "sum to 1"),
        ({"window_end_ns": 0}, "must be after"),
        ({"subject_id": ""}, "non-empty"),
        ({"schema_version": 99}, "schema_version"),
    ],
)
def test_invalid_events_are_rejected_with_reason(kw, reason):
    with pytest.raises(ContractError, match=reason):
        encode_event(_ev(**kw))


@pytest.mark.parametrize("data", [b"", b"{}", b"[1]", b'{"subject_id": 3}', b"\xff\xfe"])
def test_malformed_event_bytes_give_contract_error(data):
    with pytest.raises(ContractError):
        decode_event(data)


def test_dead_letter_keeps_the_payload_byte_for_byte():
    payload = bytes(range(256))
    letter = make_dead_letter(stage="ingest", reason="bad", topic="t", partition=1, offset=7, key=b"S1", value=payload)
    back = decode_dead_letter(encode_dead_letter(letter))
    assert back == letter and back.payload() == payload and back.key == "S1"
