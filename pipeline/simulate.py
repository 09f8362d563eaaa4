"""SYNTHETIC multi-subject, multimodal sensor streams that follow a ground-truth state schedule.

Every chunk made here has ``synthetic=True``.  The data is for load tests, demos
and plumbing checks; it says nothing about real physiology and must never be
used to train or evaluate a model that is reported as an emotion classifier.

Each subject follows a schedule of :class:`Segment` s (``baseline`` / ``stress``).
State changes what the simulators are asked for (:data:`STATE_PARAMS`):

- ecg (neurokit2 ``ecg_simulate``), bvp (``ppg_simulate``): heart rate
- eda (``eda_simulate``): skin-conductance responses per minute and tonic level
- resp (``rsp_simulate``): breathing rate
- eeg: 1/f background plus a 10 Hz alpha and a 20 Hz beta rhythm; alpha is
  stronger at rest, beta under stress
- temp: peripheral temperature is lower under stress
- acc: gravity plus movement that is larger under stress
- audio_features: loudness / F0 / jitter / shimmer / HNR frames at 100 Hz
- video_features: AU04_r (brow lowerer) up and AU12_r (lip corner puller) down
  under stress, ~30 fps with jittered (irregular) timestamps

Signals are generated piece by piece (at most ``piece_s`` seconds, never across a
segment boundary) so memory stays bounded for recordings of any length; each
piece is seeded from ``(seed, subject, modality, piece)`` so output is fully
deterministic given the seed.  Pieces are independent draws, so waveforms can
jump at piece boundaries.

Examples
--------
>>> cfg = SimConfig(subjects=("sim01",), schedule=default_schedule(60.0), modalities=("eda",))
>>> chunks = list(simulate_chunks(cfg))
>>> len(chunks), chunks[0].synthetic, state_at(cfg.schedule, 45.0)
(60, True, 'stress')
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

import neurokit2 as nk
import numpy as np
from numpy.typing import NDArray
from scipy import signal

from pipeline.contract import MODALITIES, SensorChunk
from pipeline.exceptions import SignalError
from pipeline.sources import merge_in_time

State = Literal["baseline", "stress"]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Segment:
    """A stretch of the schedule in one state."""

    state: State
    duration_s: float


@dataclass(frozen=True)
class StateParams:
    """What a state asks of the simulators."""

    heart_rate_bpm: float
    scr_per_min: float
    eda_tonic_us: float
    resp_rate_bpm: float
    alpha_uv: float
    beta_uv: float
    temp_offset_c: float
    movement_g: float
    loudness: float
    f0_semitone: float
    au04: float
    au12: float


STATE_PARAMS: Final[dict[str, StateParams]] = {
    "baseline": StateParams(68.0, 2.0, 2.0, 14.0, 12.0, 3.0, 0.0, 0.02, 0.6, 30.0, 0.3, 1.2),
    "stress": StateParams(92.0, 8.0, 4.0, 22.0, 4.0, 8.0, -0.4, 0.08, 1.1, 35.0, 1.5, 0.3),
}

#: modality -> (rate Hz or None for irregular, channels, units)
LAYOUT: Final[dict[str, tuple[float | None, tuple[str, ...], tuple[str, ...]]]] = {
    "eeg": (256.0, ("AF7", "AF8", "TP9", "TP10"), ("uV",) * 4),  # a Muse-like headband
    "ecg": (256.0, ("ecg",), ("mV",)),
    "eda": (4.0, ("eda",), ("uS",)),
    "bvp": (64.0, ("bvp",), ("a.u.",)),
    "temp": (4.0, ("temp",), ("degC",)),
    "resp": (32.0, ("resp",), ("a.u.",)),
    "acc": (32.0, ("x", "y", "z"), ("g", "g", "g")),
    "audio_features": (
        100.0,
        (
            "Loudness_sma3",
            "F0semitoneFrom27.5Hz_sma3nz",
            "jitterLocal_sma3nz",
            "shimmerLocaldB_sma3nz",
            "HNRdBACF_sma3nz",
        ),
        ("sone", "semitone", "", "dB", "dB"),
    ),
    "video_features": (None, ("AU04_r", "AU12_r", "AU04_c", "AU12_c"), ("intensity 0-5",) * 2 + ("presence 0/1",) * 2),
}
VIDEO_FPS: Final[float] = 30.0


def default_schedule(duration_s: float, *, segment_s: float = 30.0) -> tuple[Segment, ...]:
    """Alternate baseline and stress segments of ``segment_s`` (the last one cut to fit)."""
    if not duration_s > 0 or not segment_s > 0:
        msg = f"duration_s and segment_s must be > 0, got {duration_s}, {segment_s}"
        raise SignalError(msg)
    out: list[Segment] = []
    t = 0.0
    while t < duration_s - 1e-9:
        d = min(segment_s, duration_s - t)
        out.append(Segment("baseline" if len(out) % 2 == 0 else "stress", d))
        t += d
    return tuple(out)


def state_at(schedule: tuple[Segment, ...], t_s: float) -> State:
    """Ground-truth state at ``t_s`` seconds after the start (the last state after the end)."""
    end = 0.0
    for seg in schedule:
        end += seg.duration_s
        if t_s < end:
            return seg.state
    return schedule[-1].state


@dataclass(frozen=True)
class SimConfig:
    """A simulation: who, how long, what.

    Attributes
    ----------
    subjects : tuple of str
        Subject ids; each gets its own random physiology and streams.
    schedule : tuple of Segment
        Ground-truth states, shared by all subjects.
    modalities : tuple of str
        Which streams to produce (default: all).
    t0_ns : int
        Start time, ns since the epoch (injected; nothing here reads a clock).
    chunk_s : float
        Chunk length, s.
    seed : int
    piece_s : float
        Longest block generated at once, s (bounds memory).
    session_id : str
    """

    subjects: tuple[str, ...]
    schedule: tuple[Segment, ...]
    modalities: tuple[str, ...] = MODALITIES
    t0_ns: int = 1_700_000_000_000_000_000
    chunk_s: float = 1.0
    seed: int = 0
    piece_s: float = 60.0
    session_id: str = "sim"
    params: dict[str, StateParams] = field(default_factory=lambda: dict(STATE_PARAMS))

    @property
    def duration_s(self) -> float:
        """Total length of the schedule, s."""
        return float(sum(s.duration_s for s in self.schedule))


@dataclass(frozen=True)
class _Piece:
    state: State
    start_s: float
    end_s: float
    index: int


def _pieces(cfg: SimConfig) -> Iterator[_Piece]:
    t, k = 0.0, 0
    for seg in cfg.schedule:
        end = t + seg.duration_s
        while t < end - 1e-9:
            stop = min(t + cfg.piece_s, end)
            yield _Piece(seg.state, t, stop, k)
            t, k = stop, k + 1
        t = end


def _rng(cfg: SimConfig, subject: int, modality: str, piece: int) -> np.random.Generator:
    return np.random.default_rng([cfg.seed, subject, MODALITIES.index(modality), piece])


def _subject_scale(cfg: SimConfig, subject: int) -> float:
    """Per-subject physiology factor (0.9-1.1), so subjects differ."""
    return float(np.random.default_rng([cfg.seed, subject, 999]).uniform(0.9, 1.1))


Generator = Callable[[StateParams, int, float, np.random.Generator, float], FloatArray]


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def _fit(x: object, n: int, what: str) -> FloatArray:
    """First ``n`` samples of a neurokit2 output as a (1, n) row (neurokit may return fewer or more)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.size < n:
        msg = f"neurokit2 {what} returned {arr.size} samples, needed {n}"
        raise SignalError(msg)
    return arr[None, :n]


