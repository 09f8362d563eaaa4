"""One versioned codec for the streaming states kept in changelog-backed tables (instead of pickle).

Format: one format byte (:data:`FORMAT_VERSION`) + one msgpack value in which

- numpy arrays are ``[dtype, shape, raw little-endian bytes]`` (bitwise round trip, any dtype
  without objects), numpy scalars ``[dtype, bytes]``;
- a dataclass is ``[tag, value, value, ...]``: a *registered, stable type tag* (``"stream/1"``),
  never a module path, then its init fields' values in declaration order (format 2). A class can
  move between modules without breaking a changelog, and renaming a tag is an explicit, visible act.
  Format 1 stored ``[tag, {field name: value}]``; its records are still read (format 2 leaves the
  field names out: they were about 40 % of a stream header, written once per chunk);
- tuples, sets and frozensets keep their type; dicts may have int keys; ints beyond 64 bits are
  kept as text.

Schema evolution: a record with fewer values than the class has fields decodes with the missing
fields' defaults, so a **new field goes at the end and needs a default**. Fields are never reordered
or removed under the same tag (tests/unit/test_statecodec.py checks every registered layout against
``tests/unit/state_layouts.json``): bump the tag instead. A record with more values (or, format 1,
fields) than the class has is refused unless the tag was registered with an ``upgrade`` function,
which gets the field dict (positional extras under ``"_extra"``). An unknown tag or format version
raises :class:`~pipeline.exceptions.StateCodecError`.

States written by the previous format (pickle, first byte ``0x80``) are **read** by
:func:`decode_state` (``allow_pickle=True``, the default), so a worker upgraded in place keeps
its filters, cursors and personal baselines; every state is re-encoded in this format on its next
write, and log compaction then removes the pickles. A pickle that no longer loads (its class was
moved or removed) raises StateCodecError saying so. Pickles whose class layout has changed are
converted by the ``legacy`` hook of the class's registration (see ``pipeline.stream``).

Pure: msgpack and numpy only. Registration of classes defined in ``agents/`` happens there
(``agents/state.py``), lazily by ``"module:qualname"`` so that no import cycle is needed.

Examples
--------
>>> from pipeline.contract import StreamCursor
>>> c = StreamCursor("S02/s/e4/eda", 3, 10**18, 4.0, ("eda",), 4, 16)
>>> data = encode_state(c)
>>> data[0] == FORMAT_VERSION, decode_state(data) == c
(True, True)
"""

from __future__ import annotations

import dataclasses
import importlib
import pickle
from collections.abc import Callable
from typing import Any

import msgpack
import numpy as np

from pipeline.exceptions import StateCodecError

FORMAT_VERSION = 2
#: format versions decode_state reads (1: dataclass fields by name)
READABLE_VERSIONS = (1, 2)
PICKLE_PROTO = 0x80  # first byte of a pickle of protocol >= 2

_EXT_ARRAY, _EXT_SCALAR, _EXT_DATACLASS, _EXT_TUPLE, _EXT_SET, _EXT_FROZENSET, _EXT_BIGINT, _EXT_RECORD = range(1, 9)

Upgrade = Callable[[dict[str, Any]], Any]


@dataclasses.dataclass
class _Entry:
    tag: str
    target: type | str  # the class, or "module:qualname" until first use
    upgrade: Upgrade | None = None  # field dict with unknown fields -> object
    legacy: Callable[[Any], Any] | None = None  # unpickled object of an old layout -> object


_BY_TAG: dict[str, _Entry] = {}
_BY_CLASS: dict[type, _Entry] = {}
_PENDING: list[_Entry] = []


