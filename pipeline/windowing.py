"""Index math of event-time sliding windows on a global grid.

A contiguous stream segment has an *anchor* (event time in ns of its sample 0) and a nominal rate
``fs_hz``; sample ``i`` has event time ``anchor_ns + round(i * 1e9 / fs_hz)``. Windows start on the
global grid (``start_ns`` a multiple of ``hop_ns`` since the Unix epoch) so that every modality of a
subject, whatever its rate or chunking, produces windows with the same ``start_ns``/``end_ns``.
A window holds a fixed number of samples, ``round(window_s * fs_hz)``, starting with the first
sample at or after ``start_ns``. All arithmetic is exact (integers and fractions), so the result
does not depend on how a recording was chunked.

Examples
--------
>>> anchor = 1_700_000_001_300_000_000          # first sample, 1.3 s past a whole second
>>> hop_ns = seconds_to_ns(5.0)
>>> start = grid_ceil(anchor, hop_ns)           # first window start on the global 5-s grid
>>> start - anchor
3700000000
>>> window_bounds(start, anchor, 4.0, n_samples(60.0, 4.0))   # 4 Hz: samples 15 .. 254
(15, 255)
"""

from __future__ import annotations

import math
from fractions import Fraction

NS_PER_S = 1_000_000_000


def _fs(fs_hz: float) -> Fraction:
    return Fraction(fs_hz).limit_denominator(1_000_000)


def seconds_to_ns(seconds: float) -> int:
    """Seconds to integer nanoseconds (rounded)."""
    return round(Fraction(seconds).limit_denominator(1_000_000_000) * NS_PER_S)


def n_samples(duration_s: float, fs_hz: float) -> int:
    """Number of samples in ``duration_s`` at ``fs_hz`` (rounded, at least 1)."""
    return max(1, round(Fraction(duration_s).limit_denominator(1_000_000) * _fs(fs_hz)))


def sample_time_ns(anchor_ns: int, index: int, fs_hz: float) -> int:
    """Event time (ns) of sample ``index`` of a segment anchored at ``anchor_ns``."""
    return anchor_ns + round(Fraction(index * NS_PER_S) / _fs(fs_hz))


def first_index_at_or_after(t_ns: int, anchor_ns: int, fs_hz: float) -> int:
    """Smallest sample index whose event time is >= ``t_ns`` (may be negative before the anchor)."""
    i = math.ceil(Fraction(t_ns - anchor_ns) * _fs(fs_hz) / NS_PER_S)
    while sample_time_ns(anchor_ns, i - 1, fs_hz) >= t_ns:
        i -= 1
    while sample_time_ns(anchor_ns, i, fs_hz) < t_ns:
        i += 1
    return i


def grid_ceil(t_ns: int, hop_ns: int) -> int:
    """Smallest multiple of ``hop_ns`` that is >= ``t_ns``."""
    return -((-t_ns) // hop_ns) * hop_ns


def window_bounds(start_ns: int, anchor_ns: int, fs_hz: float, window_n: int) -> tuple[int, int]:
    """Sample index range ``[i0, i1)`` of the window starting at ``start_ns`` (``i1 - i0 == window_n``)."""
    i0 = first_index_at_or_after(start_ns, anchor_ns, fs_hz)
    return i0, i0 + window_n
