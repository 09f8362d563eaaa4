"""Wire encodings of :class:`~pipeline.contract.SensorChunk`: compact binary and readable JSON.

Binary
    ``b"EMO1"`` + one format byte (``0x01`` = msgpack) + a msgpack map whose
    ``samples`` / ``timestamps_ns`` are raw little-endian float32 / int64 bytes.
JSON
    A UTF-8 JSON object with ``"schema_version"``; ``samples`` is a list of rows
    (one list per channel), ``timestamps_ns`` a list of ints or null.

Both round-trip exactly: float32 -> Python float is exact and the JSON text of
a float is its shortest round-tripping repr, so the float32 bits survive.

:func:`decode_chunk` detects the encoding from the first bytes, validates the
result with :func:`~pipeline.contract.validate_chunk` and raises
:class:`~pipeline.exceptions.ContractError` for anything malformed, never
another exception type, even for random bytes.

Examples
--------
>>> import numpy as np
>>> from pipeline.contract import SensorChunk
>>> c = SensorChunk("S02", "s1", "e4", "temp", ("temp",), ("degC",), 4.0, 0, 0,
...                 np.array([[34.79, 34.81]], dtype=np.float32))
>>> decode_chunk(encode_binary(c)) == c == decode_chunk(encode_json(c))
True
>>> encode_binary(c)[:5]
b'EMO1\\x01'
"""

from __future__ import annotations

import json
from typing import Any, Literal

import msgpack
import numpy as np

from pipeline.contract import SCHEMA_VERSION, SensorChunk, short_repr, validate_chunk
from pipeline.exceptions import ContractError, DecodeError

MAGIC: bytes = b"EMO1"
FORMAT_MSGPACK: int = 0x01
Encoding = Literal["binary", "json"]

_STR_FIELDS = ("subject_id", "session_id", "device_id", "modality")
_INT_FIELDS = ("t0_ns", "seq", "schema_version")
_REQUIRED = (*_STR_FIELDS, "channels", "units", "fs_hz", *_INT_FIELDS, "samples")


def _header(chunk: SensorChunk) -> dict[str, Any]:
    return {
        "schema_version": int(chunk.schema_version),
        "subject_id": chunk.subject_id,
        "session_id": chunk.session_id,
        "device_id": chunk.device_id,
        "modality": chunk.modality,
        "channels": list(chunk.channels),
        "units": list(chunk.units),
        "fs_hz": None if chunk.fs_hz is None else float(chunk.fs_hz),
        "t0_ns": int(chunk.t0_ns),
        "seq": int(chunk.seq),
        "synthetic": bool(chunk.synthetic),
    }


def encode_binary(chunk: SensorChunk, *, validate: bool = True, max_samples: int = 100_000) -> bytes:
    """Encode a chunk as ``MAGIC + 0x01 + msgpack``.

    Parameters
    ----------
    chunk : SensorChunk
    validate : bool
        Check the chunk first (:func:`validate_chunk`); raises ContractError.
    max_samples : int
        Size limit passed to the validation.
    """
    if validate:
        validate_chunk(chunk, max_samples=max_samples)
    body = _header(chunk)
    body["shape"] = list(chunk.samples.shape)
    body["samples"] = np.ascontiguousarray(chunk.samples, dtype="<f4").tobytes()
    ts = chunk.timestamps_ns
    body["timestamps_ns"] = None if ts is None else np.ascontiguousarray(ts, dtype="<i8").tobytes()
    packed: bytes = msgpack.packb(body, use_bin_type=True)
    return MAGIC + bytes([FORMAT_MSGPACK]) + packed


def encode_json(chunk: SensorChunk, *, validate: bool = True, max_samples: int = 100_000) -> bytes:
    """Encode a chunk as a UTF-8 JSON object (samples as nested lists)."""
    if validate:
        validate_chunk(chunk, max_samples=max_samples)
    body = _header(chunk)
    body["samples"] = chunk.samples.tolist()
    ts = chunk.timestamps_ns
    body["timestamps_ns"] = None if ts is None else ts.tolist()
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")


def encode(chunk: SensorChunk, encoding: Encoding = "binary", **kwargs: Any) -> bytes:
    """Encode with the named encoding (``"binary"`` or ``"json"``)."""
    if encoding == "binary":
        return encode_binary(chunk, **kwargs)
    if encoding == "json":
        return encode_json(chunk, **kwargs)
    msg = f"unknown encoding {encoding!r}; expected 'binary' or 'json'"
    raise ValueError(msg)