def _nk_duration_s(n: int, fs: float) -> int:
    # whole seconds (eda_simulate needs an integer length), at least 10 s (rsp_simulate fails on shorter)
    return max(int(np.ceil(n / fs)) + 1, 10)


def _gen_ecg(p: StateParams, n: int, fs: float, rng: np.random.Generator, scale: float) -> FloatArray:
    x = nk.ecg_simulate(
        duration=_nk_duration_s(n, fs),
        sampling_rate=int(fs),
        heart_rate=p.heart_rate_bpm * scale,
        method="simple",
        noise=0.02,
        random_state=_seed(rng),
    )
    return _fit(x, n, "ecg_simulate")


def _gen_bvp(p: StateParams, n: int, fs: float, rng: np.random.Generator, scale: float) -> FloatArray:
    x = nk.ppg_simulate(
        duration=_nk_duration_s(n, fs),
        sampling_rate=int(fs),
        heart_rate=p.heart_rate_bpm * scale,
        random_state=_seed(rng),
    )
    return 50.0 * _fit(x, n, "ppg_simulate")


def _gen_eda(p: StateParams, n: int, fs: float, rng: np.random.Generator, scale: float) -> FloatArray:
    n_scr = int(rng.poisson(p.scr_per_min * n / fs / 60.0))
    x = nk.eda_simulate(
        duration=_nk_duration_s(n, fs),
        sampling_rate=int(fs),
        scr_number=n_scr,
        drift=0.0,
        noise=0.005,
        random_state=_seed(rng),
    )
    return _fit(x, n, "eda_simulate") - 1.0 + p.eda_tonic_us * scale


