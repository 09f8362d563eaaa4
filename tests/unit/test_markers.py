"""The marker contract and the condition fold (pipeline.markers): pure, no services."""

from __future__ import annotations

import itertools
import json

import pytest

from pipeline.exceptions import ContractError
from pipeline.markers import (
    Marker,
    condition_at,
    condition_init,
    condition_segments,
    condition_step,
    conditions_of,
    decode_marker,
    encode_marker,
    tag_markers,
)


def mk(t, kind, label, subject="S1"):
    return Marker(subject, "s", t, kind, label, "test")


def test_round_trip_and_wire_form():
    m = mk(1_644_228_196_000_000_000, "start", "stroop")
    data = encode_marker(m)
    assert decode_marker(data) == m
    assert json.loads(data)["kind"] == "start"
    assert decode_marker(data.decode()) == m


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1]", "JSON object"),
        (b'{"subject_id": "S1", "kind": "start"}', "lacks t_ns"),
        (b'{"subject_id": "S1", "t_ns": 5, "kind": "begin", "label": "x"}', "kind"),
        (b'{"subject_id": "S1", "t_ns": -5, "kind": "start", "label": "x"}', "non-negative"),
        (b'{"subject_id": "S1", "t_ns": "5", "kind": "start", "label": "x"}', "integer"),
        (b'{"subject_id": "S1", "t_ns": 5, "kind": "start", "label": ""}', "needs a label"),
        (b'{"subject_id": "", "t_ns": 5, "kind": "point", "label": "x"}', "subject_id is empty"),
        (b'{"subject_id": "S1", "t_ns": 5, "kind": "point", "label": "x", "schema_version": 9}', "schema_version"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_malformed_markers_are_contract_errors(payload, reason):
    with pytest.raises(ContractError, match=reason):
        decode_marker(payload)


def test_end_without_label_is_valid():
    assert decode_marker(b'{"subject_id": "S1", "t_ns": 5, "kind": "end"}').label == ""


def test_condition_follows_segments_nesting_and_points():
    ms = [
        mk(10, "start", "rest"),
        mk(20, "point", "button"),
        mk(30, "start", "stroop"),  # nested in rest
        mk(40, "end", "stroop"),
        mk(50, "end", "rest"),
        mk(50, "start", "interview"),  # back to back: end and start at the same instant
        mk(60, "end", ""),  # closes the latest open segment
        mk(70, "end", "nothing-open"),  # ignored
    ]
    st = condition_init()
    for m in ms:
        st = condition_step(st, m)
    got = [condition_at(st, t) for t in (0, 10, 25, 30, 39, 40, 49, 50, 59, 60, 80)]
    assert got == [None, "rest", "rest", "stroop", "stroop", "rest", "rest", "interview", "interview", None, None]
    assert condition_segments(ms) == [("rest", 10, 50), ("stroop", 30, 40), ("interview", 50, 60)]


def test_arrival_order_does_not_matter_and_duplicates_count_once():
    ms = [mk(10, "start", "a"), mk(20, "start", "b"), mk(30, "end", "a"), mk(40, "end", "b"), mk(50, "start", "c")]
    times = list(range(0, 60, 5))
    expected = conditions_of(ms, times)
    for perm in itertools.permutations(ms):
        st = condition_init()
        for m in (*perm, perm[0]):
            st = condition_step(st, m)
        assert [condition_at(st, t) for t in times] == expected
    assert expected[times.index(35)] == "b" and expected[times.index(55)] == "c"


def test_bounded_history_keeps_open_segments():
    st = condition_init()
    st = condition_step(st, mk(0, "start", "session"), max_markers=4)
    for i in range(1, 20):
        st = condition_step(st, mk(i * 10, "point", f"p{i}"), max_markers=4)
    assert len(st.markers) == 4
    assert st.base == (("session", 0),)
    assert condition_at(st, 1000) == "session"
    st = condition_step(st, mk(1000, "end", "session"), max_markers=4)
    assert condition_at(st, 1000) is None


def test_tag_markers_points_and_pairs():
    tags = [500, 100, 200, 300, 400]
    pts = tag_markers(tags, subject_id="S1", session_id="s")
    assert [(m.t_ns, m.kind) for m in pts] == [(t, "point") for t in sorted(tags)]
    pairs = tag_markers(tags, subject_id="S1", session_id="s", mode="pairs", label="task")
    assert condition_segments(pairs) == [("task1", 100, 200), ("task2", 300, 400)]
    assert pairs[-1].kind == "point" and pairs[-1].t_ns == 500
    one = tag_markers(tags, subject_id="S1", session_id="s", mode="pairs", max_pairs=1)
    assert condition_segments(one) == [("tag1", 100, 200)]
    assert [m.kind for m in one[2:]] == ["point"] * 3
