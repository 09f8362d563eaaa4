"""The sensor-chunk contract: what every producer publishes and every stage consumes.

A :class:`SensorChunk` is a block of consecutive samples of one *stream*, a stream
being identified by ``(subject_id, session_id, device_id, modality)``.  Chunks of a
stream carry a sequence number ``seq`` (0, 1, 2, ...) so consumers can detect loss,
duplicates and reordering with :func:`continuity_step`.

Regular streams (a sensor sampled at a nominal rate) set ``fs_hz`` and the time of
sample ``k`` is ``t0_ns + round(k * 1e9 / fs_hz)``.  Irregular streams (feature
extractors such as OpenFace, whose frames follow the video decoder) set
``fs_hz=None`` and carry one timestamp per sample in ``timestamps_ns``.

Times are *device* event times in nanoseconds since the Unix epoch; nothing here
reads a clock.

Examples
--------
>>> import numpy as np
>>> c = SensorChunk("S02", "s1", "e4", "eda", ("eda",), ("uS",), 4.0, 1_000_000_000, 0,
...                 np.zeros((1, 8), dtype=np.float32))
>>> validate_chunk(c)
>>> c.n_samples, c.t_end_ns, c.stream_key
(8, 3000000000, 'S02/s1/e4/eda')
>>> cursor, report = continuity_step(None, c)
>>> report.first
True
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

from pipeline.exceptions import ContinuityError, ContractError

SCHEMA_VERSION: int = 1

MODALITIES: tuple[str, ...] = (
    "eeg",
    "ecg",
    "eda",
    "bvp",
    "temp",
    "resp",
    "acc",
    "audio_features",
    "video_features",
)

_INT64_MAX = 2**63 - 1
_NS_PER_S = 1_000_000_000

#: identifier rule (subject, session and device ids): 1-64 characters from [A-Za-z0-9._:@-], hence ASCII
#: and NFC; an id that differs from its own NFC form is rejected (never normalised silently, so two
#: spellings can never become one stream); control, bidi-override and ANSI-escape characters are named
#: in the reason.
ID_MAX_LEN: int = 64
ID_PATTERN: re.Pattern[str] = re.compile(r"[A-Za-z0-9._:@-]+")
#: channel names and units: at most 64 printable characters (no control or format characters)
NAME_MAX_LEN: int = 64
#: most channels in one chunk
MAX_CHANNELS: int = 512
#: bidirectional-text controls (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def short_repr(value: object, limit: int = 40) -> str:
    """``ascii(value)`` cut to ``limit`` characters: safe to put in a reason, a log line or a terminal."""
    text = ascii(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def id_problem(value: object) -> str | None:
    r"""Why ``value`` is not a valid subject/session/device id, or None when it is.

    Examples
    --------
    >>> id_problem("S02"), id_problem("lab-1:e4@wrist.left")
    (None, None)
    >>> id_problem("S02\x1b[31m")
    'contains an ANSI escape (ESC, U+001B) at index 3'
    >>> id_problem("x" * 65)
    'is 65 characters long (limit 64)'
    """
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if not value:
        return "must not be empty"
    if len(value) > ID_MAX_LEN:
        return f"is {len(value)} characters long (limit {ID_MAX_LEN})"
    if ID_PATTERN.fullmatch(value):
        return None
    if unicodedata.normalize("NFC", value) != value:
        return "is not in Unicode NFC form (ids are compared byte for byte; send the NFC form)"
    for i, ch in enumerate(value):
        if ch == "\x1b":
            return f"contains an ANSI escape (ESC, U+001B) at index {i}"
        if ch in _BIDI:
            return f"contains a bidirectional-text control (U+{ord(ch):04X}) at index {i}"
        if unicodedata.category(ch).startswith("C"):
            return f"contains a control or format character (U+{ord(ch):04X}) at index {i}"
        if not ID_PATTERN.fullmatch(ch):
            return f"contains {ch!a} at index {i}; allowed: letters A-Z a-z, digits, '.', '_', ':', '@', '-'"
    return "does not match the id rule"  # pragma: no cover - every failing character is named above


def safe_id(text: str) -> str:
    """An id under the id rule made from free text (device names, file stems): NFC, every character
    outside [A-Za-z0-9._:@-] replaced by ``-``, cut to :data:`ID_MAX_LEN`; ``"-"`` for empty text.

    Examples
    --------
    >>> safe_id("Muse S 2 (EEG)"), safe_id("caf\u00e9"), safe_id("")
    ('Muse-S-2--EEG-', 'caf-', '-')
    """
    norm = unicodedata.normalize("NFC", text)
    out = "".join(c if ID_PATTERN.fullmatch(c) else "-" for c in norm)[:ID_MAX_LEN]
    return out or "-"


def _name_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if len(value) > NAME_MAX_LEN:
        return f"is {len(value)} characters long (limit {NAME_MAX_LEN})"
    bad = next((c for c in value if not c.isprintable()), None)
    return None if bad is None else f"contains the non-printable character U+{ord(bad):04X}"


def _readonly(a: Any) -> Any:
    """A read-only view of an ndarray (the caller's array keeps its flags)."""
    if isinstance(a, np.ndarray):
        v = a.view()
        v.flags.writeable = False
        return v
    return a


@dataclass(frozen=True, eq=False)
class SensorChunk:
    """A block of samples of one stream.

    Parameters
    ----------
    subject_id, session_id, device_id : str
        Non-empty identifiers; with ``modality`` they name the stream.
    modality : str
        One of :data:`MODALITIES`.
    channels : tuple of str
        Channel names, one per row of ``samples``.
    units : tuple of str
        Physical unit of each channel (``"uS"``, ``"degC"``, ``"1/64 g"``, ``""``).
    fs_hz : float or None
        Nominal sampling rate in Hz; ``None`` for irregular streams.
    t0_ns : int
        Device time of the first sample, ns since the Unix epoch.
    seq : int
        Sequence number of the chunk within its stream, from 0.
    samples : ndarray of float32, shape (channels, n)
        The samples.  Stored as a read-only view; the chunk never changes.
    timestamps_ns : ndarray of int64, shape (n,), optional
        Time of every sample; required iff ``fs_hz`` is None, and then
        ``timestamps_ns[0] == t0_ns``.
    synthetic : bool
        True for simulator output, always.
    schema_version : int
        :data:`SCHEMA_VERSION` of the producer.

    Notes
    -----
    Construction does not validate (decoders build a chunk, then call
    :func:`validate_chunk`).  Equality compares every field, arrays bit for bit.
    """

    subject_id: str
    session_id: str
    device_id: str
    modality: str
    channels: tuple[str, ...]
    units: tuple[str, ...]
    fs_hz: float | None
    t0_ns: int
    seq: int
    samples: NDArray[np.float32]
    timestamps_ns: NDArray[np.int64] | None = None
    synthetic: bool = False
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", _readonly(self.samples))
        object.__setattr__(self, "timestamps_ns", _readonly(self.timestamps_ns))

    @property
    def n_samples(self) -> int:
        """Number of samples per channel (columns of ``samples``)."""
        return int(self.samples.shape[-1])

    @property
    def t_end_ns(self) -> int:
        """Time just after the last sample, ns.

        ``t0_ns + round(n * 1e9 / fs_hz)`` for regular streams (the ``t0_ns`` the next
        chunk should have); ``timestamps_ns[-1] + 1`` for irregular ones.
        """
        if self.fs_hz is None:
            if self.timestamps_ns is None or self.timestamps_ns.size == 0:
                return self.t0_ns
            return int(self.timestamps_ns[-1]) + 1
        return self.t0_ns + round(self.n_samples * _NS_PER_S / self.fs_hz)

    @property
    def stream_key(self) -> str:
        """``"subject/session/device/modality"``: the stream this chunk belongs to."""
        return f"{self.subject_id}/{self.session_id}/{self.device_id}/{self.modality}"

    def sample_times_ns(self) -> NDArray[np.int64]:
        """Event time of every sample, ns, shape (n,)."""
        if self.timestamps_ns is not None:
            return np.asarray(self.timestamps_ns, dtype=np.int64)
        assert self.fs_hz is not None
        k = np.arange(self.n_samples, dtype=np.float64)
        return self.t0_ns + np.round(k * (_NS_PER_S / self.fs_hz)).astype(np.int64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SensorChunk):
            return NotImplemented
        scalars = ("subject_id", "session_id", "device_id", "modality", "channels", "units", "fs_hz")
        more = ("t0_ns", "seq", "synthetic", "schema_version")
        if any(getattr(self, f) != getattr(other, f) for f in scalars + more):
            return False
        if not _bits_equal(self.samples, other.samples):
            return False
        if (self.timestamps_ns is None) != (other.timestamps_ns is None):
            return False
        if self.timestamps_ns is None:
            return True
        return _bits_equal(self.timestamps_ns, other.timestamps_ns)

    __hash__ = None  # type: ignore[assignment]


def _bits_equal(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return bool(a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes())


def _fail(chunk: SensorChunk, reason: str) -> NoReturn:
    parts = (chunk.subject_id, chunk.session_id, chunk.device_id, chunk.modality)
    key = "/".join(short_repr(p, 24) for p in parts)
    msg = f"invalid chunk (stream {key}, seq {short_repr(chunk.seq, 24)}): {reason}"
    raise ContractError(msg)


def _is_int(x: object) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def _check_ids(chunk: SensorChunk) -> None:
    for name in ("subject_id", "session_id", "device_id"):
        value = getattr(chunk, name)
        problem = id_problem(value)
        if problem is not None:
            _fail(chunk, f"bad id: {name} {short_repr(value)} {problem}")
    if not isinstance(chunk.modality, str) or chunk.modality not in MODALITIES:
        _fail(chunk, f"unknown modality {short_repr(chunk.modality)}; expected one of {', '.join(MODALITIES)}")
    if not _is_int(chunk.schema_version) or chunk.schema_version != SCHEMA_VERSION:
        _fail(chunk, f"unknown schema_version {short_repr(chunk.schema_version)}; this build reads {SCHEMA_VERSION}")
    if not isinstance(chunk.synthetic, bool):
        _fail(chunk, f"synthetic must be a bool, got {short_repr(chunk.synthetic)}")
    if not _is_int(chunk.seq) or not 0 <= chunk.seq <= _INT64_MAX:
        _fail(chunk, f"seq out of range: must be an int in [0, 2**63), got {short_repr(chunk.seq)}")
    if not _is_int(chunk.t0_ns) or not 0 <= chunk.t0_ns <= _INT64_MAX:
        _fail(chunk, f"t0_ns out of range: must be an int in [0, 2**63), got {short_repr(chunk.t0_ns)}")


def _check_names(chunk: SensorChunk) -> None:
    chans, units = chunk.channels, chunk.units
    if not isinstance(chans, tuple) or not chans or not all(isinstance(c, str) and c for c in chans):
        _fail(chunk, f"channels must be a non-empty tuple of non-empty strings, got {short_repr(chans)}")
    if len(chans) > MAX_CHANNELS:
        _fail(chunk, f"too many channels: {len(chans)} (limit {MAX_CHANNELS})")
    if len(set(chans)) != len(chans):
        _fail(chunk, f"channel names must be unique, got {short_repr(chans)}")
    if not isinstance(units, tuple) or not all(isinstance(u, str) for u in units):
        _fail(chunk, f"units must be a tuple of strings, got {short_repr(units)}")
    for what, names in (("channel name", chans), ("unit", units)):
        for name in names:
            problem = _name_problem(name)
            if problem is not None:
                _fail(chunk, f"bad {what} {short_repr(name)}: {problem}")
    if len(units) != len(chans):
        _fail(chunk, f"{len(units)} units for {len(chans)} channels")


def _check_samples(chunk: SensorChunk, max_samples: int) -> None:
    x = chunk.samples
    if not isinstance(x, np.ndarray) or x.dtype != np.float32:
        _fail(chunk, f"samples must be a float32 ndarray, got {type(x).__name__} {getattr(x, 'dtype', '')}")
    if x.ndim != 2:
        _fail(chunk, f"samples must have shape (channels, n), got shape {x.shape}")
    if x.shape[0] != len(chunk.channels):
        _fail(chunk, f"samples has {x.shape[0]} rows for {len(chunk.channels)} channels")
    if x.shape[1] == 0:
        _fail(chunk, "empty chunk (0 samples)")
    if x.size > max_samples:
        _fail(chunk, f"oversized chunk: {x.size} values (channels x samples) > limit {max_samples}")
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        _fail(chunk, f"non-finite sample (NaN or inf) at channel {int(bad[0])}, index {int(bad[1])}")


def _check_time(chunk: SensorChunk, fs_range_hz: tuple[float, float]) -> None:
    fs, ts = chunk.fs_hz, chunk.timestamps_ns
    if fs is None:
        _check_timestamps(chunk)
        return
    if not isinstance(fs, float | int | np.floating) or isinstance(fs, bool) or not math.isfinite(fs):
        _fail(chunk, f"bad rate: fs_hz must be a finite number or None, got {short_repr(fs)}")
    lo, hi = fs_range_hz
    if not lo <= fs <= hi:
        _fail(chunk, f"rate out of range: fs_hz={fs} not in [{lo}, {hi}]")
    if ts is not None:
        _fail(chunk, "timestamps_ns must be None when fs_hz is set (regular stream)")
    if chunk.t_end_ns > _INT64_MAX:
        _fail(chunk, "chunk end time overflows int64 ns")


def _check_timestamps(chunk: SensorChunk) -> None:
    ts = chunk.timestamps_ns
    if ts is None:
        _fail(chunk, "irregular stream (fs_hz None) needs timestamps_ns")
    if not isinstance(ts, np.ndarray) or ts.dtype != np.int64 or ts.ndim != 1:
        _fail(chunk, f"timestamps_ns must be a 1-D int64 ndarray, got {getattr(ts, 'dtype', type(ts))}")
    if ts.shape[0] != chunk.samples.shape[1]:
        _fail(chunk, f"{ts.shape[0]} timestamps for {chunk.samples.shape[1]} samples")
    if int(ts.min()) < 0:
        _fail(chunk, f"timestamps_ns out of range: {int(ts.min())} < 0 (ns since the Unix epoch)")
    if int(ts[0]) != chunk.t0_ns:
        _fail(chunk, f"timestamps_ns[0]={int(ts[0])} differs from t0_ns={chunk.t0_ns}")
    if ts.size > 1 and not (np.diff(ts) > 0).all():
        i = int(np.argmin(np.diff(ts) > 0))
        _fail(chunk, f"timestamps not increasing at index {i + 1} ({int(ts[i])} -> {int(ts[i + 1])})")


def validate_chunk(
    chunk: SensorChunk,
    *,
    max_samples: int = 100_000,
    fs_range_hz: tuple[float, float] = (0.01, 10_000.0),
) -> None:
    """Check a chunk against the contract.

    Parameters
    ----------
    chunk : SensorChunk
        The chunk to check (unchanged).
    max_samples : int
        Largest accepted ``samples.size`` (channels x samples).
    fs_range_hz : (float, float)
        Accepted nominal rates, inclusive.

    Raises
    ------
    ContractError
        With the precise reason: ids breaking the id rule (:func:`id_problem`:
        length, allowed characters, NFC, control/bidi/ANSI characters), unknown
        modality or schema version, integers out of range (``seq``, ``t0_ns``,
        timestamps: int64, >= 0; channel count), channel/unit names, shape
        mismatches, wrong dtypes, NaN/inf, rate out of range, oversized chunk,
        missing or non-increasing timestamps.
    """
    if not isinstance(chunk, SensorChunk):
        msg = f"expected a SensorChunk, got {type(chunk).__name__}"
        raise ContractError(msg)
    _check_ids(chunk)
    _check_names(chunk)
    _check_samples(chunk, max_samples)
    _check_time(chunk, fs_range_hz)


@dataclass(frozen=True)
class StreamCursor:
    """Continuity state of one stream (picklable, immutable).

    Attributes
    ----------
    stream_key : str
        The stream this cursor follows.
    last_seq : int
        ``seq`` of the last accepted chunk.
    next_t0_ns : int
        Where the next chunk should start: ``t_end_ns`` of the last chunk.
    fs_hz : float or None
        Rate of the last chunk.
    channels : tuple of str
        Channels of the last chunk.
    n_chunks, n_samples : int
        Accepted so far.
    """

    stream_key: str
    last_seq: int
    next_t0_ns: int
    fs_hz: float | None
    channels: tuple[str, ...]
    n_chunks: int = 1
    n_samples: int = 0


@dataclass(frozen=True)
class ContinuityReport:
    """What :func:`continuity_step` saw for one chunk.

    Attributes
    ----------
    stream_key : str
    first : bool
        The first chunk of the stream seen by this cursor.
    missing_seq : int
        Sequence numbers skipped before this chunk (lost chunks).
    gap_ns : int
        ``t0_ns`` minus the expected start; positive = a time gap.  Reported as
        a gap only beyond the tolerance (see :attr:`time_gap`).
    time_gap : bool
        The start is later than expected by more than the tolerance.
    layout_changed : bool
        ``fs_hz`` or ``channels`` differ from the previous chunk.
    """

    stream_key: str
    first: bool
    missing_seq: int = 0
    gap_ns: int = 0
    time_gap: bool = False
    layout_changed: bool = False

    @property
    def has_gap(self) -> bool:
        """Lost chunks or a time jump before this chunk."""
        return self.missing_seq > 0 or self.time_gap


def _tolerance_ns(fs_hz: float | None, gap_tolerance_s: float) -> int:
    half_period_ns = 0.0 if fs_hz is None else 0.5 * _NS_PER_S / fs_hz
    return round(half_period_ns + gap_tolerance_s * _NS_PER_S)


def continuity_step(
    cursor: StreamCursor | None,
    chunk: SensorChunk,
    *,
    gap_tolerance_s: float = 0.1,
) -> tuple[StreamCursor, ContinuityReport]:
    """Advance a stream's continuity state by one chunk.

    Parameters
    ----------
    cursor : StreamCursor or None
        State after the previous chunk of this stream; None for the first chunk.
    chunk : SensorChunk
        The next chunk (assumed valid, see :func:`validate_chunk`).
    gap_tolerance_s : float
        Clock jitter allowed, s.  A regular stream's chunk may start up to half a
        sample period plus this tolerance away from the previous chunk's end
        before it counts as a time gap (later) or as time going backwards
        (earlier).  For irregular streams the backwards check is strict: the
        first timestamp must be after the previous chunk's last one.

    Returns
    -------
    cursor : StreamCursor
        The new state.
    report : ContinuityReport
        Missing sequence numbers and time gaps before this chunk.

    Raises
    ------
    ContractError
        Duplicate or decreasing ``seq``, time going backwards, or a chunk of
        another stream.
    """
    key = chunk.stream_key
    if cursor is None:
        first = StreamCursor(key, chunk.seq, chunk.t_end_ns, chunk.fs_hz, chunk.channels, 1, chunk.n_samples)
        return first, ContinuityReport(key, first=True)
    if cursor.stream_key != key:
        msg = f"chunk of stream {key} given to the cursor of stream {cursor.stream_key}"
        raise ContinuityError(msg)
    if chunk.seq <= cursor.last_seq:
        kind = "duplicate" if chunk.seq == cursor.last_seq else "out-of-order"
        msg = f"{kind} seq {chunk.seq} on stream {key} (last seq {cursor.last_seq})"
        raise ContinuityError(msg)
    gap_ns = chunk.t0_ns - cursor.next_t0_ns
    tol_ns = _tolerance_ns(chunk.fs_hz, gap_tolerance_s)
    backwards_tol_ns = 0 if chunk.fs_hz is None else tol_ns
    if gap_ns < -backwards_tol_ns:
        msg = (
            f"time going backwards on stream {key}: seq {chunk.seq} starts at {chunk.t0_ns} ns, "
            f"{-gap_ns} ns before the end of seq {cursor.last_seq}"
        )
        raise ContinuityError(msg)
    report = ContinuityReport(
        stream_key=key,
        first=False,
        missing_seq=chunk.seq - cursor.last_seq - 1,
        gap_ns=gap_ns,
        time_gap=gap_ns > tol_ns,
        layout_changed=(chunk.fs_hz != cursor.fs_hz or chunk.channels != cursor.channels),
    )
    state = StreamCursor(
        key,
        chunk.seq,
        chunk.t_end_ns,
        chunk.fs_hz,
        chunk.channels,
        cursor.n_chunks + 1,
        cursor.n_samples + chunk.n_samples,
    )
    return state, report


__all__ = [
    "ID_MAX_LEN",
    "MODALITIES",
    "SCHEMA_VERSION",
    "ContinuityError",
    "ContinuityReport",
    "ContractError",
    "SensorChunk",
    "StreamCursor",
    "continuity_step",
    "id_problem",
    "safe_id",
    "short_repr",
    "validate_chunk",
]
