"""A COMPOSITE multimodal session from real recordings of different people (file I/O for replays).

No public data set here has every modality from one person, so this builds one stream set under one
subject id, labelled COMPOSITE wherever it appears (subject ``COMPOSITE01``, session ``composite``):

- wrist: a real Empatica E4 recording (Stress-Predict ``S02``: BVP, EDA, TEMP, ACC);
- speech: a real RAVDESS actor's eGeMAPS LLD frames (``Actor01``), clips back to back;
- face: the real OpenFace CSV fixture, repeated back to back (it holds ~3 s of frames);
- ECG and respiration: the real systole recording at 1000 Hz;
- EEG: SYNTHETIC (pipeline.simulate, a Muse-like headband), flagged synthetic in every chunk.

Every stream starts at the E4 recording's start. The pieces were recorded from different people at
different times: the session exercises the pipeline; its emotion readings mean nothing about anyone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from agents.sources import egemaps_chunks, read_e4_session
from pipeline.contract import SensorChunk
from pipeline.simulate import SimConfig, default_schedule, simulate_chunks
from pipeline.sources import merge_in_time
from pipeline.sources.e4 import e4_session_chunks
from pipeline.sources.openface import openface_chunks, parse_openface_csv

COMPOSITE_SUBJECT = "COMPOSITE01"
COMPOSITE_SESSION = "composite"
#: every modality of the composite session
COMPOSITE_MODALITIES = ("bvp", "eda", "temp", "acc", "audio_features", "video_features", "ecg", "resp", "eeg")


def composite_session_chunks(
    data_dir: Path,
    *,
    minutes: float = 5.0,
    chunk_s: float = 1.0,
    subject_id: str = COMPOSITE_SUBJECT,
    modalities: tuple[str, ...] = COMPOSITE_MODALITIES,
    stop_s: dict[str, float] | None = None,
) -> Iterator[SensorChunk]:
    """The COMPOSITE session's chunks in event-time order (see the module docstring).

    ``stop_s`` ends some streams early (modality -> seconds after the start), as a device that stops.
    """
    e4 = read_e4_session(data_dir / "stress-predict" / "Raw_data" / "S02")
    t0 = min(s.t0_ns for s in e4.values())
    end_ns = t0 + round(minutes * 60e9)
    streams: list[Iterator[SensorChunk]] = [
        e4_session_chunks(
            {k: dataclasses.replace(s, samples=s.samples[:, : int(minutes * 60 * s.fs_hz)]) for k, s in e4.items()},
            subject_id=subject_id,
            session_id=COMPOSITE_SESSION,
            chunk_s=chunk_s,
        ),
        egemaps_chunks(
            data_dir / "ravdess" / "frames" / "Actor01.npz", subject_id=subject_id, t0_ns=t0, chunk_s=chunk_s
        ),
        _face(data_dir / "openface" / "OpenFace_Test.csv", subject_id, t0, end_ns, chunk_s),
        *_systole(data_dir / "systole-ecg" / "task1_1000hz.npz", subject_id, t0, minutes, chunk_s),
        _eeg(subject_id, t0, minutes, chunk_s),
    ]
    stops = {m: t0 + round(s * 1e9) for m, s in (stop_s or {}).items()}
    for c in merge_in_time(*streams):
        if c.modality not in modalities or c.t0_ns >= min(end_ns, stops.get(c.modality, end_ns)):
            continue
        yield dataclasses.replace(c, session_id=COMPOSITE_SESSION)


def _face(path: Path, subject_id: str, t0_ns: int, end_ns: int, chunk_s: float) -> Iterator[SensorChunk]:
    table = parse_openface_csv(path.read_text())
    seq, t = 0, t0_ns
    while t < end_ns:
        last = t
        for c in openface_chunks(table, subject_id=subject_id, session_id=COMPOSITE_SESSION, t0_ns=t, chunk_s=chunk_s):
            assert c.timestamps_ns is not None
            last = int(c.timestamps_ns[-1])
            yield dataclasses.replace(c, seq=seq)
            seq += 1
        t = last + 33_000_000  # the next repeat one frame (~30 fps) after the last


def _systole(path: Path, subject_id: str, t0_ns: int, minutes: float, chunk_s: float) -> list[Iterator[SensorChunk]]:
    with np.load(path) as z:
        fs = float(z["fs_hz"])
        n = int(minutes * 60 * fs)
        signals = {"ecg": (z["ecg"][:n], "mV"), "resp": (z["resp"][:n], "a.u.")}
    return [_regular(x, fs, m, unit, subject_id, t0_ns, chunk_s) for m, (x, unit) in signals.items()]


def _regular(
    x: np.ndarray, fs_hz: float, modality: str, unit: str, subject_id: str, t0_ns: int, chunk_s: float
) -> Iterator[SensorChunk]:
    step = max(round(chunk_s * fs_hz), 1)
    for seq, a in enumerate(range(0, len(x), step)):
        yield SensorChunk(
            subject_id=subject_id, session_id=COMPOSITE_SESSION, device_id=f"systole-{modality}", modality=modality,
            channels=(modality,), units=(unit,), fs_hz=fs_hz, t0_ns=t0_ns + round(a / fs_hz * 1e9), seq=seq,
            samples=np.asarray(x[a : a + step], dtype=np.float32)[None, :],
        )  # fmt: skip


def _eeg(subject_id: str, t0_ns: int, minutes: float, chunk_s: float) -> Iterator[SensorChunk]:
    cfg = SimConfig(
        subjects=(subject_id,), schedule=default_schedule(minutes * 60), modalities=("eeg",), t0_ns=t0_ns,
        chunk_s=chunk_s, session_id=COMPOSITE_SESSION,
    )  # fmt: skip
    return simulate_chunks(cfg)