def _gen_resp(p: StateParams, n: int, fs: float, rng: np.random.Generator, scale: float) -> FloatArray:
    x = nk.rsp_simulate(
        duration=_nk_duration_s(n, fs),
        sampling_rate=int(fs),
        respiratory_rate=p.resp_rate_bpm * scale,
        method="breathmetrics",
        random_state=_seed(rng),
    )
    return _fit(x, n, "rsp_simulate")


def _gen_eeg(p: StateParams, n: int, fs: float, rng: np.random.Generator, scale: float) -> FloatArray:
    n_ch = len(LAYOUT["eeg"][1])
    white = rng.standard_normal((n_ch, n))
    pink = signal.lfilter(
        [0.049922035, -0.095993537, 0.050612699, -0.004408786],
        [1, -2.494956002, 2.017265875, -0.522189400],
        white,
        axis=1,
    )
    out = 10.0 * pink
    for amp, lo, hi in ((p.alpha_uv, 8.0, 12.0), (p.beta_uv, 15.0, 25.0)):
        sos = signal.butter(4, [lo, hi], btype="bandpass", fs=fs, output="sos")
        band = signal.sosfilt(sos, rng.standard_normal((n_ch, n)), axis=1)
        band = band / max(float(np.std(band)), 1e-12) * amp * scale
        out = out + band
    return np.asarray(out, dtype=np.float64)


def _gen_temp(p: StateParams, n: int, fs: float, rng: np.random.Generator, scale: float) -> FloatArray:
    drift = signal.lfilter([0.002], [1, -0.998], rng.standard_normal(n))
    level = 33.5 + 0.5 * scale + p.temp_offset_c
    return np.asarray(level + drift + 0.01 * rng.standard_normal(n), dtype=np.float64)[None, :]


def _gen_acc(p: StateParams, n: int, fs: float, rng: np.random.Generator, scale: float) -> FloatArray:
    gravity = np.array([[0.0], [0.2], [0.98]])
    move = signal.lfilter([0.2], [1, -0.8], rng.standard_normal((3, n)), axis=1)
    return np.asarray(gravity + p.movement_g * scale * move, dtype=np.float64)


def _gen_audio(p: StateParams, n: int, fs: float, rng: np.random.Generator, scale: float) -> FloatArray:
    voiced = signal.lfilter([0.05], [1, -0.95], rng.standard_normal(n)) > -0.1
    loud = np.clip(p.loudness * scale + 0.2 * rng.standard_normal(n), 0.0, None)
    f0 = np.where(voiced, p.f0_semitone * scale + 2.0 * rng.standard_normal(n), 0.0)
    jitter = np.where(voiced, np.abs(0.02 + 0.01 * rng.standard_normal(n)), 0.0)
    shimmer = np.where(voiced, np.abs(1.0 + 0.3 * rng.standard_normal(n)), 0.0)
    hnr = np.where(voiced, 8.0 - 2.0 * (p.loudness - 0.6) + rng.standard_normal(n), 0.0)
    return np.vstack([loud, f0, jitter, shimmer, hnr])


def _gen_video(p: StateParams, n: int, fs: float, rng: np.random.Generator, scale: float) -> FloatArray:
    au04 = np.clip(p.au04 * scale + 0.3 * rng.standard_normal(n), 0.0, 5.0)
    au12 = np.clip(p.au12 * scale + 0.3 * rng.standard_normal(n), 0.0, 5.0)
    return np.vstack([au04, au12, (au04 > 1.0).astype(float), (au12 > 1.0).astype(float)])


GENERATORS: Final[dict[str, Generator]] = {
    "eeg": _gen_eeg, "ecg": _gen_ecg, "eda": _gen_eda, "bvp": _gen_bvp, "temp": _gen_temp,
    "resp": _gen_resp, "acc": _gen_acc, "audio_features": _gen_audio, "video_features": _gen_video,
}  # fmt: skip


