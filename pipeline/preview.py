"""Compact previews of completed windows for the dashboard (pure code).

A preview is what a person needs to *see* one window of one modality: each channel decimated to at
most ``max_points`` values (min/max pairs per bucket for oscillating signals such as BVP, ECG,
EEG, ACC; bucket means for slow ones such as EDA and TEMP), quantised to integer levels
``0..LEVELS`` (63) between the channel's rounded minimum and maximum, one character per value
(the URL-safe base64 alphabet, ``.`` for a bucket without a finite sample), plus the window's quality (0..1),
its reasons and gap fraction. Accelerometer windows are reduced to one channel, the magnitude of
the first three axes. Wide feature streams (audio LLDs, facial action units) keep their first
``max_channels`` channels; ``n_channels`` says how many there were.

The encoding is compact JSON (a few hundred bytes per window and modality) so the emit-side
preview agent can store it in Redis verbatim and a browser can parse it directly.

Examples
--------
>>> import numpy as np
>>> from pipeline.stream import Window
>>> w = Window("eda", 0, 60_000_000_000, 4.0, ("eda",), np.linspace(1.0, 2.0, 240)[None, :], 0.0, 0.9, ())
>>> p = window_preview(w, subject_id="S02", session_id="s1")
>>> len(p.channels[0].values), p.channels[0].mode
(60, 'mean')
>>> decode_preview(encode_preview(p)) == p
True
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.exceptions import ContractError
from pipeline.stream import Window

PREVIEW_VERSION = 1
#: quantisation levels: a value is stored as round((x - lo) / (hi - lo) * LEVELS); -1 marks a missing value
LEVELS = 63
#: level q is encoded as ALPHABET[q]; a missing value as MISSING
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MISSING = "."
_LEVEL_OF = {c: i for i, c in enumerate(ALPHABET)} | {MISSING: -1}
#: default number of values per channel: longer channels are cut into max_points / 2 buckets, each giving
#: its mean (mean mode) or its min and max (min/max mode)
DEFAULT_MAX_POINTS = 120
DEFAULT_MAX_CHANNELS = 4
#: modalities drawn from bucket means (slow signals); the others from min/max envelopes
MEAN_MODALITIES: frozenset[str] = frozenset({"eda", "temp"})

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ChannelPreview:
    """One decimated, quantised channel.

    ``values`` are integer levels in ``0..LEVELS`` (-1: no finite sample in that bucket); the
    physical value of level ``q`` is ``lo + q / LEVELS * (hi - lo)``. ``mode`` is ``"raw"`` (every
    sample), ``"mean"`` (bucket means) or ``"minmax"`` (min, max of each bucket, interleaved).
    """

    name: str
    lo: float
    hi: float
    mode: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class WindowPreview:
    """Preview of one window of one modality of one subject."""

    subject_id: str
    session_id: str
    modality: str
    start_ns: int
    end_ns: int
    fs_hz: float
    n_samples: int
    n_channels: int
    quality: float
    reasons: tuple[str, ...]
    gap_fraction: float
    channels: tuple[ChannelPreview, ...]
    version: int = PREVIEW_VERSION


def _round_sig(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits (0 stays 0)."""
    if x == 0 or not math.isfinite(x):
        return 0.0
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def _decimate(y: FloatArray, mode: str, max_points: int) -> tuple[str, FloatArray]:
    """Decimate one channel of shape (n,) to at most ``max_points`` values; returns (mode, values)."""
    n = y.shape[0]
    if n <= max_points:
        return "raw", y
    n_buckets = max_points // 2
    starts = np.linspace(0, n, n_buckets + 1).astype(np.int64)[:-1]  # n > max_points: every bucket non-empty
    finite = np.isfinite(y)
    counts = np.add.reduceat(finite.astype(np.int64), starts)
    if mode == "minmax":
        lo = np.minimum.reduceat(np.where(finite, y, np.inf), starts)
        hi = np.maximum.reduceat(np.where(finite, y, -np.inf), starts)
        out = np.stack([lo, hi], axis=1).reshape(-1)
        out[np.repeat(counts == 0, 2)] = np.nan
    else:
        sums = np.add.reduceat(np.where(finite, y, 0.0), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return mode, out


def _quantise(v: FloatArray) -> tuple[float, float, tuple[int, ...]]:
    """(lo, hi, levels) of values ``v`` of shape (k,); NaN -> -1."""
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return 0.0, 0.0, tuple(-1 for _ in range(v.shape[0]))
    lo, hi = _round_sig(float(finite.min())), _round_sig(float(finite.max()))
    # rounding may move lo above the minimum or hi below the maximum: clip the levels
    span = hi - lo
    if span <= 0:
        levels = np.where(np.isfinite(v), 0, -1)
    else:
        scaled = np.clip(np.round((np.nan_to_num(v, nan=lo) - lo) / span * LEVELS), 0, LEVELS)
        levels = np.where(np.isfinite(v), scaled, -1)
    return lo, hi, tuple(int(q) for q in levels)


def window_preview(
    w: Window,
    *,
    subject_id: str,
    session_id: str = "",
    max_points: int = DEFAULT_MAX_POINTS,
    max_channels: int = DEFAULT_MAX_CHANNELS,
) -> WindowPreview:
    """Compact preview of a completed window.

    Parameters
    ----------
    w
        The window; ``w.samples`` has shape (channels, n) at ``w.fs_hz``.
    subject_id, session_id
        Whose window it is (a window does not carry them).
    max_points
        At most this many values per channel (>= 2).
    max_channels
        Keep at most this many channels (ACC is first reduced to its magnitude).
    """
    if max_points < 2 or max_channels < 1:
        msg = f"max_points must be >= 2 and max_channels >= 1, got {max_points}, {max_channels}"
        raise ValueError(msg)
    samples = np.asarray(w.samples, dtype=np.float64)
    if samples.ndim != 2:
        msg = f"window samples must have shape (channels, n), got {samples.shape}"
        raise ContractError(msg)
    names = tuple(w.channels) or tuple(f"ch{i}" for i in range(samples.shape[0]))
    n_channels = samples.shape[0]
    if w.modality == "acc" and n_channels >= 3:
        samples = np.sqrt(np.sum(samples[:3] ** 2, axis=0))[None, :]
        names = ("magnitude",)
    mode = "mean" if w.modality in MEAN_MODALITIES else "minmax"
    channels = []
    for name, y in zip(names[:max_channels], samples[:max_channels], strict=False):
        used, v = _decimate(y, mode, max_points)
        lo, hi, levels = _quantise(v)
        channels.append(ChannelPreview(str(name), lo, hi, used, levels))
    return WindowPreview(
        subject_id=subject_id,
        session_id=session_id,
        modality=w.modality,
        start_ns=int(w.start_ns),
        end_ns=int(w.end_ns),
        fs_hz=float(w.fs_hz),
        n_samples=int(samples.shape[1]),
        n_channels=int(n_channels),
        quality=round(float(w.quality), 3),
        reasons=tuple(str(r) for r in w.quality_reasons),
        gap_fraction=round(float(w.gap_fraction), 3),
        channels=tuple(channels),
    )


def _chars(levels: tuple[int, ...]) -> str:
    return "".join(MISSING if q < 0 else ALPHABET[q] for q in levels)


def _levels(text: str) -> tuple[int, ...]:
    try:
        return tuple(_LEVEL_OF[ch] for ch in text)
    except KeyError as exc:
        msg = f"preview values contain {exc.args[0]!r}, not a level character"
        raise ContractError(msg) from None


def preview_to_dict(p: WindowPreview) -> dict[str, Any]:
    """Plain-JSON dict of a preview (the shape the dashboard's JavaScript reads)."""
    return {
        "v": p.version,
        "subject_id": p.subject_id,
        "session_id": p.session_id,
        "modality": p.modality,
        "start_ns": p.start_ns,
        "end_ns": p.end_ns,
        "fs_hz": p.fs_hz,
        "n_samples": p.n_samples,
        "n_channels": p.n_channels,
        "quality": p.quality,
        "reasons": list(p.reasons),
        "gap_fraction": p.gap_fraction,
        "levels": LEVELS,
        "channels": [
            {"name": c.name, "lo": c.lo, "hi": c.hi, "mode": c.mode, "y": _chars(c.values)} for c in p.channels
        ],
    }


def encode_preview(p: WindowPreview) -> bytes:
    """Compact UTF-8 JSON of a preview."""
    return json.dumps(preview_to_dict(p), separators=(",", ":")).encode()


def decode_preview(data: bytes | str) -> WindowPreview:
    """Parse a preview; ContractError for anything malformed."""
    try:
        d = json.loads(data)
        if d["v"] != PREVIEW_VERSION:
            msg = f"unknown preview version {d['v']!r}"
            raise ContractError(msg)
        channels = tuple(
            ChannelPreview(str(c["name"]), float(c["lo"]), float(c["hi"]), str(c["mode"]), _levels(c["y"]))
            for c in d["channels"]
        )
        p = WindowPreview(
            subject_id=str(d["subject_id"]),
            session_id=str(d["session_id"]),
            modality=str(d["modality"]),
            start_ns=int(d["start_ns"]),
            end_ns=int(d["end_ns"]),
            fs_hz=float(d["fs_hz"]),
            n_samples=int(d["n_samples"]),
            n_channels=int(d["n_channels"]),
            quality=float(d["quality"]),
            reasons=tuple(str(r) for r in d["reasons"]),
            gap_fraction=float(d["gap_fraction"]),
            channels=channels,
        )
    except ContractError:
        raise
    except Exception as exc:
        msg = f"malformed preview ({type(exc).__name__}: {exc})"
        raise ContractError(msg) from exc
    if not p.subject_id or not p.modality:
        msg = "preview needs a subject_id and a modality"
        raise ContractError(msg)
    if any(q < -1 or q > LEVELS for c in p.channels for q in c.values):
        msg = f"preview levels must be in -1..{LEVELS}"
        raise ContractError(msg)
    return p
