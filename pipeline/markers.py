"""Condition markers: the contract of the ``markers`` topic and the fold that turns markers into conditions.

A marker says that, for one subject and session, at event time ``t_ns`` (unix ns), a named segment
starts (``kind="start"``), ends (``"end"``), or that something happened (``"point"``, e.g. a button
press). Producers: the LSL bridge (an LSL marker stream), ``emopipe replay`` (E4 ``tags_*.csv``) and
``emopipe mark`` (by hand). JSON on the wire, one object per message, keyed by subject::

    {"schema_version": 1, "subject_id": "S02", "session_id": "live", "t_ns": 1644228196000000000,
     "kind": "start", "label": "stroop", "source": "mark"}

The subject's *condition* at time t is the label of the innermost segment open at t (the most
recently started one that has not ended), or None. Point markers never change the condition.
An ``end`` closes the most recent open segment with the same label; an ``end`` with an empty label
closes the most recent open segment of any label; an ``end`` that matches nothing is ignored.
Markers may arrive out of order: the fold keeps them sorted by time, so the answer of
:func:`condition_at` depends only on the set of markers folded in, not on their arrival order.

Pure: no clocks, no I/O.

Examples
--------
>>> m = Marker("S02", "s1", 10, "start", "stroop", "mark")
>>> decode_marker(encode_marker(m)) == m
True
>>> st = condition_init()
>>> st = condition_step(st, m)
>>> st = condition_step(st, Marker("S02", "s1", 20, "end", "stroop", "mark"))
>>> condition_at(st, 5), condition_at(st, 10), condition_at(st, 19), condition_at(st, 20)
(None, 'stroop', 'stroop', None)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from pipeline.exceptions import ContractError

MARKER_SCHEMA_VERSION: Final[int] = 1
MarkerKind = Literal["start", "end", "point"]
KINDS: Final[tuple[str, ...]] = ("start", "end", "point")
#: how many markers a :class:`ConditionState` keeps individually; older ones are folded into its base
MAX_MARKERS: Final[int] = 512
_MAX_LABEL_CHARS: Final[int] = 200
#: tie-break at equal times: an end closes before a start at the same instant opens (back-to-back segments)
_KIND_ORDER: Final[dict[str, int]] = {"end": 0, "start": 1, "point": 2}


@dataclass(frozen=True)
class Marker:
    """One condition marker.

    Attributes
    ----------
    subject_id, session_id : str
    t_ns : int
        Event time, unix ns.
    kind : {"start", "end", "point"}
    label : str
        Condition name (``"rest"``, ``"stroop"``); may be empty only for ``end`` (closes the latest segment).
    source : str
        Who made it: ``"mark"``, ``"lsl"``, ``"e4-tags"``, ...
    """

    subject_id: str
    session_id: str
    t_ns: int
    kind: MarkerKind
    label: str
    source: str
    schema_version: int = MARKER_SCHEMA_VERSION


def validate_marker(m: Marker) -> None:
    """Raise :class:`ContractError` with the reason if ``m`` breaks the contract."""
    for name in ("subject_id", "session_id", "label", "source"):
        if not isinstance(getattr(m, name), str):
            msg = f"marker {name} must be a string, got {type(getattr(m, name)).__name__}"
            raise ContractError(msg)
    if not m.subject_id:
        msg = "marker subject_id is empty"
        raise ContractError(msg)
    if m.kind not in KINDS:
        msg = f"marker kind {m.kind!r} is not one of {', '.join(KINDS)}"
        raise ContractError(msg)
    if not isinstance(m.t_ns, int) or isinstance(m.t_ns, bool) or m.t_ns < 0:
        msg = f"marker t_ns must be a non-negative integer (unix ns), got {m.t_ns!r}"
        raise ContractError(msg)
    if not m.label and m.kind != "end":
        msg = f"a {m.kind} marker needs a label"
        raise ContractError(msg)
    if len(m.label) > _MAX_LABEL_CHARS:
        msg = f"marker label is longer than {_MAX_LABEL_CHARS} characters"
        raise ContractError(msg)
    if m.schema_version != MARKER_SCHEMA_VERSION:
        msg = f"marker schema_version {m.schema_version} is not supported (expected {MARKER_SCHEMA_VERSION})"
        raise ContractError(msg)


def marker_to_dict(m: Marker) -> dict[str, Any]:
    """Plain dict of a marker (the JSON object)."""
    return {
        "schema_version": m.schema_version,
        "subject_id": m.subject_id,
        "session_id": m.session_id,
        "t_ns": m.t_ns,
        "kind": m.kind,
        "label": m.label,
        "source": m.source,
    }


def encode_marker(m: Marker) -> bytes:
    """Validate and encode a marker as UTF-8 JSON."""
    validate_marker(m)
    return json.dumps(marker_to_dict(m), separators=(",", ":")).encode()


def marker_from_dict(d: Any) -> Marker:
    """Marker from its JSON object; :class:`ContractError` for anything malformed."""
    if not isinstance(d, dict):
        msg = f"marker must be a JSON object, got {type(d).__name__}"
        raise ContractError(msg)
    missing = [k for k in ("subject_id", "t_ns", "kind") if k not in d]
    if missing:
        msg = f"marker lacks {', '.join(missing)}"
        raise ContractError(msg)
    t = d["t_ns"]
    if isinstance(t, float) and t.is_integer():
        t = int(t)
    m = Marker(
        subject_id=d["subject_id"],
        session_id=d.get("session_id", ""),
        t_ns=t,
        kind=d["kind"],
        label=d.get("label", ""),
        source=d.get("source", ""),
        schema_version=d.get("schema_version", MARKER_SCHEMA_VERSION),
    )
    validate_marker(m)
    return m


def decode_marker(data: bytes | str) -> Marker:
    """Inverse of :func:`encode_marker`; :class:`ContractError` for anything malformed, never another error."""
    try:
        d = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        msg = f"marker is not JSON: {exc}"
        raise ContractError(msg) from exc
    return marker_from_dict(d)


def _sort_key(m: Marker) -> tuple[int, int, str]:
    return (m.t_ns, _KIND_ORDER[m.kind], m.label)


@dataclass(frozen=True)
class ConditionState:
    """Picklable fold state of one subject's markers.

    Attributes
    ----------
    base : tuple of (label, start_ns)
        Segments left open by markers that were dropped from ``markers`` (older than the newest
        :data:`MAX_MARKERS`), innermost last.
    markers : tuple of Marker
        The newest markers, sorted by time.
    """

    base: tuple[tuple[str, int], ...] = ()
    markers: tuple[Marker, ...] = ()


def condition_init() -> ConditionState:
    """Fresh state: no markers, no condition."""
    return ConditionState()


def _apply(stack: list[tuple[str, int]], m: Marker) -> None:
    if m.kind == "start":
        stack.append((m.label, m.t_ns))
    elif m.kind == "end":
        for i in range(len(stack) - 1, -1, -1):
            if not m.label or stack[i][0] == m.label:
                del stack[i]
                break


def condition_step(state: ConditionState, marker: Marker, *, max_markers: int = MAX_MARKERS) -> ConditionState:
    """Fold one marker in (any arrival order; an identical marker twice counts once)."""
    if marker in state.markers:
        return state
    ms = sorted((*state.markers, marker), key=_sort_key)
    base = list(state.base)
    while len(ms) > max_markers:
        _apply(base, ms.pop(0))
    return ConditionState(tuple(base), tuple(ms))


def condition_at(state: ConditionState, t_ns: int) -> str | None:
    """The condition at event time ``t_ns`` (markers at exactly ``t_ns`` count), or None."""
    stack = list(state.base)
    for m in state.markers:
        if m.t_ns > t_ns:
            break
        _apply(stack, m)
    return stack[-1][0] if stack else None


def condition_segments(markers: Iterable[Marker]) -> list[tuple[str, int, int | None]]:
    """Closed and open segments of a marker set, in start order: ``(label, start_ns, end_ns or None)``.

    Follows the same rules as :func:`condition_at` (an ``end`` closes the latest open segment of its label).
    """
    open_: list[tuple[str, int]] = []
    out: list[tuple[str, int, int | None]] = []
    for m in sorted(markers, key=_sort_key):
        if m.kind == "start":
            open_.append((m.label, m.t_ns))
        elif m.kind == "end":
            for i in range(len(open_) - 1, -1, -1):
                if not m.label or open_[i][0] == m.label:
                    label, t0 = open_.pop(i)
                    out.append((label, t0, m.t_ns))
                    break
    out += [(label, t0, None) for label, t0 in open_]
    return sorted(out, key=lambda s: s[1])


def conditions_of(markers: Sequence[Marker], t_ns: Sequence[int]) -> list[str | None]:
    """The condition at each time of ``t_ns`` (any order) from a marker set (offline helper)."""
    st = condition_init()
    for m in markers:
        st = condition_step(st, m, max_markers=max(MAX_MARKERS, len(markers)))
    return [condition_at(st, int(t)) for t in t_ns]


def tag_markers(
    tags_ns: Sequence[int],
    *,
    subject_id: str,
    session_id: str,
    mode: Literal["points", "pairs"] = "points",
    label: str = "tag",
    max_pairs: int = 0,
) -> list[Marker]:
    """Markers from E4 button presses (``tags_*.csv`` times, ns).

    ``mode="points"``: every press is a point marker labelled ``label``. ``mode="pairs"``: presses 1-2,
    3-4, ... open and close segments labelled ``f"{label}{k}"`` (k = 1, 2, ...); at most ``max_pairs``
    pairs when > 0 (later presses become point markers), and a trailing unpaired press is a point.
    In Stress-Predict, presses 1-6 bracket the three stress tasks (Stroop, interview, hyperventilation),
    so ``mode="pairs", max_pairs=3`` gives their segments.
    """
    ts = sorted(int(t) for t in tags_ns)
    out: list[Marker] = []
    n_pairs = len(ts) // 2 if max_pairs <= 0 else min(len(ts) // 2, max_pairs)
    if mode == "pairs":
        for k in range(n_pairs):
            name = f"{label}{k + 1}"
            out.append(Marker(subject_id, session_id, ts[2 * k], "start", name, "e4-tags"))
            out.append(Marker(subject_id, session_id, ts[2 * k + 1], "end", name, "e4-tags"))
        rest = ts[2 * n_pairs :]
    else:
        rest = ts
    out += [Marker(subject_id, session_id, t, "point", label, "e4-tags") for t in rest]
    return out


def parse_marker_text(text: str) -> tuple[MarkerKind, str]:
    """``(kind, label)`` of a marker sent as text (an LSL marker stream's string sample).

    Accepted: ``"start:LABEL"``, ``"end:LABEL"``, ``"point:LABEL"`` (also with ``=`` or a space instead of
    ``:``), ``"end"`` alone, a JSON object ``{"kind": ..., "label": ...}``, or any other text = a point
    marker with that text as its label. :class:`ContractError` for an empty text or an invalid JSON kind.
    """
    t = text.strip()
    if not t:
        msg = "empty marker text"
        raise ContractError(msg)
    if t.startswith("{"):
        try:
            d = json.loads(t)
        except ValueError:
            d = None
        if isinstance(d, dict):
            kind, label = str(d.get("kind", "point")), str(d.get("label", ""))
            if kind not in KINDS:
                msg = f"marker kind {kind!r} is not one of {', '.join(KINDS)}"
                raise ContractError(msg)
            return kind, label  # type: ignore[return-value]
    for kind in KINDS:
        if t == kind == "end":
            return "end", ""
        for sep in (":", "=", " "):
            if t.lower().startswith(kind + sep):
                label = t[len(kind) + 1 :].strip()
                if label or kind == "end":
                    return kind, label  # type: ignore[return-value]
    return "point", t


__all__ = [
    "KINDS",
    "MARKER_SCHEMA_VERSION",
    "MAX_MARKERS",
    "ConditionState",
    "Marker",
    "condition_at",
    "condition_init",
    "condition_segments",
    "condition_step",
    "conditions_of",
    "decode_marker",
    "encode_marker",
    "marker_from_dict",
    "marker_to_dict",
    "parse_marker_text",
    "tag_markers",
    "validate_marker",
]