def _chunk(
    cfg: SimConfig,
    subject: str,
    modality: str,
    seq: int,
    t0_ns: int,
    x: FloatArray,
    ts: NDArray[np.int64] | None = None,
) -> SensorChunk:
    fs, channels, units = LAYOUT[modality]
    return SensorChunk(
        subject_id=subject, session_id=cfg.session_id, device_id=f"sim-{modality}", modality=modality,
        channels=channels, units=units, fs_hz=fs, t0_ns=t0_ns, seq=seq,
        samples=np.ascontiguousarray(x, dtype=np.float32), timestamps_ns=ts, synthetic=True,
    )  # fmt: skip


def _regular_stream(cfg: SimConfig, index: int, subject: str, modality: str) -> Iterator[SensorChunk]:
    fs, channels, _ = LAYOUT[modality]
    assert fs is not None
    n_chunk = max(1, round(cfg.chunk_s * fs))
    scale = _subject_scale(cfg, index)
    pending = np.zeros((len(channels), 0))
    done, seq = 0, 0  # samples already emitted, next seq
    for piece in _pieces(cfg):
        n = round(piece.end_s * fs) - round(piece.start_s * fs)
        if n <= 0:
            continue
        x = GENERATORS[modality](cfg.params[piece.state], n, fs, _rng(cfg, index, modality, piece.index), scale)
        pending = np.concatenate([pending, x], axis=1)
        while pending.shape[1] >= n_chunk:
            yield _chunk(cfg, subject, modality, seq, cfg.t0_ns + round(done * 1e9 / fs), pending[:, :n_chunk])
            pending, done, seq = pending[:, n_chunk:], done + n_chunk, seq + 1
    if pending.shape[1]:
        yield _chunk(cfg, subject, modality, seq, cfg.t0_ns + round(done * 1e9 / fs), pending)


def _video_stream(cfg: SimConfig, index: int, subject: str) -> Iterator[SensorChunk]:
    scale = _subject_scale(cfg, index)
    times = np.zeros(0)
    values = np.zeros((len(LAYOUT["video_features"][1]), 0))
    seq = 0
    for piece in _pieces(cfg):
        rng = _rng(cfg, index, "video_features", piece.index)
        k = np.arange(np.ceil(piece.start_s * VIDEO_FPS), np.ceil(piece.end_s * VIDEO_FPS))
        t = k / VIDEO_FPS + rng.uniform(0.0, 0.003, k.size)  # decoder jitter < one frame period
        t = t[t < piece.end_s]
        x = _gen_video(cfg.params[piece.state], t.size, VIDEO_FPS, rng, scale)
        times, values = np.concatenate([times, t]), np.concatenate([values, x], axis=1)
        complete = times < np.floor(piece.end_s / cfg.chunk_s) * cfg.chunk_s
        for chunk in _bin_frames(cfg, subject, seq, times[complete], values[:, complete]):
            seq += 1
            yield chunk
        times, values = times[~complete], values[:, ~complete]
    yield from _bin_frames(cfg, subject, seq, times, values)


def _bin_frames(cfg: SimConfig, subject: str, seq: int, t_s: FloatArray, x: FloatArray) -> Iterator[SensorChunk]:
    bins = np.floor(t_s / cfg.chunk_s)
    for k, b in enumerate(np.unique(bins)):
        sel = bins == b
        ts = cfg.t0_ns + np.round(t_s[sel] * 1e9).astype(np.int64)
        yield _chunk(cfg, subject, "video_features", seq + k, int(ts[0]), x[:, sel], ts)


def simulate_chunks(cfg: SimConfig) -> Iterator[SensorChunk]:
    """All streams of all subjects, interleaved in event-time order, lazily.

    Yields
    ------
    SensorChunk
        ``synthetic=True``; ``subject_id`` from ``cfg.subjects``, ``session_id`` =
        ``cfg.session_id``, ``device_id`` = ``"sim-<modality>"``; ``seq`` from 0 per
        stream.  Memory holds at most one piece per stream.
    """
    unknown = [m for m in cfg.modalities if m not in LAYOUT]
    if unknown or not cfg.subjects or not cfg.schedule:
        msg = f"need subjects, a schedule and known modalities (unknown: {unknown})"
        raise SignalError(msg)
    streams = [
        _video_stream(cfg, i, subj) if mod == "video_features" else _regular_stream(cfg, i, subj, mod)
        for i, subj in enumerate(cfg.subjects)
        for mod in cfg.modalities
    ]
    return merge_in_time(*streams)


__all__ = [
    "LAYOUT",
    "STATE_PARAMS",
    "Segment",
    "SimConfig",
    "StateParams",
    "default_schedule",
    "simulate_chunks",
    "state_at",
]