def register_state_type(
    tag: str,
    cls: type | str,
    *,
    upgrade: Upgrade | None = None,
    legacy: Callable[[Any], Any] | None = None,
) -> None:
    """Register a dataclass under a stable ``tag`` (``"<name>/<version>"``).

    Parameters
    ----------
    tag : str
        Written into every record; never reuse a tag for an incompatible layout (bump the version).
    cls : type or str
        The dataclass, or ``"module:qualname"`` to import on first use.
    upgrade : callable, optional
        Builds the object from a record's field dict when the record has fields the class lacks.
    legacy : callable, optional
        Converts an object unpickled from the previous (pickle) format whose layout is older.
    """
    if tag in _BY_TAG and _BY_TAG[tag].target not in (cls, getattr(cls, "__name__", None)):
        old = _BY_TAG[tag].target
        if not (isinstance(cls, type) and isinstance(old, str) and old == f"{cls.__module__}:{cls.__qualname__}"):
            msg = f"state tag {tag!r} is already registered for {old}"
            raise StateCodecError(msg)
    entry = _Entry(tag, cls, upgrade, legacy)
    _BY_TAG[tag] = entry
    if isinstance(cls, type):
        _check_dataclass(cls)
        _BY_CLASS[cls] = entry
    else:
        _PENDING.append(entry)


def register_state(tag: str, **kwargs: Any) -> Callable[[type], type]:
    """Class decorator form of :func:`register_state_type`."""

    def deco(cls: type) -> type:
        register_state_type(tag, cls, **kwargs)
        return cls

    return deco


def registered_types() -> dict[str, type]:
    """Every registered tag and its class (imports the lazily registered ones)."""
    _resolve_pending()
    return {t: e.target for t, e in _BY_TAG.items() if isinstance(e.target, type)}


_FIELDS: dict[type, tuple[str, ...]] = {}


