"""Export a subject's retained raw streams and markers from Kafka to files (``emopipe export``).

Kafka keeps the raw topics for ``agents.topics.RAW_RETENTION_MS`` (7 days by default); export what
you want to keep before then. Every raw stream of the subject (one per session, device and modality)
becomes one table:

Parquet (default, pyarrow)
    ``<subject>_<session>_<modality>_<device>.parquet``: columns ``t_ns`` (int64 unix ns of each
    sample: ``t0_ns + round(i * 1e9 / fs_hz)`` within a chunk, or the chunk's own timestamps for
    irregular streams), ``segment`` (int32, +1 at every gap) and one float32 column per channel with
    the values exactly as the device sent them. A gap (a chunk that does not start where the previous
    one ended, within half a sample) starts a new segment; no value is invented. The schema metadata
    ``emopipe`` holds the stream's subject, session, device, modality, channels, units, fs_hz, synthetic.
    Markers: ``<subject>_<session>_markers.parquet`` and ``markers.jsonl`` (the JSON lines
    ``emopipe score --labels`` reads).
EDF+ / BDF+ (pyedflib)
    One file per stream and continuous segment (``..._seg<k>.edf`` / ``.bdf``; a gap starts a new
    file), one signal per channel, start time with microseconds, markers inside the segment as
    annotations (``start:LABEL``, ``end:LABEL``, ``LABEL``). Values are quantised to 16 bits (EDF) or
    24 bits (BDF) between the segment's minimum and maximum: the error is at most one step,
    ``(max - min) / 65535`` (EDF) or ``(max - min) / 16777215`` (BDF). EDF stores whole 1 s data
    records: the last record is padded with the last value, and an annotation ``emopipe:end`` marks
    where the real samples end. Irregular streams (no fixed rate) have no EDF form and are skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deploy.settings import MODALITIES, Settings
from pipeline.codec import decode_chunk
from pipeline.contract import SensorChunk
from pipeline.exceptions import ContractError
from pipeline.markers import Marker, encode_marker

logger = logging.getLogger(__name__)

FORMATS = ("parquet", "edf", "bdf")


@dataclass
class StreamTable:
    """One stream's samples in time order: ``t_ns`` (n,), ``values`` (channels, n) float32, ``segment`` (n,)."""

    subject_id: str
    session_id: str
    device_id: str
    modality: str
    channels: tuple[str, ...]
    units: tuple[str, ...]
    fs_hz: float | None
    synthetic: bool
    t_ns: NDArray[np.int64]
    values: NDArray[np.float32]
    segment: NDArray[np.int32]

    @property
    def name(self) -> str:
        """File stem: ``<subject>_<session>_<modality>_<device>`` with unsafe characters replaced."""
        raw = f"{self.subject_id}_{self.session_id}_{self.modality}_{self.device_id}"
        return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in raw)


def stream_table(chunks: Sequence[SensorChunk]) -> StreamTable:
    """Join one stream's chunks (any order, duplicates of a ``seq`` dropped) into a :class:`StreamTable`."""
    by_seq: dict[int, SensorChunk] = {}
    for c in chunks:
        by_seq.setdefault(c.seq, c)
    ordered = [by_seq[k] for k in sorted(by_seq)]
    first = ordered[0]
    ts, vals, seg = [], [], []
    segment, expected = 0, None
    for c in ordered:
        n = c.samples.shape[1]
        if c.fs_hz is not None:
            t = c.t0_ns + np.round(np.arange(n) * (1e9 / c.fs_hz)).astype(np.int64)
            half = 0.5e9 / c.fs_hz
            if expected is not None and abs(c.t0_ns - expected) > half:
                segment += 1
            expected = c.t0_ns + round(n * 1e9 / c.fs_hz)
        else:
            t = np.asarray(c.timestamps_ns, dtype=np.int64)
        ts.append(t)
        vals.append(np.asarray(c.samples, dtype=np.float32))
        seg.append(np.full(n, segment, np.int32))
    return StreamTable(
        first.subject_id, first.session_id, first.device_id, first.modality, tuple(first.channels),
        tuple(first.units), first.fs_hz, bool(first.synthetic), np.concatenate(ts), np.concatenate(vals, axis=1),
        np.concatenate(seg),
    )  # fmt: skip


def collect(
    settings: Settings, subject_id: str, session_id: str | None = None
) -> tuple[list[StreamTable], list[Marker]]:
    """Read the subject's retained raw chunks and markers from Kafka; one table per stream."""
    from agents.markers import read_markers, read_subject

    streams: dict[tuple[str, str, str], list[SensorChunk]] = {}
    bad = 0
    topics = [settings.raw_topic(m) for m in MODALITIES]
    for _, value in read_subject(settings, topics, subject_id):
        try:
            c = decode_chunk(value)
        except ContractError:
            bad += 1
            continue
        if c.subject_id != subject_id or (session_id is not None and c.session_id != session_id):
            continue
        streams.setdefault((c.session_id, c.device_id, c.modality), []).append(c)
    if bad:
        logger.warning("skipped %d malformed raw message(s) of %s (they are in the dead-letter topic)", bad, subject_id)
    tables = [stream_table(v) for _, v in sorted(streams.items())]
    return tables, read_markers(settings, subject_id, session_id)


