"""Empatica E4 CSV exports -> signals -> :class:`~pipeline.contract.SensorChunk` streams.

E4 layout (BVP, EDA, TEMP, ACC, HR): row 1 = session start as unix time (UTC, s),
one value per column; row 2 = sample rate in Hz, one per column; then one row per
sample.  ``IBI.csv`` has ``t0, IBI`` in row 1, then ``offset_s, ibi_s`` rows;
``tags_*.csv`` has one unix time per button press.

Streamed files and their modalities (:data:`E4_MODALITIES`): BVP -> ``bvp``
(64 Hz, arbitrary units), EDA -> ``eda`` (4 Hz, uS), TEMP -> ``temp`` (4 Hz, degC),
ACC -> ``acc`` (32 Hz, x/y/z).  ACC is streamed in g: the file's 1/64 g integers
divided by 64, which is exact in float32 (multiply by 64 to get the file back).

HR.csv and IBI.csv are *not* streamed: they are the E4's own on-device outputs
computed from BVP (a 10 s moving HR average and a beat detector that misses beats),
so streaming them would duplicate BVP with a hidden, proprietary algorithm; the
pipeline derives heart rate from the BVP stream itself.  :func:`parse_e4_ibi` and
:func:`parse_e4_tags` read them for offline checks.

Pure: functions take text, callers read files.

Examples
--------
>>> sig = parse_e4_csv("1644227574.000000\\n4.000000\\n0.000000\\n0.622764\\n", "EDA")
>>> sig.t0_ns, sig.fs_hz, sig.samples.shape, sig.channels, sig.units
(1644227574000000000, 4.0, (1, 2), ('eda',), ('uS',))
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

import numpy as np
from numpy.typing import NDArray

from pipeline.contract import SensorChunk
from pipeline.exceptions import SignalError
from pipeline.sources import merge_in_time

#: E4 file stem -> modality of the streamed files.
E4_MODALITIES: Final[dict[str, str]] = {"BVP": "bvp", "EDA": "eda", "TEMP": "temp", "ACC": "acc"}

#: file stem -> (channel names, units) as streamed.
_LAYOUT: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "BVP": (("bvp",), ("a.u.",)),
    "EDA": (("eda",), ("uS",)),
    "TEMP": (("temp",), ("degC",)),
    "ACC": (("x", "y", "z"), ("g", "g", "g")),
    "HR": (("hr",), ("bpm",)),
}
ACC_COUNTS_PER_G: Final[float] = 64.0


@dataclass(frozen=True, eq=False)
class E4Signal:
    """One regularly sampled E4 file.

    Attributes
    ----------
    name : str
        File stem (``"BVP"``, ``"EDA"``, ``"TEMP"``, ``"ACC"``, ``"HR"``).
    t0_ns : int
        Unix time of the first sample, ns.
    fs_hz : float
        Sample rate, Hz.
    samples : ndarray of float32, shape (channels, n)
        Values in ``units`` (ACC already in g).
    channels, units : tuple of str
    """

    name: str
    t0_ns: int
    fs_hz: float
    samples: NDArray[np.float32]
    channels: tuple[str, ...]
    units: tuple[str, ...]

    @property
    def n_samples(self) -> int:
        """Samples per channel."""
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        """Recording length, s."""
        return self.n_samples / self.fs_hz


@dataclass(frozen=True, eq=False)
class E4Ibi:
    """IBI.csv: beats detected by the E4, relative to ``t0_ns``.

    Attributes
    ----------
    t0_ns : int
    beat_offsets_s : ndarray of float64, shape (n,)
        Time of each beat after ``t0_ns``, s.
    ibi_s : ndarray of float64, shape (n,)
        Interval to the previous detected beat, s.
    """

    t0_ns: int
    beat_offsets_s: NDArray[np.float64]
    ibi_s: NDArray[np.float64]


def _unix_s_to_ns(text: str, what: str) -> int:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        msg = f"{what}: start time {text.strip()!r} is not a unix time in seconds"
        raise SignalError(msg)
    return int(value * 1_000_000_000)


def _rate_hz(text: str, what: str) -> float:
    try:
        fs_hz = float(text)
    except ValueError:
        fs_hz = float("nan")
    if not fs_hz > 0 or fs_hz == float("inf"):
        msg = f"{what}: sample rate {text!r} is not a positive number of Hz"
        raise SignalError(msg)
    return fs_hz


def _header_row(line: str, what: str) -> list[str]:
    cells = [c.strip() for c in line.split(",")]
    if not cells or any(c == "" for c in cells):
        msg = f"{what}: malformed header row {line!r}"
        raise SignalError(msg)
    return cells


def _table(lines: list[str], n_cols: int, what: str) -> NDArray[np.float64]:
    body = "\n".join(ln for ln in lines if ln.strip())
    if not body:
        return np.zeros((0, n_cols), dtype=np.float64)
    try:
        table = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        msg = f"{what}: malformed sample rows ({exc})"
        raise SignalError(msg) from exc
    if table.shape[1] != n_cols:
        msg = f"{what}: {table.shape[1]} columns in the samples, {n_cols} in the header"
        raise SignalError(msg)
    return table


def parse_e4_csv(text: str, name: str) -> E4Signal:
    """Parse a regularly sampled E4 file (BVP, EDA, TEMP, ACC or HR).

    Parameters
    ----------
    text : str
        The whole file.
    name : str
        File stem, selects channel names and units (see :data:`E4_MODALITIES`).

    Returns
    -------
    E4Signal
        ``samples`` has shape (channels, n), float32.

    Raises
    ------
    SignalError
        Unknown file name, malformed header or rows, columns starting at
        different times or rates, non-positive rate.
    """
    if name not in _LAYOUT:
        msg = f"unknown E4 file {name!r}; expected one of {', '.join(_LAYOUT)}"
        raise SignalError(msg)
    channels, units = _LAYOUT[name]
    lines = text.splitlines()
    if len(lines) < 2:
        msg = f"{name}: needs a start-time row and a rate row, got {len(lines)} line(s)"
        raise SignalError(msg)
    starts = {_unix_s_to_ns(c, name) for c in _header_row(lines[0], name)}
    rates = {_rate_hz(c, name) for c in _header_row(lines[1], name)}
    if len(starts) != 1 or len(rates) != 1:
        msg = f"{name}: columns start at different times or rates ({lines[0]!r}, {lines[1]!r})"
        raise SignalError(msg)
    fs_hz = rates.pop()
    table = _table(lines[2:], len(channels), name)
    if name == "ACC":
        table = table / ACC_COUNTS_PER_G
    return E4Signal(name, starts.pop(), fs_hz, np.ascontiguousarray(table.T, dtype=np.float32), channels, units)


def parse_e4_ibi(text: str) -> E4Ibi:
    """Parse IBI.csv (row 1 ``t0, IBI``; rows ``offset_s, ibi_s``)."""
    lines = text.splitlines()
    if not lines:
        msg = "IBI: empty file"
        raise SignalError(msg)
    head = _header_row(lines[0], "IBI")
    t0_ns = _unix_s_to_ns(head[0], "IBI")
    table = _table(lines[1:], 2, "IBI")
    return E4Ibi(t0_ns, table[:, 0].copy(), table[:, 1].copy())


def parse_e4_tags(text: str) -> NDArray[np.int64]:
    """Parse tags_*.csv: button presses as unix times, returned in ns, shape (n,)."""
    times = [_unix_s_to_ns(ln.split(",")[0], "tags") for ln in text.splitlines() if ln.strip()]
    return np.array(times, dtype=np.int64)


def _signal_chunks(
    sig: E4Signal,
    *,
    subject_id: str,
    session_id: str,
    device_id: str,
    chunk_s: float,
    t0_offset_ns: int,
) -> Iterator[SensorChunk]:
    n_chunk = max(1, round(chunk_s * sig.fs_hz))
    modality = E4_MODALITIES[sig.name]
    for seq, start in enumerate(range(0, sig.n_samples, n_chunk)):
        yield SensorChunk(
            subject_id=subject_id,
            session_id=session_id,
            device_id=device_id,
            modality=modality,
            channels=sig.channels,
            units=sig.units,
            fs_hz=sig.fs_hz,
            t0_ns=sig.t0_ns + t0_offset_ns + round(start * 1e9 / sig.fs_hz),
            seq=seq,
            samples=sig.samples[:, start : start + n_chunk],
        )


def e4_session_chunks(
    signals: Mapping[str, E4Signal],
    *,
    subject_id: str,
    session_id: str,
    chunk_s: float = 1.0,
    device_id: str = "e4",
    t0_offset_ns: int = 0,
) -> Iterator[SensorChunk]:
    """All streamed modalities of one E4 session as chunks, in event-time order.

    Parameters
    ----------
    signals : mapping of file stem -> E4Signal
        Any of BVP, EDA, TEMP, ACC (see :data:`E4_MODALITIES`).
    subject_id, session_id, device_id : str
        Stream identifiers.
    chunk_s : float
        Chunk length, s (``round(chunk_s * fs_hz)`` samples, at least 1; the last
        chunk of a stream may be shorter).
    t0_offset_ns : int
        Added to every time (rebase a recording to "now" for a live demo); 0 keeps
        the recording's own unix times.

    Yields
    ------
    SensorChunk
        Ordered by ``t0_ns``; ties keep the order of ``signals``.  ``seq`` counts
        from 0 per stream; chunk ``k`` starts at sample ``k * n_chunk``, at
        ``t0 + round(k * n_chunk * 1e9 / fs_hz)`` ns.
    """
    unknown = [k for k in signals if k not in E4_MODALITIES]
    if unknown:
        msg = f"not streamed E4 file(s) {unknown}; stream only {', '.join(E4_MODALITIES)}"
        raise SignalError(msg)
    if not chunk_s > 0:
        msg = f"chunk_s must be > 0, got {chunk_s}"
        raise SignalError(msg)
    streams = [
        _signal_chunks(
            sig,
            subject_id=subject_id,
            session_id=session_id,
            device_id=device_id,
            chunk_s=chunk_s,
            t0_offset_ns=t0_offset_ns,
        )
        for sig in signals.values()
    ]
    return merge_in_time(*streams)


__all__ = [
    "ACC_COUNTS_PER_G",
    "E4_MODALITIES",
    "E4Ibi",
    "E4Signal",
    "e4_session_chunks",
    "parse_e4_csv",
    "parse_e4_ibi",
    "parse_e4_tags",
]
