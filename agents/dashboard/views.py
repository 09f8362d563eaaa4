"""Pure parts of the dashboard server: input validation, event and metrics views, SSE framing.

Nothing here touches the network: the server (``agents/dashboard/app.py``) fetches, these functions
shape what the page draws, and unit tests check them on hand-built inputs (v1 and v2 events,
Prometheus text).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.exceptions import AgentError

#: subject ids the dashboard accepts in a URL (the sensor contract allows more, but not in a path)
SUBJECT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")
#: how many recent events the subject view asks for, at most
MAX_COUNT = 2000
DEFAULT_COUNT = 300


class BadRequest(AgentError):
    """A request the dashboard refuses with a 4xx and this message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def validate_subject(subject: str) -> str:
    """The subject id if it is well formed, else BadRequest (400)."""
    if not SUBJECT_RE.fullmatch(subject):
        shown = subject[:40] + ("..." if len(subject) > 40 else "")
        msg = f"malformed subject id {shown!r}: expected letters, digits and _ . : @ - (at most 128)"
        raise BadRequest(msg)
    return subject


def parse_count(query: Mapping[str, str], *, default: int = DEFAULT_COUNT, maximum: int = MAX_COUNT) -> int:
    """The ``count`` query parameter (1..maximum); BadRequest for anything else or unknown parameters."""
    unknown = sorted(set(query) - {"count"})
    if unknown:
        msg = f"unknown query parameter(s) {', '.join(repr(u[:40]) for u in unknown)}; only 'count' is accepted"
        raise BadRequest(msg)
    text = query.get("count")
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        msg = f"count must be an integer from 1 to {maximum}, got {text[:40]!r}"
        raise BadRequest(msg)
    return int(text)


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x) if math.isfinite(x) else None


def _str_or_none(x: Any) -> str | None:
    return x if isinstance(x, str) else None


def _probs(x: Any) -> dict[str, float]:
    if not isinstance(x, dict):
        return {}
    return {str(k): v for k, v in ((k, _num(v)) for k, v in x.items()) if v is not None}


def event_view(d: Mapping[str, Any], *, received_ms: int | None = None) -> dict[str, Any] | None:
    """What the page draws of one event (schema v1, or v2 with its extra fields); None if unusable.

    v1 events have no ``kind`` (they are the fused reading), no ``heads`` and maybe no
    arousal/valence; v2 fused events add ``heads`` (each head's label, probabilities, weight,
    quality), ``arousal``/``valence`` and ``condition``. Head events (``kind == "head"``) are
    marked so the page does not take them for the subject's fused state.

    Parameters
    ----------
    d
        The event's JSON object as written to Redis.
    received_ms
        Wall-clock ms when this server received it, used for "time since last event" when the
        event has no ``redis_write_ns`` stamp.
    """
    subject = d.get("subject_id")
    end_ns = d.get("window_end_ns")
    label = d.get("label")
    if not isinstance(subject, str) or not subject or not isinstance(end_ns, int) or not isinstance(label, str):
        return None
    mods_in = d.get("modalities") if isinstance(d.get("modalities"), dict) else {}
    modalities = {}
    for name, st in mods_in.items():
        if not isinstance(st, dict):
            continue
        reasons = st.get("reasons") if isinstance(st.get("reasons"), list) else []
        modalities[str(name)] = {
            "present": bool(st.get("present")),
            "quality": _num(st.get("quality")),
            "reasons": [str(r) for r in reasons],
            "weight": _num(st.get("weight")),
        }
    heads = {}
    heads_in = d.get("heads") if isinstance(d.get("heads"), dict) else {}
    for name, h in heads_in.items():
        if not isinstance(h, dict):
            continue
        heads[str(name)] = {
            "model": f"{h.get('model_name', name)}@{h.get('model_version', '?')}",
            "label": _str_or_none(h.get("label")),
            "probabilities": _probs(h.get("probabilities")),
            "arousal": _num(h.get("arousal")),
            "valence": _num(h.get("valence")),
            "weight": _num(h.get("weight")),
            "quality": _num(h.get("quality")),
            "modalities": [str(m) for m in h.get("modalities", []) if isinstance(m, str)],
            "synthetic": bool(h.get("synthetic", False)),
        }
    stamps_in = d.get("latency_ns") if isinstance(d.get("latency_ns"), dict) else {}
    stamps = {str(k): v for k, v in stamps_in.items() if isinstance(v, int) and not isinstance(v, bool)}
    written_ms = stamps.get("redis_write_ns", stamps.get("published_ns"))
    kind = d.get("kind")
    return {
        "subject_id": subject,
        "session_id": _str_or_none(d.get("session_id")) or "",
        "window_start_ns": d.get("window_start_ns") if isinstance(d.get("window_start_ns"), int) else None,
        "window_end_ns": end_ns,
        "label": label,
        "probabilities": _probs(d.get("probabilities")),
        "arousal": _num(d.get("arousal")),
        "valence": _num(d.get("valence")),
        "modalities": modalities,
        "heads": heads,
        "kind": kind if kind in {"fused", "head"} else "fused",
        "head": _str_or_none(d.get("head")),
        "condition": _str_or_none(d.get("condition")),
        "model": f"{d.get('model_name', '?')}@{d.get('model_version', '?')}",
        "schema_version": d.get("schema_version") if isinstance(d.get("schema_version"), int) else None,
        "synthetic": bool(d.get("synthetic", False)),
        "latency_ms": latency_breakdown_ms(stamps),
        "written_ms": written_ms // 1_000_000 if written_ms is not None else received_ms,
    }


