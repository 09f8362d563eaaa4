"""Pure parsers that turn recordings and device output into sensor chunks.

- :mod:`pipeline.sources.e4`: Empatica E4 CSV exports (bvp, eda, temp, acc)
- :mod:`pipeline.sources.opensmile`: eGeMAPS low-level-descriptor frames (audio_features)
- :mod:`pipeline.sources.openface`: OpenFace 2.x CSV output (video_features, irregular)

They take text or arrays, never paths: the file I/O lives in :mod:`agents.sources`.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from pipeline.contract import SensorChunk


def merge_in_time(*streams: Iterator[SensorChunk]) -> Iterator[SensorChunk]:
    """Merge chunk iterators, each ordered by ``t0_ns``, into one ordered by ``t0_ns``.

    Ties keep the earlier iterator first (stable).  Lazy: holds one pending chunk
    per iterator, so long recordings are never materialised.
    """
    return heapq.merge(*streams, key=lambda c: c.t0_ns)


__all__ = ["merge_in_time"]
