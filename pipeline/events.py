"""The emotion event contract (versioned JSON), pure code.

One event is the model's reading of one subject over one multimodal window. Its identity is
``(subject_id, window_end_ns, model_version)``: sinks write idempotently on it, so a window
processed twice (at-least-once delivery, a worker restart) still yields one event.

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
...     model_name="stress_binary", model_version="1")
>>> decode_event(encode_event(ev)) == ev
True
>>> ev.event_id
'S02:60000000000:1'
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.exceptions import ContractError

EVENT_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ModalityStatus:
    """Whether a modality was present in the window, its quality (0..1) and the reasons."""

    present: bool
    quality: float
    reasons: tuple[str, ...] = ()


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
    schema_version: int = EVENT_SCHEMA_VERSION

    @property
    def event_id(self) -> str:
        """Idempotency key: subject, window end and model version."""
        return f"{self.subject_id}:{self.window_end_ns}:{self.model_version}"


def validate_event(ev: EmotionEvent) -> None:
    """Raise ContractError with the reason if an event breaks the contract."""
    if ev.schema_version != EVENT_SCHEMA_VERSION:
        msg = f"unknown event schema_version {ev.schema_version}"
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
    probs = list(ev.probabilities.values())
    if any(not math.isfinite(p) or p < 0 or p > 1 for p in probs) or abs(sum(probs) - 1.0) > 1e-3:
        msg = f"probabilities must be in [0, 1] and sum to 1, got {ev.probabilities}"
        raise ContractError(msg)


def event_to_dict(ev: EmotionEvent) -> dict[str, Any]:
    """Plain-JSON dict of an event (with ``event_id``)."""
    d = asdict(ev)
    d["modalities"] = {m: {**asdict(s), "reasons": list(s.reasons)} for m, s in ev.modalities.items()}
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
            m: ModalityStatus(bool(s["present"]), float(s["quality"]), tuple(s.get("reasons", ())))
            for m, s in d.pop("modalities").items()
        }
        ev = EmotionEvent(modalities=mods, **d)
    except ContractError:
        raise
    except Exception as exc:
        msg = f"malformed event ({type(exc).__name__}: {exc})"
        raise ContractError(msg) from exc
    validate_event(ev)
    return ev