#: latency stamps in pipeline order (pipeline/events.py)
STAMPS: tuple[str, ...] = ("ingest_ns", "window_close_ns", "inference_done_ns", "published_ns", "redis_write_ns")


def latency_breakdown_ms(stamps: Mapping[str, int]) -> dict[str, float]:
    """Steps between consecutive latency stamps and ``total`` (first to last present stamp), in ms."""
    present = [(s, stamps[s]) for s in STAMPS if s in stamps]
    out = {f"{a[:-3]}->{b[:-3]}": round((tb - ta) / 1e6, 2) for (a, ta), (b, tb) in itertools.pairwise(present)}
    if len(present) >= 2:
        out["total"] = round((present[-1][1] - present[0][1]) / 1e6, 2)
    return out


# --- Prometheus text ---------------------------------------------------------------------------------

_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


@dataclass(frozen=True)
class Sample:
    """One Prometheus sample."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    value: float = 0.0


def _unescape(v: str) -> str:
    return v.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def parse_prometheus(text: str) -> list[Sample]:
    """Samples of a Prometheus text exposition (comments skipped); ValueError on a malformed line."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        if m is None:
            msg = f"line {n}: not a Prometheus sample: {line[:80]!r}"
            raise ValueError(msg)
        name, label_text, value_text = m.groups()
        labels: dict[str, str] = {}
        if label_text:
            pos = 0
            while pos < len(label_text):
                lm = _LABEL_RE.match(label_text, pos)
                if lm is None or lm.end() == pos:
                    msg = f"line {n}: malformed labels {label_text[:80]!r}"
                    raise ValueError(msg)
                labels[lm.group(1)] = _unescape(lm.group(2))
                pos = lm.end()
        try:
            value = float(value_text)
        except ValueError:
            msg = f"line {n}: value {value_text[:40]!r} is not a number"
            raise ValueError(msg) from None
        out.append(Sample(name, labels, value))
    return out


def stage_of_topic(topic: str, prefix: str) -> str | None:
    """The stage that consumes a topic (``<prefix>.raw.*`` -> ingest, ...), None for others."""
    if not topic.startswith(prefix + "."):
        return None
    rest = topic[len(prefix) + 1 :]
    if rest.startswith("raw."):
        return "ingest"
    return {"windows": "classify", "events": "emit", "previews": "preview"}.get(rest)


@dataclass
class WorkerReading:
    """What one fetch of a worker's endpoints returned (None: the endpoint did not answer usably)."""

    url: str
    time_s: float
    health: dict[str, Any] | None = None
    status: dict[str, Any] | None = None
    metrics: list[Sample] | None = None
    error: str | None = None
    reachable: bool = False


def _totals(samples: list[Sample], name: str, key: str = "stage") -> dict[str, float]:
    out: dict[str, float] = {}
    for s in samples:
        if s.name == name and key in s.labels:
            out[s.labels[key]] = out.get(s.labels[key], 0.0) + s.value
    return out