def write_parquet(tables: Iterable[StreamTable], markers: Sequence[Marker], out_dir: Path) -> list[Path]:
    """Write each stream and the markers as Parquet (plus ``markers.jsonl``); returns the paths written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for tb in tables:
        cols: dict[str, Any] = {"t_ns": pa.array(tb.t_ns, pa.int64()), "segment": pa.array(tb.segment, pa.int32())}
        for i, ch in enumerate(tb.channels):
            cols[ch] = pa.array(tb.values[i], pa.float32())
        meta = {
            "subject_id": tb.subject_id, "session_id": tb.session_id, "device_id": tb.device_id,
            "modality": tb.modality, "channels": list(tb.channels), "units": list(tb.units), "fs_hz": tb.fs_hz,
            "synthetic": tb.synthetic, "gaps": "segment +1 at each gap; t_ns is each sample's time",
        }  # fmt: skip
        table = pa.table(cols).replace_schema_metadata({"emopipe": json.dumps(meta)})
        path = out_dir / f"{tb.name}.parquet"
        pq.write_table(table, path)
        written.append(path)
    written += write_markers(markers, out_dir)
    return written


def write_markers(markers: Sequence[Marker], out_dir: Path) -> list[Path]:
    """``markers.jsonl`` (always) and ``markers.parquet`` (when there are markers)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out_dir.mkdir(parents=True, exist_ok=True)
    ms = sorted(markers, key=lambda m: m.t_ns)
    jl = out_dir / "markers.jsonl"
    jl.write_text("".join(encode_marker(m).decode() + "\n" for m in ms))
    if not ms:
        return [jl]
    cols = {k: [getattr(m, k) for m in ms] for k in ("subject_id", "session_id", "t_ns", "kind", "label", "source")}
    path = out_dir / "markers.parquet"
    pq.write_table(pa.table(cols), path)
    return [jl, path]


def write_edf(
    tables: Iterable[StreamTable], markers: Sequence[Marker], out_dir: Path, *, bdf: bool = False
) -> list[Path]:
    """Write each regular stream's continuous segments as EDF+ (or BDF+) files with marker annotations."""
    import datetime as dt

    import pyedflib

    out_dir.mkdir(parents=True, exist_ok=True)
    dmax = 8_388_607 if bdf else 32_767
    ftype = pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS
    written = []
    for tb in tables:
        if tb.fs_hz is None or abs(tb.fs_hz - round(tb.fs_hz)) > 1e-9:
            logger.warning("%s: no fixed integer rate (fs_hz=%s); EDF needs one, skipped", tb.name, tb.fs_hz)
            continue
        fs = round(tb.fs_hz)
        session_markers = [m for m in markers if m.session_id == tb.session_id]
        for k in np.unique(tb.segment):
            sel = tb.segment == k
            t, x = tb.t_ns[sel], tb.values[:, sel].astype(np.float64)
            n = x.shape[1]
            n_rec = -(-n // fs)
            padded = np.concatenate([x, np.repeat(x[:, -1:], n_rec * fs - n, axis=1)], axis=1)
            path = out_dir / f"{tb.name}_seg{int(k)}.{'bdf' if bdf else 'edf'}"
            w = pyedflib.EdfWriter(str(path), len(tb.channels), file_type=ftype)
            try:
                headers = []
                for i, ch in enumerate(tb.channels):
                    lo, hi = _physical_range(padded[i])
                    headers.append({
                        "label": ch[:16], "dimension": (tb.units[i] if i < len(tb.units) else "")[:8],
                        "sample_frequency": fs, "physical_min": lo, "physical_max": hi,
                        "digital_min": -dmax - 1, "digital_max": dmax, "transducer": tb.device_id[:80],
                        "prefilter": "",
                    })  # fmt: skip
                w.setSignalHeaders(headers)
                w.setPatientCode(tb.subject_id[:80].replace(" ", "_"))
                w.setRecordingAdditional(f"{tb.session_id}_{tb.modality}"[:80].replace(" ", "_"))
                w.setStartdatetime(dt.datetime.fromtimestamp(int(t[0]) / 1e9, tz=dt.UTC).replace(tzinfo=None))
                w.writeSamples([np.ascontiguousarray(padded[i]) for i in range(len(tb.channels))])
                start_ns = _edf_start_ns(int(t[0]))
                end_ns = int(t[-1]) + round(1e9 / fs)
                for m in session_markers:
                    if start_ns <= m.t_ns < end_ns:
                        text = m.label if m.kind == "point" else f"{m.kind}:{m.label}"
                        w.writeAnnotation((m.t_ns - start_ns) / 1e9, -1, text)
                w.writeAnnotation(n / fs, -1, "emopipe:end")
            finally:
                w.close()
            written.append(path)
    written += write_markers(markers, out_dir)
    return written


def _edf_start_ns(t0_ns: int) -> int:
    """The start time EDF+ stores for a segment starting at ``t0_ns`` (microsecond resolution)."""
    return (t0_ns // 1000) * 1000


def _physical_range(x: NDArray[np.float64]) -> tuple[float, float]:
    """Physical min/max for EDF's 8-character header fields that contain ``x`` (widened when flat)."""
    lo, hi = float(np.min(x)), float(np.max(x))
    if hi - lo < 1e-6 * max(1.0, abs(hi)):
        lo, hi = lo - 1.0, hi + 1.0
    # 8 characters: round outwards at the precision that fits
    for digits in range(6, -1, -1):
        a = np.floor(lo * 10**digits) / 10**digits
        b = np.ceil(hi * 10**digits) / 10**digits
        if len(f"{a:.{digits}f}") <= 8 and len(f"{b:.{digits}f}") <= 8:
            return float(f"{a:.{digits}f}"), float(f"{b:.{digits}f}")
    msg = f"values {lo}..{hi} do not fit EDF's 8-character physical range"
    raise ValueError(msg)


def quantisation_step(lo: float, hi: float, *, bdf: bool = False) -> float:
    """Size of one digital step of an EDF (16 bit) or BDF (24 bit) signal with physical range lo..hi."""
    return (hi - lo) / ((2**24 if bdf else 2**16) - 1)
