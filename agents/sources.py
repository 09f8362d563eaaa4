"""File I/O for replays: find recordings on disk and turn them into chunk streams.

The parsing is pure (:mod:`pipeline.sources`); this module only reads files and
decides identifiers and start times.

Recognised paths
----------------
- a directory with E4 files (``BVP.csv``, ``EDA.csv``, ``TEMP.csv``, ``ACC.csv``):
  one E4 session; subject id = directory name (``S02``), session id = ``e4-<start>``.
- a directory whose sub-directories are E4 sessions (``Raw_data/``): each of them.
- ``*.npz`` of eGeMAPS LLD frames (``ravdess/frames/ActorNN.npz``): one
  ``audio_features`` stream per file, clips back to back (sorted by name) with
  ``clip_gap_s`` of silence between them; subject id = file stem.
- ``*.csv`` with an OpenFace header: one ``video_features`` stream; subject id = file stem.

eGeMAPS and OpenFace files have no absolute time.  They start with the earliest E4
session among the paths (so a mixed replay lines up), or at :data:`REFERENCE_T0_NS`
when there is none.  Several recordings are aligned to start together by default
(see :func:`replay_chunks`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.contract import SensorChunk, safe_id
from pipeline.exceptions import SignalError
from pipeline.markers import Marker, tag_markers
from pipeline.sources import merge_in_time
from pipeline.sources.e4 import E4_MODALITIES, E4Signal, e4_session_chunks, parse_e4_csv
from pipeline.sources.openface import openface_chunks, parse_openface_csv
from pipeline.sources.opensmile import opensmile_chunks

logger = logging.getLogger(__name__)

#: 2020-01-01T00:00:00Z: start of recordings without absolute time when nothing else sets it
REFERENCE_T0_NS = 1_577_836_800_000_000_000


@dataclass(frozen=True)
class Recording:
    """One replayable recording found on disk."""

    kind: str  # "e4", "egemaps" or "openface"
    path: Path
    subject_id: str


def read_e4_session(directory: Path) -> dict[str, E4Signal]:
    """Read the streamed E4 files (BVP, EDA, TEMP, ACC) of a session directory."""
    missing = [n for n in E4_MODALITIES if not (directory / f"{n}.csv").is_file()]
    if len(missing) == len(E4_MODALITIES):
        msg = f"{directory}: no E4 files (expected {', '.join(n + '.csv' for n in E4_MODALITIES)})"
        raise SignalError(msg)
    if missing:
        logger.warning("%s: no %s; replaying the other E4 files", directory, ", ".join(missing))
    return {n: parse_e4_csv((directory / f"{n}.csv").read_text(), n) for n in E4_MODALITIES if n not in missing}


def _is_e4_dir(path: Path) -> bool:
    return path.is_dir() and any((path / f"{n}.csv").is_file() for n in E4_MODALITIES)


def find_recordings(paths: list[Path]) -> list[Recording]:
    """Classify each path (see the module notes); raise SignalError for anything else."""
    found: list[Recording] = []
    for path in paths:
        if _is_e4_dir(path):
            found.append(Recording("e4", path, safe_id(path.name)))
        elif path.is_dir() and any(_is_e4_dir(p) for p in path.iterdir()):
            found += [Recording("e4", p, safe_id(p.name)) for p in sorted(path.iterdir()) if _is_e4_dir(p)]
        elif path.is_file() and path.suffix == ".npz":
            found.append(Recording("egemaps", path, safe_id(path.stem)))
        elif path.is_file() and path.suffix == ".csv" and "AU" in path.open().readline():
            found.append(Recording("openface", path, safe_id(path.stem)))
        else:
            msg = f"{path}: not an E4 session directory, eGeMAPS .npz or OpenFace .csv"
            raise SignalError(msg)
    return found


def e4_start_ns(rec: Recording) -> int:
    """Session start of an E4 recording (first line of its first file), ns."""
    for name in E4_MODALITIES:
        f = rec.path / f"{name}.csv"
        if f.is_file():
            with f.open() as fh:
                first = fh.readline()
            return parse_e4_csv(first + "1\n", name).t0_ns
    msg = f"{rec.path}: no E4 files"
    raise SignalError(msg)


def _e4_earliest_ns(rec: Recording) -> int:
    """Earliest start over the session's E4 files (what :func:`recording_chunks` names the session after)."""
    starts = []
    for name in E4_MODALITIES:
        f = rec.path / f"{name}.csv"
        if f.is_file():
            with f.open() as fh:
                starts.append(parse_e4_csv(fh.readline() + "1\n", name).t0_ns)
    return min(starts)


def egemaps_chunks(
    path: Path, *, subject_id: str, t0_ns: int, chunk_s: float, clip_gap_s: float = 1.0
) -> Iterator[SensorChunk]:
    """eGeMAPS clips of one npz file as one stream, clips back to back with ``clip_gap_s`` between."""
    with np.load(path, allow_pickle=False) as z:
        columns = [str(c) for c in z["columns"]]
        stems = sorted(k for k in z.files if k != "columns")
        t, seq = t0_ns, 0
        for stem in stems:
            frames = z[stem]
            for chunk in opensmile_chunks(
                frames, columns, subject_id=subject_id, session_id=safe_id(f"egemaps-{path.stem}"),
                t0_ns=t, chunk_s=chunk_s, first_seq=seq,
            ):  # fmt: skip
                seq += 1
                yield chunk
            t += round((frames.shape[0] / 100.0 + clip_gap_s) * 1e9)


def openface_file_chunks(path: Path, *, subject_id: str, t0_ns: int, chunk_s: float) -> Iterator[SensorChunk]:
    """One OpenFace CSV as an irregular ``video_features`` stream."""
    table = parse_openface_csv(path.read_text())
    return openface_chunks(
        table, subject_id=subject_id, session_id=safe_id(f"openface-{path.stem}"), t0_ns=t0_ns, chunk_s=chunk_s
    )


