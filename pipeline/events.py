"""The emotion event contract (versioned JSON), pure code.

Schema 2 (current). Per subject and hop (window end) the classify stage publishes one **fused**
event (``kind="fused"``, ``model_name="fusion"``) and one **head** event per head that read the
window (``kind="head"``, ``head`` = the head's card name). A fused event's ``label`` and
``probabilities`` are over the shared affect labels of :mod:`pipeline.fusion`, with ``arousal`` and
``valence`` in [-1, 1]; ``heads`` says which heads contributed, with their weight (summing to 1),
quality, own probabilities and circumplex reading. A head event carries the head's own classes and
``heads`` with just itself. ``modalities`` gives each modality's presence, quality, reasons and weight
(its share of the fused result). ``condition`` is the subject's marked condition, if any.

An event's identity is ``(subject_id, window_end_ns, model_name@model_version)``: sinks write
idempotently on it, so a window processed twice (at-least-once delivery, a worker restart) still
yields one event per head and one fused event. Schema 1 events (one model per event, identity
``subject:window_end:model_version``) still decode: they come back with ``schema_version=1``,
``kind="fused"`` and no ``heads``.

Latency stamps are wall-clock ns since the epoch taken by the worker at each step; they measure
the pipeline, they are not event time:

``ingest_ns``      the window's last chunk was read from Kafka
``window_close_ns``  the multimodal window was assembled (all modalities in or grace passed)
``inference_done_ns``  the classifier returned
``published_ns``   the event was handed to the sinks

Examples
--------
>>> ev = EmotionEvent(subject_id="S02", session_id="s1", window_start_ns=0, window_end_ns=60_000_000_000,
...     label="stress", probabilities={"non_stress": 0.2, "stress": 0.8}, modalities={},
...     model_name="stress_binary", model_version="1", kind="head", head="stress_binary")
>>> decode_event(encode_event(ev)) == ev
True
>>> ev.event_id
'S02:60000000000:stress_binary@1'
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.exceptions import ContractError

EVENT_SCHEMA_VERSION = 2
#: schema versions :func:`decode_event` reads
READABLE_SCHEMA_VERSIONS = (1, 2)
EVENT_KINDS = ("fused", "head")


@dataclass(frozen=True)
class ModalityStatus:
    """Whether a modality was present in the window, its quality (0..1), the reasons and its weight
    (share of the event's result, 0..1; 0 when no head read it)."""

    present: bool
    quality: float
    reasons: tuple[str, ...] = ()
    weight: float = 0.0


@dataclass(frozen=True)
class HeadReading:
    """One head's contribution to an event."""

    model_name: str
    model_version: str
    label: str
    probabilities: dict[str, float]
    arousal: float
    valence: float
    weight: float
    quality: float
    modalities: tuple[str, ...]
    synthetic: bool = False


@dataclass(frozen=True)
class EmotionEvent:
    """One emotion event (see the module docstring for the field semantics)."""

    subject_id: str
    session_id: str
    window_start_ns: int
    window_end_ns: int
    label: str
    probabilities: dict[str, float]
    modalities: dict[str, ModalityStatus]
    model_name: str
    model_version: str
    arousal: float | None = None
    valence: float | None = None
    latency_ns: dict[str, int] = field(default_factory=dict)
    synthetic: bool = False
    kind: str = "fused"
    head: str | None = None
    heads: dict[str, HeadReading] = field(default_factory=dict)
    condition: str | None = None
    confidence: float | None = None
    schema_version: int = EVENT_SCHEMA_VERSION

    @property
    def event_id(self) -> str:
        """Idempotency key: subject, window end and model (schema 1: subject, window end, model version)."""
        if self.schema_version == 1:
            return f"{self.subject_id}:{self.window_end_ns}:{self.model_version}"
        return f"{self.subject_id}:{self.window_end_ns}:{self.model_name}@{self.model_version}"


def validate_event(ev: EmotionEvent) -> None:
    """Raise ContractError with the reason if an event breaks the contract."""
    if ev.schema_version not in READABLE_SCHEMA_VERSIONS:
        msg = f"unknown event schema_version {ev.schema_version}"
        raise ContractError(msg)
    if ev.kind not in EVENT_KINDS or (ev.kind == "head") != (ev.head is not None):
        msg = f"kind must be one of {EVENT_KINDS}, with a head name exactly for head events: {ev.kind!r}, {ev.head!r}"
        raise ContractError(msg)
    if not ev.subject_id or not ev.model_version or not ev.model_name:
        msg = "subject_id, model_name and model_version must be non-empty"
        raise ContractError(msg)
    if ev.window_end_ns <= ev.window_start_ns:
        msg = f"window_end_ns {ev.window_end_ns} must be after window_start_ns {ev.window_start_ns}"
        raise ContractError(msg)
    if ev.label not in ev.probabilities:
        msg = f"label {ev.label!r} is not one of the classes {sorted(ev.probabilities)}"
        raise ContractError(msg)
    _check_probabilities(ev.probabilities, "probabilities")
    for name, value in (("arousal", ev.arousal), ("valence", ev.valence)):
        if value is not None and not (math.isfinite(value) and -1.0 <= value <= 1.0):
            msg = f"{name} must be in [-1, 1], got {value}"
            raise ContractError(msg)
    for h, r in ev.heads.items():
        if r.label not in r.probabilities:
            msg = f"head {h}: label {r.label!r} is not one of its classes {sorted(r.probabilities)}"
            raise ContractError(msg)
        _check_probabilities(r.probabilities, f"head {h} probabilities")
    if ev.heads and ev.kind == "fused" and abs(sum(r.weight for r in ev.heads.values()) - 1.0) > 1e-3:
        msg = f"head weights must sum to 1, got {[r.weight for r in ev.heads.values()]}"
        raise ContractError(msg)


def _check_probabilities(probabilities: dict[str, float], what: str) -> None:
    probs = list(probabilities.values())
    if any(not math.isfinite(p) or p < 0 or p > 1 for p in probs) or abs(sum(probs) - 1.0) > 1e-3:
        msg = f"{what} must be in [0, 1] and sum to 1, got {probabilities}"
        raise ContractError(msg)


def event_to_dict(ev: EmotionEvent) -> dict[str, Any]:
    """Plain-JSON dict of an event (with ``event_id``)."""
    d = asdict(ev)
    d["modalities"] = {m: {**asdict(s), "reasons": list(s.reasons)} for m, s in ev.modalities.items()}
    d["heads"] = {h: {**asdict(r), "modalities": list(r.modalities)} for h, r in ev.heads.items()}
    d["event_id"] = ev.event_id
    return d


def encode_event(ev: EmotionEvent) -> bytes:
    """UTF-8 JSON of a validated event."""
    validate_event(ev)
    return json.dumps(event_to_dict(ev), sort_keys=True, separators=(",", ":")).encode()


def decode_event(data: bytes | str) -> EmotionEvent:
    """Parse and validate an event; ContractError for anything malformed."""
    try:
        d = json.loads(data)
        d.pop("event_id", None)
        mods = {
            m: ModalityStatus(
                bool(s["present"]), float(s["quality"]), tuple(s.get("reasons", ())), float(s.get("weight", 0.0))
            )
            for m, s in d.pop("modalities").items()
        }
        heads = {h: HeadReading(**{**r, "modalities": tuple(r["modalities"])}) for h, r in d.pop("heads", {}).items()}
        ev = EmotionEvent(modalities=mods, heads=heads, **d)
    except ContractError:
        raise
    except Exception as exc:
        msg = f"malformed event ({type(exc).__name__}: {exc})"
        raise ContractError(msg) from exc
    validate_event(ev)
    return ev