def pipeline_view(
    readings: list[WorkerReading], previous: Mapping[str, WorkerReading], *, prefix: str
) -> dict[str, Any]:
    """The pipeline view from the latest reading of each worker (and the one before, for rates).

    ``available`` is False when no worker answered ``/metrics`` with emopipe metrics: the page then
    says "worker metrics unavailable" (lag is never computed a second way). Rates are per second
    from the counter increase since the previous reading of the same worker (a counter that went
    down, a restarted worker, counts from zero).
    """
    workers = []
    stages: dict[str, dict[str, float]] = {}
    dl_reasons: dict[str, float] = {}
    last_dl: list[dict[str, Any]] = []
    dl_total = 0.0
    available = False

    def add(stage: str, key: str, value: float) -> None:
        stages.setdefault(stage, {})
        stages[stage][key] = stages[stage].get(key, 0.0) + value

    for r in readings:
        alive = r.health is not None and r.health.get("status") == "ok"
        info = (r.health or {}) | (r.status or {})
        workers.append(
            {
                "url": r.url,
                "alive": alive,
                "reachable": r.reachable or alive,
                "worker": str(info.get("worker", "")),
                "stages": [str(s) for s in info.get("stages", []) if isinstance(s, str)],
                "uptime_s": _num(info.get("uptime_s")),
                "metrics": r.metrics is not None,
                "error": r.error,
            }
        )
        if r.metrics is None or not any(s.name.startswith("emopipe_") for s in r.metrics):
            continue
        available = True
        prev = previous.get(r.url)
        dt = r.time_s - prev.time_s if prev is not None and prev.metrics is not None else 0.0
        for metric, key in (
            ("emopipe_stage_messages_total", "messages_total"),
            ("emopipe_stage_outputs_total", "outputs_total"),
            ("emopipe_stage_errors_total", "errors_total"),
        ):
            now = _totals(r.metrics, metric)
            before = _totals(prev.metrics, metric) if dt > 0 and prev is not None and prev.metrics is not None else {}
            for stage, v in now.items():
                add(stage, key, v)
                if dt > 0:
                    b = before.get(stage, 0.0)
                    add(stage, key.replace("_total", "_per_s"), (v - b if v >= b else v) / dt)
        for s in r.metrics:
            if s.name == "emopipe_consumer_lag_messages" and "topic" in s.labels:
                stage = stage_of_topic(s.labels["topic"], prefix)
                if stage is not None:
                    add(stage, "lag", s.value)
            elif s.name == "emopipe_dead_letters_total":
                reason = s.labels.get("reason", "?")
                dl_reasons[reason] = dl_reasons.get(reason, 0.0) + s.value
                dl_total += s.value
        if r.status and isinstance(r.status.get("last_dead_letters"), list):
            last_dl += [x for x in r.status["last_dead_letters"] if isinstance(x, dict)]
    last_dl.sort(key=lambda x: x.get("time_ms", 0) if isinstance(x.get("time_ms"), int) else 0, reverse=True)
    return {
        "available": available,
        "workers": workers,
        "stages": {k: {kk: round(vv, 2) for kk, vv in v.items()} for k, v in sorted(stages.items())},
        "dead_letters_total": int(dl_total),
        "dead_letter_reasons": {k: int(v) for k, v in sorted(dl_reasons.items())},
        "last_dead_letters": [
            {k: x.get(k) for k in ("stage", "reason", "topic", "partition", "offset", "time_ms")} for x in last_dl[:10]
        ],
    }


# --- server-sent events ------------------------------------------------------------------------------


def sse_frame(event: str, data: Any) -> str:
    """One server-sent-events frame: ``event: <event>`` and the data as one line of JSON."""
    if not re.fullmatch(r"[a-z_]+", event):
        msg = f"SSE event names are lower-case words, got {event!r}"
        raise ValueError(msg)
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def preview_view(d: Mapping[str, Any]) -> dict[str, Any] | None:
    """A window preview (pipeline/preview.py JSON) as the page reads it; None if it is not one."""
    if not isinstance(d.get("subject_id"), str) or not isinstance(d.get("modality"), str):
        return None
    channels = d.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, dict) and isinstance(c.get("y"), str) for c in channels):
        return None
    return dict(d)
