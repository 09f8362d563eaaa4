"""A bounded per-stream reorder step by ``seq``, in front of the continuity check.

Chunks of one stream can reach the ingest stage out of order: a device that sends them so, and a
Faust consumer that, across a rebalance, delivers a message prefetched before it ahead of the ones
re-read from the committed offset (faust-streaming #221). Without this step the late chunks would be
refused (``seq`` going back) or skipped, and windows around them would lack that stream.

:func:`reorder_step` holds a chunk whose ``seq`` is ahead of the next expected one (the stream's last
released ``seq`` + 1) until the missing ones arrive, then releases the run in ``seq`` order. At most
``max_held`` chunks are held per stream: when one more arrives, the oldest held chunk is released
with the missing ``seq`` before it reported as a gap (the chunk was lost for good, or is later than
the bound). So a chunk lost for good delays its stream by at most ``max_held`` chunks, and a chunk
that arrives after its stream moved past it is refused with a reason naming the bound. A stream's
first chunk starts it whatever its ``seq`` (nothing tells what came before).

Positions (the source log's offsets) tell a re-delivery from a duplicate: a chunk already released
or held whose position is at or below the highest position seen for its stream is a re-delivery
after a restart or rebalance (skipped silently: its outputs exist); at a new position it is a
duplicate the device sent again (refused). Held chunks are kept encoded (the wire bytes), so the
state stays small and versioned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from pipeline.contract import ContinuityReport, SensorChunk, StreamCursor, continuity_step
from pipeline.exceptions import ContinuityError, PipelineError

#: default bound: chunks held per stream while a missing ``seq`` is awaited (``EMOPIPE_REORDER_MAX_CHUNKS``)
DEFAULT_MAX_HELD = 8


@dataclass(frozen=True)
class ReorderState:
    """Per-stream state of the reorder step and the continuity check.

    Attributes
    ----------
    cursor : StreamCursor or None
        Continuity cursor after the last released chunk (None before the first).
    held : tuple of (int, int, bytes)
        ``(seq, position, encoded chunk)`` of chunks ahead of the next expected ``seq``, by ``seq``.
    source : str
        The source log the positions belong to (e.g. ``topic/partition``); positions of another
        source are not compared.
    max_position : int
        Highest position seen for this stream in ``source`` (-1 before any).
    n_reordered, n_gaps : int
        Chunks released after being held; runs of missing ``seq`` given up on (bound reached).
    """

    cursor: StreamCursor | None = None
    held: tuple[tuple[int, int, bytes], ...] = ()
    source: str = ""
    max_position: int = -1
    n_reordered: int = 0
    n_gaps: int = 0


@dataclass(frozen=True)
class Released:
    """A chunk that leaves the reorder step, in ``seq`` order, with its continuity report."""

    chunk: SensorChunk
    report: ContinuityReport
    held: bool  # it waited in the reorder buffer


@dataclass(frozen=True)
class Refused:
    """A held chunk refused when released (e.g. its time goes backwards): its bytes and the error."""

    payload: bytes
    position: int
    error: PipelineError


def reorder_step(
    state: ReorderState | None,
    chunk: SensorChunk,
    payload: bytes,
    position: int,
    *,
    source: str = "",
    decode: Callable[[bytes], SensorChunk],
    max_held: int = DEFAULT_MAX_HELD,
) -> tuple[ReorderState, list[Released], list[Refused]]:
    """Feed one decoded chunk; return the new state, the chunks released in order and the held ones refused.

    Parameters
    ----------
    state : ReorderState or None
        The stream's state (None for its first chunk).
    chunk : SensorChunk
        The chunk just received (decoded and validated).
    payload : bytes
        Its encoded form, kept while it is held.
    position : int
        Its position in ``source`` (Kafka offset).
    source : str
        Name of the source log of ``position``.
    decode : callable
        Decodes a held payload back into a chunk (:func:`pipeline.codec.decode_chunk`).
    max_held : int
        Most chunks held at once (>= 0; 0 disables reordering: every chunk is released at once).

    Returns
    -------
    state : ReorderState
    released : list of Released
        Chunks to process now, in ``seq`` order (empty for a re-delivery or a chunk held).
    refused : list of Refused
        Held chunks (not the current one) whose release failed the continuity check.

    Raises
    ------
    ContinuityError
        The current chunk is a duplicate (an old ``seq`` at a new position), arrives after its stream
        moved past it (beyond the bound), or fails the continuity check when released at once.
    """
    st = state or ReorderState(source=source)
    if st.source != source:  # positions of another log are not comparable
        st = replace(st, source=source, max_position=-1)
    redelivered = position <= st.max_position
    st = replace(st, max_position=max(st.max_position, position))
    last = None if st.cursor is None else st.cursor.last_seq
    held_seqs = {s for s, _, _ in st.held}
    if (last is not None and chunk.seq <= last) or chunk.seq in held_seqs:
        if redelivered:
            return st, [], []
        _refuse_old(chunk, last, held_seqs, max_held)
    if last is None or chunk.seq == last + 1 or max_held <= 0:
        cursor, report = continuity_step(st.cursor, chunk)  # raises for the current chunk itself
        st = replace(st, cursor=cursor)
        st, more, ref = _release_run(st, decode)
        return st, [Released(chunk, report, held=False), *more], ref
    held = tuple(sorted((*st.held, (chunk.seq, position, payload)), key=lambda h: h[0]))
    st = replace(st, held=held)
    out: list[Released] = []
    refused: list[Refused] = []
    while len(st.held) > max_held:  # the bound: give up on the missing seq before the oldest held chunk
        st = replace(st, n_gaps=st.n_gaps + 1)
        st, more, ref = _release_run(st, decode, force=True)
        out += more
        refused += ref
    return st, out, refused


def _refuse_old(chunk: SensorChunk, last: int | None, held_seqs: set[int], max_held: int) -> None:
    key = chunk.stream_key
    if chunk.seq == last or chunk.seq in held_seqs:
        msg = f"duplicate seq {chunk.seq} on stream {key} (last seq {last})"
    else:
        msg = (
            f"out-of-order seq {chunk.seq} on stream {key}: the stream already moved on to seq {last} "
            f"(later than the reorder bound of {max_held} chunks; EMOPIPE_REORDER_MAX_CHUNKS)"
        )
    raise ContinuityError(msg)


def _release_run(
    st: ReorderState, decode: Callable[[bytes], SensorChunk], *, force: bool = False
) -> tuple[ReorderState, list[Released], list[Refused]]:
    """Release held chunks that continue the stream (the first one whatever its seq when ``force``)."""
    out: list[Released] = []
    refused: list[Refused] = []
    held = list(st.held)
    while held:
        seq, pos, payload = held[0]
        last = None if st.cursor is None else st.cursor.last_seq
        if not (force or last is None or seq == last + 1):
            break
        held.pop(0)
        chunk = decode(payload)
        try:
            cursor, report = continuity_step(st.cursor, chunk)
        except PipelineError as exc:
            refused.append(Refused(payload, pos, exc))
            continue  # a forced release goes on to the next held chunk: the gap stays given up on
        force = False
        st = replace(st, cursor=cursor, n_reordered=st.n_reordered + 1)
        out.append(Released(chunk, report, held=True))
    return replace(st, held=tuple(held)), out, refused


__all__ = ["DEFAULT_MAX_HELD", "Refused", "Released", "ReorderState", "reorder_step"]
