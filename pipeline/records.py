"""Window records passed between the ingest stage (which windows) and the classify stage (msgpack, exact).

A record carries one modality window of one subject with what the heads need: event-time bounds,
features, quality, the ACC motion factor (computed in the ingest stage from the ACC samples, so that
ACC samples need not travel), the wall-clock time its last chunk was read (a latency stamp), and the
filtered samples only for modalities whose heads read frames or raw signal (the stream plan's
``keep_samples``; as float32, the heads' input precision). Features travel as IEEE doubles, in the
order of :func:`pipeline.features.feature_names` when their keys are exactly those (no key strings on
the wire), else as a map; a decoded record equals the original bit for bit, so the live path computes
exactly what the offline path computes.

Format 2 (``EMW2``) is written; format 1 (``EMW1``: samples always, as float64) is still read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np

from pipeline.exceptions import ContractError, SignalError
from pipeline.features import feature_names
from pipeline.stream import Window

RECORD_VERSION = 2
_MAGIC = b"EMW2"
_MAGIC_V1 = b"EMW1"


@dataclass(frozen=True)
class WindowRecord:
    """One window of one subject's stream, with context.

    ``motion`` is the motion factor of an ACC window ``(score 0..1, reasons)``
    (:func:`pipeline.quality.motion_penalty`), None for other modalities.
    """

    subject_id: str
    session_id: str
    window: Window
    ingest_ns: int
    synthetic: bool = False
    motion: tuple[float, tuple[str, ...]] | None = None


def _arr(a: Any, dtype: str) -> dict[str, Any] | None:
    if a is None:
        return None
    a = np.ascontiguousarray(a, dtype=dtype)
    return {"shape": list(a.shape), "data": a.tobytes()}


def _unarr(d: dict[str, Any] | None, dtype: str) -> Any:
    if d is None:
        return None
    return np.frombuffer(d["data"], dtype=dtype).reshape(d["shape"]).astype(np.float64)


def _feature_order(w: Window) -> tuple[str, ...] | None:
    try:
        names = feature_names(w.modality, channels=w.channels)
    except (SignalError, KeyError, ValueError):
        return None
    return names if tuple(w.features) == names else None


def encode_window_record(rec: WindowRecord) -> bytes:
    """Bytes of a window record (magic + msgpack). Samples are written as float32 (empty: omitted)."""
    w = rec.window
    order = _feature_order(w)
    feats: Any = (
        np.asarray([w.features[k] for k in order], dtype="<f8").tobytes()
        if order is not None
        else {k: float(v) for k, v in w.features.items()}
    )
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
        "samples": _arr(w.samples, "<f4") if w.samples.size else None,
        "gap_fraction": float(w.gap_fraction),
        "quality": float(w.quality),
        "quality_reasons": list(w.quality_reasons),
        "features": feats,
        "feature_version": w.feature_version,
        "motion": None if rec.motion is None else [float(rec.motion[0]), list(rec.motion[1])],
    }
    packed: bytes = msgpack.packb(body, use_bin_type=True)
    return _MAGIC + packed


def decode_window_record(data: bytes) -> WindowRecord:
    """Inverse of :func:`encode_window_record` (also reads format 1); ContractError for anything malformed."""
    if data.startswith(_MAGIC_V1):
        return _decode(data[len(_MAGIC_V1) :], 1)
    if not data.startswith(_MAGIC):
        msg = f"not a window record: starts with {data[:4]!r}"
        raise ContractError(msg)
    return _decode(data[len(_MAGIC) :], RECORD_VERSION)


def _decode(payload: bytes, version: int) -> WindowRecord:
    try:
        b = msgpack.unpackb(payload, raw=False)
        if b["v"] != version:
            msg = f"window record says version {b['v']}, its magic says {version}"
            raise ContractError(msg)
        channels = tuple(b["channels"])
        sample_dtype = "<f8" if version == 1 else "<f4"
        samples = _unarr(b["samples"], sample_dtype)
        if samples is None:
            samples = np.zeros((len(channels) or 1, 0))
        feats = b["features"]
        if isinstance(feats, bytes):
            names = feature_names(b["modality"], channels=channels)
            values = np.frombuffer(feats, dtype="<f8")
            if values.shape != (len(names),):
                msg = f"{len(values)} feature values for {len(names)} {b['modality']} features"
                raise ContractError(msg)
            feats = {k: float(v) for k, v in zip(names, values, strict=True)}
        window = Window(
            modality=b["modality"],
            start_ns=int(b["start_ns"]),
            end_ns=int(b["end_ns"]),
            fs_hz=float(b["fs_hz"]),
            channels=channels,
            samples=samples,
            gap_fraction=float(b["gap_fraction"]),
            quality=float(b["quality"]),
            quality_reasons=tuple(b["quality_reasons"]),
            features=dict(feats),
            feature_version=b["feature_version"],
        )
        motion = b.get("motion")
        mot = None if motion is None else (float(motion[0]), tuple(motion[1]))
        return WindowRecord(b["subject_id"], b["session_id"], window, int(b["ingest_ns"]), bool(b["synthetic"]), mot)
    except ContractError:
        raise
    except Exception as exc:
        msg = f"malformed window record ({type(exc).__name__}: {exc})"
        raise ContractError(msg) from exc
