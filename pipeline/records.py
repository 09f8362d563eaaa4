"""Window records passed between the window stage and the classify stage (msgpack, exact).

A record carries one modality window of one subject with everything the later stages need:
event-time bounds, the causally filtered samples (float64, bit-exact, used by the assembly's
motion check and raw-signal models), features, quality, and the wall-clock time its last chunk was
read (a latency stamp). Floats travel as IEEE doubles, so a decoded window equals the original bit
for bit and the live path computes exactly what the offline path computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np

from pipeline.exceptions import ContractError
from pipeline.stream import Window

RECORD_VERSION = 1
_MAGIC = b"EMW1"


@dataclass(frozen=True)
class WindowRecord:
    """One window of one subject's stream, with context."""

    subject_id: str
    session_id: str
    window: Window
    ingest_ns: int
    synthetic: bool = False


def _arr(a: Any) -> dict[str, Any] | None:
    if a is None:
        return None
    a = np.ascontiguousarray(a, dtype="<f8")
    return {"shape": list(a.shape), "data": a.tobytes()}


def _unarr(d: dict[str, Any] | None) -> Any:
    if d is None:
        return None
    return np.frombuffer(d["data"], dtype="<f8").reshape(d["shape"]).astype(np.float64)


def encode_window_record(rec: WindowRecord) -> bytes:
    """Bytes of a window record (magic + msgpack)."""
    w = rec.window
    body = {
        "v": RECORD_VERSION,
        "subject_id": rec.subject_id,
        "session_id": rec.session_id,
        "ingest_ns": int(rec.ingest_ns),
        "synthetic": bool(rec.synthetic),
        "modality": w.modality,
        "start_ns": int(w.start_ns),
        "end_ns": int(w.end_ns),
        "fs_hz": float(w.fs_hz),
        "channels": list(w.channels),
        "samples": _arr(w.samples),
        "gap_fraction": float(w.gap_fraction),
        "quality": float(w.quality),
        "quality_reasons": list(w.quality_reasons),
        "features": {k: float(v) for k, v in w.features.items()},
        "feature_version": w.feature_version,
        "raw": _arr(w.raw),
    }
    return _MAGIC + msgpack.packb(body, use_bin_type=True)


def decode_window_record(data: bytes) -> WindowRecord:
    """Inverse of :func:`encode_window_record`; ContractError for anything malformed."""
    if not data.startswith(_MAGIC):
        msg = f"not a window record: starts with {data[:4]!r}"
        raise ContractError(msg)
    try:
        b = msgpack.unpackb(data[len(_MAGIC) :], raw=False)
        if b["v"] != RECORD_VERSION:
            msg = f"unknown window record version {b['v']}"
            raise ContractError(msg)
        window = Window(
            modality=b["modality"],
            start_ns=int(b["start_ns"]),
            end_ns=int(b["end_ns"]),
            fs_hz=float(b["fs_hz"]),
            channels=tuple(b["channels"]),
            samples=_unarr(b["samples"]),
            gap_fraction=float(b["gap_fraction"]),
            quality=float(b["quality"]),
            quality_reasons=tuple(b["quality_reasons"]),
            features=dict(b["features"]),
            feature_version=b["feature_version"],
            raw=_unarr(b["raw"]),
        )
        return WindowRecord(b["subject_id"], b["session_id"], window, int(b["ingest_ns"]), bool(b["synthetic"]))
    except ContractError:
        raise
    except Exception as exc:
        msg = f"malformed window record ({type(exc).__name__}: {exc})"
        raise ContractError(msg) from exc
