"""OpenFace 2.x ``FeatureExtraction`` CSV -> ``video_features`` chunks (irregular stream).

Columns are found by name after stripping (OpenFace writes ``", "`` separators, so
names after ``frame`` start with a space).  Both the older layout (no ``face_id``,
``gaze_angle_*``, ``eye_lmk_*``) and current 2.2 output are accepted.  Streamed
channels: every ``AUxx_r`` (intensity 0-5) then every ``AUxx_c`` (presence 0/1), in
file order.  Frames follow the video decoder, so the stream carries
``timestamps_ns`` (``t0_ns + timestamp_s``) and ``fs_hz=None``.  Rows with
``success == 0`` (no face found; OpenFace writes zeros) are dropped unless
``keep_failed=True``.

Examples
--------
>>> text = "frame, timestamp, success, AU12_r, AU12_c\\n1, 0.000, 1, 1.5, 1\\n2, 0.033, 0, 0, 0\\n"
>>> t = parse_openface_csv(text)
>>> t.channels, t.timestamps_s.tolist(), t.values.shape
(('AU12_r', 'AU12_c'), [0.0], (1, 2))
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from pipeline.contract import SensorChunk
from pipeline.exceptions import SignalError

_AU_R: Final = re.compile(r"^AU\d+_r$")
_AU_C: Final = re.compile(r"^AU\d+_c$")
UNIT_INTENSITY: Final[str] = "intensity 0-5"
UNIT_PRESENCE: Final[str] = "presence 0/1"


@dataclass(frozen=True, eq=False)
class OpenFaceTable:
    """The action-unit part of an OpenFace CSV.

    Attributes
    ----------
    timestamps_s : ndarray of float64, shape (n,)
        The ``timestamp`` column, s from the start of the video, increasing.
    values : ndarray of float32, shape (n, channels)
    channels, units : tuple of str
    confidence : ndarray of float32, shape (n,)
        OpenFace's tracking confidence (1 where the column is absent).
    """

    timestamps_s: NDArray[np.float64]
    values: NDArray[np.float32]
    channels: tuple[str, ...]
    units: tuple[str, ...]
    confidence: NDArray[np.float32]


def _find(names: list[str], wanted: str) -> int | None:
    return names.index(wanted) if wanted in names else None


def parse_openface_csv(text: str, *, keep_failed: bool = False) -> OpenFaceTable:
    """Parse OpenFace CSV text into AU intensities/presences with timestamps.

    Raises
    ------
    SignalError
        No ``timestamp`` or AU columns, malformed rows, non-increasing timestamps.
    """
    head, _, body = text.partition("\n")
    names = [n.strip() for n in head.split(",")]
    ts_col = _find(names, "timestamp")
    au_cols = [i for i, n in enumerate(names) if _AU_R.match(n)] + [i for i, n in enumerate(names) if _AU_C.match(n)]
    if ts_col is None or not au_cols:
        msg = "OpenFace CSV needs a 'timestamp' column and AUxx_r / AUxx_c columns"
        raise SignalError(msg)
    extra = [c for c in (_find(names, "success"), _find(names, "confidence")) if c is not None]
    table = _rows(body, len(names), [ts_col, *extra, *au_cols])
    ok = np.ones(table.shape[0], dtype=bool)
    succ, conf = _find(names, "success"), _find(names, "confidence")
    if succ is not None and not keep_failed:
        ok = table[:, 1] > 0.5
    conf_values = table[:, 1 + (succ is not None)] if conf is not None else np.ones(table.shape[0])
    ts = table[ok, 0]
    if ts.size > 1 and not (np.diff(ts) > 0).all():
        msg = "OpenFace timestamps must increase"
        raise SignalError(msg)
    channels = tuple(names[i] for i in au_cols)
    units = tuple(UNIT_INTENSITY if c.endswith("_r") else UNIT_PRESENCE for c in channels)
    values = np.ascontiguousarray(table[ok][:, 1 + len(extra) :], dtype=np.float32)
    return OpenFaceTable(ts.copy(), values, channels, units, conf_values[ok].astype(np.float32))


def _rows(body: str, n_names: int, usecols: list[int]) -> NDArray[np.float64]:
    if not body.strip():
        return np.zeros((0, len(usecols)), dtype=np.float64)
    first = body.lstrip("\n").partition("\n")[0]
    if len(first.split(",")) != n_names:
        msg = f"OpenFace rows have {len(first.split(','))} fields, the header {n_names}"
        raise SignalError(msg)
    try:
        return np.loadtxt(io.StringIO(body), delimiter=",", usecols=usecols, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        msg = f"malformed OpenFace rows ({exc})"
        raise SignalError(msg) from exc


def openface_chunks(
    table: OpenFaceTable,
    *,
    subject_id: str,
    session_id: str,
    t0_ns: int,
    chunk_s: float = 1.0,
    device_id: str = "openface",
    first_seq: int = 0,
) -> Iterator[SensorChunk]:
    """Chunk an OpenFace table into a ``video_features`` stream.

    Frames are grouped by time: chunk ``k`` holds the frames with
    ``k * chunk_s <= timestamp_s < (k + 1) * chunk_s``; empty intervals produce
    no chunk (``seq`` stays consecutive, the time jump shows in continuity).

    Parameters
    ----------
    table : OpenFaceTable
    subject_id, session_id, device_id : str
    t0_ns : int
        Time of ``timestamp == 0`` (the video start), ns since the epoch.
    chunk_s : float
        Chunk length, s.
    first_seq : int
        ``seq`` of the first chunk.
    """
    if not chunk_s > 0:
        msg = f"chunk_s must be > 0, got {chunk_s}"
        raise SignalError(msg)
    times_ns = t0_ns + np.round(table.timestamps_s * 1e9).astype(np.int64)
    bins = np.floor(table.timestamps_s / chunk_s).astype(np.int64)
    edges = np.flatnonzero(np.diff(bins)) + 1
    starts = [0, *edges.tolist()] if bins.size else []
    stops = [*edges.tolist(), bins.size]
    for k, (a, b) in enumerate(zip(starts, stops, strict=False)):
        yield SensorChunk(
            subject_id=subject_id,
            session_id=session_id,
            device_id=device_id,
            modality="video_features",
            channels=table.channels,
            units=table.units,
            fs_hz=None,
            t0_ns=int(times_ns[a]),
            seq=first_seq + k,
            samples=np.ascontiguousarray(table.values[a:b].T),
            timestamps_ns=times_ns[a:b].copy(),
        )


__all__ = ["UNIT_INTENSITY", "UNIT_PRESENCE", "OpenFaceTable", "openface_chunks", "parse_openface_csv"]
