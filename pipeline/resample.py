"""Irregular streams onto the nominal sample clock (zero-order hold, causal).

Irregular streams (OpenFace frames that follow the video decoder) carry one timestamp per sample.
The stream keeps a nominal rate ``fs_hz``; nominal sample ``i`` (event time
``anchor_ns + i * 1e9 / fs_hz``) takes the value of the most recent frame at or before it, so nothing
from the future is used. The age of the held frame is returned so that the caller can flag samples
held for too long (dropped frames, face lost).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pipeline.exceptions import SignalError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def nominal_times_ns(anchor_ns: int, first: int, last: int, fs_hz: float) -> IntArray:
    """Event times (ns) of nominal samples ``first..last`` inclusive, shape ``(last - first + 1,)``."""
    idx = np.arange(first, last + 1, dtype=np.float64)
    return anchor_ns + np.round(idx * (1e9 / fs_hz)).astype(np.int64)


def last_index_at_or_before(t_ns: int, anchor_ns: int, fs_hz: float) -> int:
    """Largest nominal index whose time (as :func:`nominal_times_ns` computes it) is <= ``t_ns``."""
    i = int(np.floor((t_ns - anchor_ns) * fs_hz / 1e9))
    while nominal_times_ns(anchor_ns, i + 1, i + 1, fs_hz)[0] <= t_ns:
        i += 1
    while i >= 0 and nominal_times_ns(anchor_ns, i, i, fs_hz)[0] > t_ns:
        i -= 1
    return i


def hold_on_grid(
    times_ns: IntArray,
    frame_ns: IntArray,
    frames: FloatArray,
    prev_value: FloatArray | None,
    prev_ns: int | None,
) -> tuple[FloatArray, IntArray]:
    """Zero-order hold of ``frames`` (channels, k) at ``frame_ns`` (k,) onto ``times_ns`` (m,).

    Nominal times before the first frame take ``prev_value`` (the previous chunk's last frame, at
    ``prev_ns``). Returns (values (channels, m), age of the held frame in ns (m,)).
    """
    k = np.searchsorted(frame_ns, times_ns, side="right") - 1
    values = frames[:, np.maximum(k, 0)]
    held_ns = frame_ns[np.maximum(k, 0)]
    before = k < 0
    if np.any(before):
        if prev_value is None or prev_ns is None:
            msg = "nominal sample before the first frame of the stream"
            raise SignalError(msg)
        values = np.where(before[None, :], prev_value[:, None], values)
        held_ns = np.where(before, prev_ns, held_ns)
    return np.asarray(values, dtype=np.float64), np.asarray(times_ns - held_ns, dtype=np.int64)
