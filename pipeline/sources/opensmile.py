"""openSMILE eGeMAPSv02 low-level-descriptor frames -> ``audio_features`` chunks.

eGeMAPS LLD frames come at a 10 ms hop (100 frames/s) and frame ``k`` starts at
``k * 10 ms`` (see ravdess/PROVENANCE.md), so the stream is regular with
``fs_hz = 100``; channels are the LLD names (``Loudness_sma3``, ...).

Examples
--------
>>> import numpy as np
>>> frames = np.zeros((250, 2), dtype=np.float16)
>>> cs = list(opensmile_chunks(frames, ("Loudness_sma3", "F0semitoneFrom27.5Hz_sma3nz"),
...                            subject_id="A01", session_id="clip", t0_ns=0))
>>> [(c.seq, c.n_samples, c.t0_ns) for c in cs]
[(0, 100, 0), (1, 100, 1000000000), (2, 50, 2000000000)]
>>> cs[0].units
('sone', 'semitone')
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from pipeline.contract import SensorChunk
from pipeline.exceptions import SignalError

EGEMAPS_FRAME_RATE_HZ: Final[float] = 100.0

#: LLD name prefix -> unit (eGeMAPS paper, Eyben et al. 2016); first match wins.
_UNITS: Final[tuple[tuple[str, str], ...]] = (
    ("Loudness", "sone"),
    ("alphaRatio", "dB"),
    ("hammarbergIndex", "dB"),
    ("slope", "dB/Hz"),
    ("spectralFlux", ""),
    ("mfcc", ""),
    ("F0semitone", "semitone"),
    ("jitter", ""),
    ("shimmer", "dB"),
    ("HNR", "dB"),
    ("logRelF0", "dB"),
    ("F1frequency", "Hz"),
    ("F2frequency", "Hz"),
    ("F3frequency", "Hz"),
    ("F1bandwidth", "Hz"),
    ("F2bandwidth", "Hz"),
    ("F3bandwidth", "Hz"),
    ("F1amplitude", "dB"),
    ("F2amplitude", "dB"),
    ("F3amplitude", "dB"),
)


def egemaps_unit(name: str) -> str:
    """Unit of an eGeMAPS LLD by name ("" when dimensionless or unknown)."""
    return next((unit for prefix, unit in _UNITS if name.startswith(prefix)), "")


def opensmile_chunks(
    frames: NDArray[np.floating],
    columns: Sequence[str],
    *,
    subject_id: str,
    session_id: str,
    t0_ns: int,
    chunk_s: float = 1.0,
    device_id: str = "opensmile",
    fs_hz: float = EGEMAPS_FRAME_RATE_HZ,
    first_seq: int = 0,
) -> Iterator[SensorChunk]:
    """Chunk a block of LLD frames into an ``audio_features`` stream.

    Parameters
    ----------
    frames : ndarray, shape (n_frames, n_lld)
        One row per frame, as openSMILE writes them (float16 or float32).
    columns : sequence of str, length n_lld
        LLD names, used as channel names.
    subject_id, session_id, device_id : str
        Stream identifiers.
    t0_ns : int
        Time of frame 0, ns since the epoch.
    chunk_s : float
        Chunk length, s (``round(chunk_s * fs_hz)`` frames; the last may be shorter).
    fs_hz : float
        Frame rate, Hz (eGeMAPS: 100).
    first_seq : int
        ``seq`` of the first chunk (continue a stream across clips).

    Yields
    ------
    SensorChunk
        ``samples`` shape (n_lld, frames in chunk), float32 (float16 -> float32 is exact).

    Raises
    ------
    SignalError
        Shape/column mismatch or a non-positive chunk length.
    """
    x = np.asarray(frames)
    if x.ndim != 2 or x.shape[1] != len(columns):
        msg = f"frames must have shape (n_frames, {len(columns)}), got {x.shape}"
        raise SignalError(msg)
    if not chunk_s > 0 or not fs_hz > 0:
        msg = f"chunk_s and fs_hz must be > 0, got {chunk_s}, {fs_hz}"
        raise SignalError(msg)
    channels = tuple(str(c) for c in columns)
    units = tuple(egemaps_unit(c) for c in channels)
    n_chunk = max(1, round(chunk_s * fs_hz))
    for k, start in enumerate(range(0, x.shape[0], n_chunk)):
        yield SensorChunk(
            subject_id=subject_id,
            session_id=session_id,
            device_id=device_id,
            modality="audio_features",
            channels=channels,
            units=units,
            fs_hz=float(fs_hz),
            t0_ns=t0_ns + round(start * 1e9 / fs_hz),
            seq=first_seq + k,
            samples=np.ascontiguousarray(x[start : start + n_chunk].T, dtype=np.float32),
        )


__all__ = ["EGEMAPS_FRAME_RATE_HZ", "egemaps_unit", "opensmile_chunks"]