def _init_fields(cls: type) -> tuple[str, ...]:
    """The names of ``cls``'s init fields in declaration order (the positional layout of its records)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.init)
    return names


def layouts() -> dict[str, tuple[str, ...]]:
    """Every registered tag's positional layout: its class's init field names in order."""
    return {t: _init_fields(cls) for t, cls in registered_types().items()}


def _check_dataclass(cls: type) -> None:
    if not dataclasses.is_dataclass(cls):
        msg = f"{cls.__qualname__} is not a dataclass; only dataclasses can be registered as states"
        raise StateCodecError(msg)


def _resolve(entry: _Entry) -> type:
    if isinstance(entry.target, type):
        return entry.target
    module, _, qualname = entry.target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    _check_dataclass(obj)
    entry.target = obj
    _BY_CLASS[obj] = entry
    return obj  # type: ignore[no-any-return]


def _resolve_pending() -> None:
    while _PENDING:
        _resolve(_PENDING.pop())


# ---------------------------------------------------------------- encode


def _default(obj: Any) -> msgpack.ExtType:
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            msg = "object arrays cannot be encoded as state"
            raise StateCodecError(msg)
        arr = np.ascontiguousarray(obj)
        le = arr.dtype.newbyteorder("<")
        body = [le.str, list(arr.shape), arr.astype(le, copy=False).tobytes()]
        return msgpack.ExtType(_EXT_ARRAY, _pack(body))
    if isinstance(obj, np.generic):
        le = obj.dtype.newbyteorder("<")
        return msgpack.ExtType(_EXT_SCALAR, _pack([le.str, np.asarray(obj).astype(le).tobytes()]))
    if isinstance(obj, tuple):
        return msgpack.ExtType(_EXT_TUPLE, _pack(list(obj)))
    if isinstance(obj, frozenset):
        return msgpack.ExtType(_EXT_FROZENSET, _pack(sorted(obj, key=repr)))
    if isinstance(obj, set):
        return msgpack.ExtType(_EXT_SET, _pack(sorted(obj, key=repr)))
    if type(obj) is int:  # beyond 64 bits (msgpack packs the rest natively)
        return msgpack.ExtType(_EXT_BIGINT, str(obj).encode())
    if isinstance(obj, float):  # a float subclass
        return _pack_float(float(obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        entry = _BY_CLASS.get(type(obj))
        if entry is None:
            _resolve_pending()
            entry = _BY_CLASS.get(type(obj))
        if entry is None:
            msg = (
                f"{type(obj).__qualname__} has no state tag: register it with "
                f"pipeline.statecodec.register_state_type('<name>/1', {type(obj).__qualname__})"
            )
            raise StateCodecError(msg)
        return msgpack.ExtType(_EXT_RECORD, _pack([entry.tag, *(getattr(obj, n) for n in _init_fields(type(obj)))]))
    msg = f"cannot encode a {type(obj).__qualname__} as state"
    raise StateCodecError(msg)


def _pack_float(x: float) -> msgpack.ExtType:
    return msgpack.ExtType(_EXT_SCALAR, _pack(["<f8", np.float64(x).tobytes()]))


def _pack(obj: Any) -> bytes:
    return msgpack.packb(obj, default=_default, strict_types=True, use_bin_type=True)  # type: ignore[no-any-return]


def encode_state(obj: Any) -> bytes:
    """Encode a state value (registered dataclasses, arrays, plain data) as bytes.

    Raises
    ------
    StateCodecError
        An unregistered dataclass or an unsupported type is in ``obj``.
    """
    try:
        return bytes((FORMAT_VERSION,)) + _pack(obj)
    except StateCodecError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        msg = f"cannot encode state: {exc}"
        raise StateCodecError(msg) from exc


# ---------------------------------------------------------------- decode


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _EXT_ARRAY:
        dtype, shape, raw = _unpack(data)
        dt = np.dtype(dtype)
        return np.frombuffer(bytearray(raw), dtype=dt).astype(dt.newbyteorder("="), copy=False).reshape(shape)
    if code == _EXT_SCALAR:
        dtype, raw = _unpack(data)
        dt = np.dtype(dtype)
        return np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("="))[0]
    if code == _EXT_TUPLE:
        return tuple(_unpack(data))
    if code == _EXT_SET:
        return set(_unpack(data))
    if code == _EXT_FROZENSET:
        return frozenset(_unpack(data))
    if code == _EXT_BIGINT:
        return int(data.decode())
    if code == _EXT_RECORD:
        tag, *values = _unpack(data)
        return _build_positional(tag, values)
    if code == _EXT_DATACLASS:  # format 1
        tag, fields = _unpack(data)
        return _build(tag, fields)
    msg = f"unknown extension type {code} in state record"
    raise StateCodecError(msg)


def _entry_of(tag: str) -> _Entry:
    entry = _BY_TAG.get(tag)
    if entry is None:
        _resolve_pending()
        entry = _BY_TAG.get(tag)
    if entry is None:
        known = ", ".join(sorted(_BY_TAG))
        msg = f"unknown state type tag {tag!r} (known: {known}); written by a newer emopipe?"
        raise StateCodecError(msg)
    return entry


def _build_positional(tag: str, values: list[Any]) -> Any:
    entry = _entry_of(tag)
    cls = _resolve(entry)
    names = _init_fields(cls)
    if len(values) > len(names):
        if entry.upgrade is None:
            msg = (
                f"state {tag!r} has {len(values)} fields, {cls.__qualname__} has {len(names)}: "
                "written by a newer emopipe, or a field was removed without bumping the tag"
            )
            raise StateCodecError(msg)
        return entry.upgrade({**dict(zip(names, values, strict=False)), "_extra": values[len(names) :]})
    try:
        return cls(*values)
    except TypeError as exc:  # a required field missing in an old record
        msg = f"state {tag!r} cannot build {cls.__qualname__}: {exc}"
        raise StateCodecError(msg) from exc


def _build(tag: str, fields: dict[str, Any]) -> Any:
    entry = _entry_of(tag)
    cls = _resolve(entry)
    names = set(_init_fields(cls))
    extra = set(fields) - names
    if extra:
        if entry.upgrade is None:
            msg = f"state {tag!r} has fields {sorted(extra)} that {cls.__qualname__} lacks; register an upgrade"
            raise StateCodecError(msg)
        return entry.upgrade(fields)
    try:
        return cls(**fields)
    except TypeError as exc:  # a required field missing in an old record
        msg = f"state {tag!r} cannot build {cls.__qualname__}: {exc}"
        raise StateCodecError(msg) from exc


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False, use_list=True)


def decode_state(data: bytes, *, allow_pickle: bool = True) -> Any:
    """Decode bytes written by :func:`encode_state` (or by the previous pickle format).

    Parameters
    ----------
    data : bytes
    allow_pickle : bool
        Read records of the previous format (pickle, first byte 0x80). Only for our own
        changelogs: unpickling runs code named by the record.

    Raises
    ------
    StateCodecError
        Empty record, unknown format version or type tag, malformed bytes, or a pickle that is
        refused (``allow_pickle=False``) or no longer loads.
    """
    if not data:
        msg = "empty state record"
        raise StateCodecError(msg)
    head = data[0]
    if head == PICKLE_PROTO:
        if not allow_pickle:
            msg = "state record is a pickle (emopipe before the state codec); refused (allow_pickle=False)"
            raise StateCodecError(msg)
        return _legacy(data)
    if head not in READABLE_VERSIONS:
        versions = ", ".join(map(str, READABLE_VERSIONS))
        msg = f"unknown state format version {head} (this emopipe reads {versions} and pickle)"
        raise StateCodecError(msg)
    try:
        return _unpack(data[1:])
    except StateCodecError:
        raise
    except Exception as exc:  # msgpack raises several types for corrupt input
        msg = f"malformed state record: {type(exc).__name__}: {exc}"
        raise StateCodecError(msg) from exc


def _legacy(data: bytes) -> Any:
    try:
        obj = pickle.loads(data)  # noqa: S301 - our own changelog, the previous format
    except Exception as exc:
        msg = (
            f"state record in the previous (pickle) format no longer loads ({type(exc).__name__}: {exc}); "
            "its class moved or changed: reset this table (delete its changelog topic) to start the streams afresh"
        )
        raise StateCodecError(msg) from exc
    entry = _BY_CLASS.get(type(obj))
    if entry is None:
        _resolve_pending()
        entry = _BY_CLASS.get(type(obj))
    if entry is not None and entry.legacy is not None:
        return entry.legacy(obj)
    return obj


#: the states of the live stages (pipeline/ classes; agents/ registers its own in agents/state.py)
for _tag, _target in {
    "filter-config/1": "pipeline.filters:FilterConfig",
    "filter/1": "pipeline.filters:FilterState",
    "stream-config/1": "pipeline.stream:StreamConfig",
    "stream/1": "pipeline.stream:StreamState",
    "stream-segment/1": "pipeline.stream:Segment",
    "stream-header/1": "pipeline.stream:StreamHeader",
    "window/1": "pipeline.stream:Window",
    "cursor/1": "pipeline.contract:StreamCursor",
    "reorder/1": "pipeline.reorder:ReorderState",
    "ingest-stream/1": "pipeline.steps:IngestStreamState",
    "assembler/1": "pipeline.assembly:AssemblerState",
    "baseline-config/1": "pipeline.baseline:BaselineConfig",
    "baseline/1": "pipeline.baseline:BaselineState",
    "head-state/1": "pipeline.heads:HeadState",
    "head-result/1": "pipeline.heads:HeadResult",
    "modality-status/1": "pipeline.events:ModalityStatus",
    "fusion/1": "pipeline.steps:FusionState",
    "condition/1": "pipeline.markers:ConditionState",
    "marker/1": "pipeline.markers:Marker",
}.items():
    register_state_type(_tag, _target)


def _legacy_subject(obj: Any) -> Any:
    from pipeline.steps import subject_state_from_legacy

    return subject_state_from_legacy(obj)


# subject/1 was the single-model classify state (before heads); subject/2 holds one state per head
register_state_type("subject/2", "pipeline.steps:SubjectState", legacy=_legacy_subject)


def _legacy_stream(obj: Any) -> Any:
    from pipeline.stream import stream_state_from_legacy

    return stream_state_from_legacy(obj)


_BY_TAG["stream/1"].legacy = _legacy_stream