def recording_chunks(
    rec: Recording, *, chunk_s: float, t0_offset_ns: int, untimed_t0_ns: int, subject_id: str | None = None
) -> Iterator[SensorChunk]:
    """Chunks of one recording in event-time order."""
    subject = subject_id or rec.subject_id
    if rec.kind == "e4":
        signals = read_e4_session(rec.path)
        start = min(s.t0_ns for s in signals.values())
        return e4_session_chunks(
            signals, subject_id=subject, session_id=f"e4-{start // 1_000_000_000}", chunk_s=chunk_s,
            t0_offset_ns=t0_offset_ns,
        )  # fmt: skip
    t0 = untimed_t0_ns + t0_offset_ns
    if rec.kind == "egemaps":
        return egemaps_chunks(rec.path, subject_id=subject, t0_ns=t0, chunk_s=chunk_s)
    return openface_file_chunks(rec.path, subject_id=subject, t0_ns=t0, chunk_s=chunk_s)


def replay_chunks(
    recordings: list[Recording],
    *,
    chunk_s: float = 1.0,
    rebase_to_ns: int | None = None,
    align_starts: bool = True,
    subject_ids: list[str] | None = None,
) -> Iterator[SensorChunk]:
    """All recordings merged in event-time order.

    Parameters
    ----------
    recordings : list of Recording
    chunk_s : float
        Chunk length, s.
    rebase_to_ns : int, optional
        Shift times so the replay starts here (e.g. now); None keeps the earliest
        recording's own unix times.
    align_starts : bool
        Shift every recording so all start together with the earliest one (or at
        ``rebase_to_ns``): several subjects recorded on different days then play
        side by side, as a live multi-subject session would.  False keeps their
        relative times (a real-speed replay then waits for the later ones).
    subject_ids : list of str, optional
        Override subject ids, one per recording.
    """
    streams = []
    for i, (rec, offset_ns, own) in enumerate(_replay_offsets(recordings, rebase_to_ns, align_starts, subject_ids)):
        streams.append(recording_chunks(
            rec, chunk_s=chunk_s, t0_offset_ns=offset_ns, untimed_t0_ns=own,
            subject_id=None if subject_ids is None else subject_ids[i],
        ))  # fmt: skip
    return merge_in_time(*streams)


def _replay_offsets(
    recordings: list[Recording], rebase_to_ns: int | None, align_starts: bool, subject_ids: list[str] | None
) -> list[tuple[Recording, int, int]]:
    """(recording, time shift ns, own start ns) of each recording in a replay (see :func:`replay_chunks`)."""
    if subject_ids is not None and len(subject_ids) != len(recordings):
        msg = f"{len(subject_ids)} subject ids for {len(recordings)} recordings"
        raise SignalError(msg)
    starts = [e4_start_ns(r) if r.kind == "e4" else None for r in recordings]
    known = [s for s in starts if s is not None]
    earliest = min(known) if known else REFERENCE_T0_NS
    target = earliest if rebase_to_ns is None else rebase_to_ns
    out = []
    for rec, start in zip(recordings, starts, strict=True):
        own = earliest if start is None or not align_starts else start
        out.append((rec, target - own, own))
    return out


def replay_markers(
    recordings: list[Recording],
    *,
    mode: str = "points",
    rebase_to_ns: int | None = None,
    align_starts: bool = True,
    subject_ids: list[str] | None = None,
    max_pairs: int = 0,
    label: str = "tag",
) -> list[Marker]:
    """Markers from the E4 button presses (``tags_*.csv``) of the recordings, shifted like their chunks.

    ``mode``: ``"points"`` (each press a point marker) or ``"pairs"`` (presses 1-2, 3-4, ... open and close
    segments ``tag1``, ``tag2``, ...; see :func:`pipeline.markers.tag_markers`). The session id is the one
    the recording's chunks carry.
    """
    from pipeline.sources.e4 import parse_e4_tags

    out: list[Marker] = []
    for i, (rec, offset_ns, _) in enumerate(_replay_offsets(recordings, rebase_to_ns, align_starts, subject_ids)):
        if rec.kind != "e4":
            continue
        tags = sorted(rec.path.glob("tags*.csv"))
        if not tags:
            continue
        times = parse_e4_tags(tags[0].read_text())
        if len(times) == 0:
            continue
        session = f"e4-{_e4_earliest_ns(rec) // 1_000_000_000}"
        subject = rec.subject_id if subject_ids is None else subject_ids[i]
        shifted = [int(t) + offset_ns for t in times]
        out += tag_markers(
            shifted, subject_id=subject, session_id=session, mode=mode,  # type: ignore[arg-type]
            label=label, max_pairs=max_pairs,
        )  # fmt: skip
    return out


def count_chunks(recordings: list[Recording], *, chunk_s: float) -> int | None:
    """Number of chunks a replay will send, for the progress bar (None if unknown cheaply)."""
    total = 0
    for r in recordings:
        if r.kind != "e4":
            return None
        for name in E4_MODALITIES:
            f = r.path / f"{name}.csv"
            if f.is_file():
                with f.open() as fh:
                    fh.readline()
                    fs = float(fh.readline().split(",")[0])
                    n = sum(1 for ln in fh if ln.strip())
                per = max(1, round(chunk_s * fs))
                total += -(-n // per)
    return total


__all__ = [
    "REFERENCE_T0_NS",
    "Recording",
    "count_chunks",
    "e4_start_ns",
    "egemaps_chunks",
    "find_recordings",
    "openface_file_chunks",
    "read_e4_session",
    "recording_chunks",
    "replay_chunks",
    "replay_markers",
]
