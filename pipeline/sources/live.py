"""Cut live sample blocks (as pulled from LSL or BrainFlow) into fixed-size sensor chunks.

A fold: ``assemble_step(spec, state, samples, times_ns) -> (state, chunks)``.  Devices
deliver blocks of any size; the assembler emits chunks of exactly
``spec.chunk_samples`` samples (the rest waits for the next block) and keeps the
per-stream ``seq``.  Regular streams (``fs_hz`` set) take ``t0_ns`` from the device
time of each chunk's first sample; irregular streams keep every timestamp.

Examples
--------
>>> import numpy as np
>>> spec = LiveStream("S1", "live", "lsl", "eeg", ("Cz",), ("uV",), 250.0, chunk_samples=4)
>>> state, out = assemble_step(spec, AssemblerState(), np.ones((1, 6)), np.arange(6) * 4_000_000)
>>> [(c.seq, c.n_samples, c.t0_ns) for c in out], state.pending.shape
([(0, 4, 0)], (1, 2))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from pipeline.contract import SensorChunk
from pipeline.exceptions import SignalError


@dataclass(frozen=True)
class LiveStream:
    """Identity and layout of a live stream.

    Attributes
    ----------
    subject_id, session_id, device_id, modality : str
    channels, units : tuple of str
    fs_hz : float or None
        Nominal rate; None for irregular streams (timestamps kept per sample).
    chunk_samples : int
        Samples per emitted chunk.
    """

    subject_id: str
    session_id: str
    device_id: str
    modality: str
    channels: tuple[str, ...]
    units: tuple[str, ...]
    fs_hz: float | None
    chunk_samples: int = 250


def _empty_f32() -> NDArray[np.float32]:
    return np.zeros((0, 0), dtype=np.float32)


def _empty_i64() -> NDArray[np.int64]:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class AssemblerState:
    """Pending samples (channels, k) with their times (k,), and the next ``seq``."""

    seq: int = 0
    pending: NDArray[np.float32] = field(default_factory=_empty_f32)
    pending_ns: NDArray[np.int64] = field(default_factory=_empty_i64)


def _chunk(spec: LiveStream, seq: int, x: NDArray[np.float32], t_ns: NDArray[np.int64]) -> SensorChunk:
    return SensorChunk(
        subject_id=spec.subject_id,
        session_id=spec.session_id,
        device_id=spec.device_id,
        modality=spec.modality,
        channels=spec.channels,
        units=spec.units,
        fs_hz=spec.fs_hz,
        t0_ns=int(t_ns[0]),
        seq=seq,
        samples=np.ascontiguousarray(x),
        timestamps_ns=None if spec.fs_hz is not None else t_ns.copy(),
    )


def assemble_step(
    spec: LiveStream,
    state: AssemblerState,
    samples: NDArray[np.floating],
    times_ns: NDArray[np.integer],
) -> tuple[AssemblerState, list[SensorChunk]]:
    """Add a block of samples; return the new state and every complete chunk.

    Parameters
    ----------
    spec : LiveStream
    state : AssemblerState
    samples : ndarray, shape (channels, n)
        The block (not modified).
    times_ns : ndarray of int, shape (n,)
        Device time of every sample, ns since the epoch.

    Raises
    ------
    SignalError
        Block shape does not match the stream.
    """
    x = np.asarray(samples, dtype=np.float32)
    t = np.asarray(times_ns, dtype=np.int64)
    if x.ndim != 2 or x.shape[0] != len(spec.channels) or t.shape != (x.shape[1],):
        msg = f"block of shape {x.shape} with {t.shape} times for {len(spec.channels)} channels"
        raise SignalError(msg)
    pending = x if state.pending.size == 0 else np.concatenate([state.pending, x], axis=1)
    pending_ns = np.concatenate([state.pending_ns, t])
    out: list[SensorChunk] = []
    seq, n = state.seq, spec.chunk_samples
    start = 0
    while pending.shape[1] - start >= n:
        out.append(_chunk(spec, seq, pending[:, start : start + n], pending_ns[start : start + n]))
        seq, start = seq + 1, start + n
    return AssemblerState(seq, pending[:, start:].copy(), pending_ns[start:].copy()), out


def assemble_flush(spec: LiveStream, state: AssemblerState) -> tuple[AssemblerState, list[SensorChunk]]:
    """Emit the pending samples as a last, shorter chunk (at shutdown)."""
    if state.pending.size == 0:
        return state, []
    chunk = _chunk(spec, state.seq, state.pending, state.pending_ns)
    return AssemblerState(state.seq + 1), [chunk]


__all__ = ["AssemblerState", "LiveStream", "assemble_flush", "assemble_step"]