def decode_chunk(
    data: bytes,
    *,
    max_samples: int = 100_000,
    fs_range_hz: tuple[float, float] = (0.01, 10_000.0),
) -> SensorChunk:
    """Decode and validate one message (binary or JSON, detected from its first bytes).

    Parameters
    ----------
    data : bytes
        A Kafka message value.
    max_samples, fs_range_hz
        Passed to :func:`validate_chunk`.

    Raises
    ------
    ContractError
        For anything malformed, with the reason (never another exception type).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        msg = f"expected bytes, got {type(data).__name__}"
        raise DecodeError(msg)
    data = bytes(data)
    try:
        chunk = _decode(data, max_samples)
    except ContractError:
        raise
    except Exception as exc:  # the decoder's boundary: hostile input must only ever give ContractError
        msg = f"malformed message ({type(exc).__name__}: {str(exc)[:200]})"
        raise DecodeError(msg) from exc
    validate_chunk(chunk, max_samples=max_samples, fs_range_hz=fs_range_hz)
    return chunk


def _decode(data: bytes, max_samples: int) -> SensorChunk:
    if data.startswith(MAGIC):
        return _decode_binary(data, max_samples)
    if data.lstrip()[:1] == b"{":
        return _decode_json(data, max_samples)
    msg = f"unknown encoding: message starts with {data[:8]!r} (expected {MAGIC!r} or a JSON object)"
    raise DecodeError(msg)


def _fields(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        msg = f"message body must be a map, got {type(body).__name__}"
        raise ContractError(msg)
    version = body.get("schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        msg = f"unknown schema_version {short_repr(version)}; this build reads {SCHEMA_VERSION}"
        raise ContractError(msg)
    missing = [k for k in _REQUIRED if k not in body]
    if missing:
        msg = f"message lacks field(s) {', '.join(missing)}"
        raise ContractError(msg)
    for k in _STR_FIELDS:
        _expect(isinstance(body[k], str), k, "a string", body[k])
    for k in _INT_FIELDS:
        _expect(type(body[k]) is int, k, "an int", body[k])
        if not 0 <= body[k] < 2**63:
            msg = f"{k} out of range: must be an int in [0, 2**63), got {short_repr(body[k])}"
            raise ContractError(msg)
    for k in ("channels", "units"):
        ok = isinstance(body[k], list) and all(isinstance(s, str) for s in body[k])
        _expect(ok, k, "a list of strings", body[k])
    fs = body["fs_hz"]
    _expect(fs is None or type(fs) in (int, float), "fs_hz", "a number or null", fs)
    syn = body.get("synthetic", False)
    _expect(type(syn) is bool, "synthetic", "a bool", syn)
    return body


def _expect(ok: bool, name: str, what: str, value: object) -> None:
    if not ok:
        msg = f"field {name} must be {what}, got {type(value).__name__} {short_repr(value)}"
        raise ContractError(msg)


def _build(body: dict[str, Any], samples: np.ndarray, ts: np.ndarray | None) -> SensorChunk:
    fs = body["fs_hz"]
    return SensorChunk(
        subject_id=body["subject_id"],
        session_id=body["session_id"],
        device_id=body["device_id"],
        modality=body["modality"],
        channels=tuple(body["channels"]),
        units=tuple(body["units"]),
        fs_hz=None if fs is None else float(fs),
        t0_ns=body["t0_ns"],
        seq=body["seq"],
        samples=samples,
        timestamps_ns=ts,
        synthetic=body.get("synthetic", False),
        schema_version=body["schema_version"],
    )


def _decode_binary(data: bytes, max_samples: int) -> SensorChunk:
    if len(data) < len(MAGIC) + 1 or data[len(MAGIC)] != FORMAT_MSGPACK:
        fmt = data[len(MAGIC) : len(MAGIC) + 1]
        msg = f"unknown binary format byte {fmt!r} (expected {FORMAT_MSGPACK:#04x})"
        raise DecodeError(msg)
    body = _fields(msgpack.unpackb(data[len(MAGIC) + 1 :], raw=False, strict_map_key=True))
    shape: Any = body.get("shape")
    ok = isinstance(shape, list) and len(shape) == 2 and all(type(v) is int and v >= 0 for v in shape)
    _expect(ok, "shape", "[channels, n] of ints >= 0", shape)
    rows, n = shape
    if rows * n > max_samples:
        msg = f"oversized chunk: {rows * n} values (channels x samples) > limit {max_samples}"
        raise ContractError(msg)
    raw = body["samples"]
    _expect(isinstance(raw, bytes) and len(raw) == 4 * rows * n, "samples", f"{4 * rows * n} bytes", raw)
    samples = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(rows, n)
    ts_raw = body.get("timestamps_ns")
    ts = None
    if ts_raw is not None:
        _expect(isinstance(ts_raw, bytes) and len(ts_raw) == 8 * n, "timestamps_ns", f"{8 * n} bytes", ts_raw)
        ts = np.frombuffer(ts_raw, dtype="<i8").astype(np.int64)
    return _build(body, samples, ts)


def _reject_constant(name: str) -> None:
    msg = f"non-finite number {name} in JSON"
    raise ContractError(msg)


def _decode_json(data: bytes, max_samples: int) -> SensorChunk:
    body = _fields(json.loads(data.decode("utf-8"), parse_constant=_reject_constant))
    rows = body["samples"]
    ok = isinstance(rows, list) and all(isinstance(r, list) for r in rows)
    _expect(ok, "samples", "a list of lists (one per channel)", rows)
    size = sum(len(r) for r in rows)
    if size > max_samples:
        msg = f"oversized chunk: {size} values (channels x samples) > limit {max_samples}"
        raise ContractError(msg)
    if len({len(r) for r in rows}) > 1:
        msg = f"samples rows differ in length: {sorted({len(r) for r in rows})}"
        raise ContractError(msg)
    for r in rows:
        _expect(all(type(v) in (int, float) for v in r), "samples", "numbers only", r)
    n = len(rows[0]) if rows else 0
    samples = np.array(rows, dtype=np.float64).reshape(len(rows), n)
    with np.errstate(over="ignore"):
        samples32 = samples.astype(np.float32)  # overflow becomes inf; validation rejects it
    ts_list = body.get("timestamps_ns")
    ts = None
    if isinstance(ts_list, list) and all(type(v) is int and -(2**63) <= v < 2**63 for v in ts_list):
        ts = np.array(ts_list, dtype=np.int64).reshape(len(ts_list))
    else:
        _expect(ts_list is None, "timestamps_ns", "a list of int64 or null", ts_list)
    return _build(body, samples32, ts)


__all__ = ["FORMAT_MSGPACK", "MAGIC", "decode_chunk", "encode", "encode_binary", "encode_json"]
