"""Per-stream buffering, causal filtering and event-time sliding windows (a fold).

``stream_step(state, t0_ns, samples, seq)`` feeds one chunk and returns the new state and every
window that the chunk completed. ``stream_offline`` is one ``stream_step`` over a whole recording,
so offline and live results come from the same code and are bitwise identical (see
tests/unit/test_stream_equivalence.py).

Time and gaps. The stream keeps a contiguous *segment* on the nominal sample clock (sample ``i`` at
``anchor_ns + i / fs_hz``); resampling to the nominal rate is implicit, features run at the native
rate of each modality. A chunk's ``t0_ns`` is compared with the time the next sample is expected:
- within half a sample period: contiguous (jitter is ignored);
- earlier: the overlapping samples are dropped (a chunk entirely in the past is dropped);
- later by at most ``max_gap_s``: the gap is filled by linear interpolation between the last and the
  next raw sample, and those samples are flagged (window ``gap_fraction`` and quality);
- later by more: the segment is reset (filter restarted, buffers cleared): windows overlapping the
  hole are never emitted, never interpolated.
A chunk whose ``seq`` is not above the last seen ``seq`` is a duplicate and is dropped. NaN/inf input
samples are replaced by the last finite value (flagged, reason ``nan``), so that they cannot poison
the filter state.

Windows start on the global grid (multiples of ``hop_s`` since the Unix epoch, see
:mod:`pipeline.windowing`) so all modalities of a subject line up; the filter runs once per chunk
and the stream buffers filtered samples, so a hop costs only the window's feature extraction.

Examples
--------
>>> import numpy as np
>>> cfg = default_config("temp", 4.0)                 # 60 s windows every 5 s
>>> x = np.full((1, 4 * 70), 33.0)                     # 70 s of skin temperature
>>> state = stream_init(cfg)
>>> state, w1 = stream_step(state, 0, x[:, :100], seq=0)
>>> state, w2 = stream_step(state, 25 * 10**9, x[:, 100:], seq=1)
>>> [(w.start_ns // 10**9, w.end_ns // 10**9, w.samples.shape) for w in w1 + w2]
[(0, 60, (1, 240)), (5, 65, (1, 240)), (10, 70, (1, 240))]
>>> round(w2[-1].features["TEMP_Mean"], 3), w2[-1].quality_reasons
(33.0, ())
>>> len(stream_offline(cfg, 0, x)) == len(w1 + w2)
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from pipeline import windowing as win
from pipeline.exceptions import SignalError
from pipeline.features import FEATURE_VERSION, beat_peaks, modalities, window_features
from pipeline.filters import (
    FilterConfig,
    FilterState,
    default_filter_config,
    design_sos,
    filter_init,
    filter_step,
)
from pipeline.quality import window_quality
from pipeline.resample import hold_on_grid, last_index_at_or_before, nominal_times_ns

FloatArray = NDArray[np.float64]
FLAG_OK, FLAG_GAP, FLAG_NAN = 0, 1, 2
PHYSIOLOGY = ("bvp", "ecg", "eda", "temp", "acc", "resp")
_E4_ACC_UNITS = ("1/64 g", "1/64g", "g/64")
_NAMED_CHANNELS = ("eeg", "audio_features", "video_features")


@dataclass(frozen=True)
class StreamConfig:
    """Configuration of one modality stream.

    Parameters
    ----------
    modality : str
    fs_hz : float
        Nominal sampling rate in Hz.
    window_s, hop_s : float
        Window length and hop in seconds; windows start at multiples of ``hop_s`` since the epoch.
    max_gap_s : float
        Longest gap (s) that is interpolated; longer gaps reset the stream.
    filter : FilterConfig
        The causal filter (see :mod:`pipeline.filters`).
    scale : float
        Factor applied to raw samples before anything else (E4 ACC: 1/64 to get g).
    warmup_s : float
        Windows starting within this time of a (re)start are flagged ``filter_warmup``.
    channels : tuple of str
        Channel names (passed to feature extraction); empty = unnamed.
    compute_features, keep_raw : bool
        Whether windows carry features, and the raw (scaled, unfiltered) samples.
    """

    modality: str
    fs_hz: float
    window_s: float
    hop_s: float
    max_gap_s: float
    filter: FilterConfig
    scale: float = 1.0
    warmup_s: float = 0.0
    channels: tuple[str, ...] = ()
    compute_features: bool = True
    keep_raw: bool = False


def default_config(
    modality: str,
    fs_hz: float,
    *,
    units: str | None = None,
    mains_hz: float = 50.0,
    channels: tuple[str, ...] = (),
) -> StreamConfig:
    """Defaults: physiology 60 s windows; eeg, audio, video 5 s; every hop 5 s (one shared grid).

    ``units`` "1/64 g" (the E4's ACC export) sets ``scale`` to 1/64; ``channels`` names the rows
    (required for eeg, audio_features and video_features, whose feature names depend on them).
    Tweak with ``dataclasses.replace``.
    """
    if not fs_hz > 0:
        msg = f"fs_hz must be > 0, got {fs_hz}"
        raise SignalError(msg)
    filt = default_filter_config(modality, fs_hz, mains_hz=mains_hz)
    window_s = 60.0 if modality in PHYSIOLOGY else 5.0
    scale = 1.0 / 64.0 if modality == "acc" and units in _E4_ACC_UNITS else 1.0
    corner = filt.low_hz if filt.kind in ("bandpass", "highpass") else filt.high_hz
    warmup_s = 0.0 if corner is None or filt.kind == "none" else min(2.0 / corner, window_s)
    channels = channels or (("x", "y", "z") if modality == "acc" else ())
    return StreamConfig(
        modality=modality, fs_hz=fs_hz, window_s=window_s, hop_s=5.0, max_gap_s=1.0,
        filter=filt, scale=scale, warmup_s=warmup_s, channels=channels,
    )  # fmt: skip


@dataclass(frozen=True)
class Window:
    """One emitted window of one modality.

    ``samples`` (and ``raw`` when kept) have shape (channels, n) with n = round(window_s * fs_hz);
    ``gap_fraction`` is the share of interpolated/held samples; ``quality`` is in 0..1.
    """

    modality: str
    start_ns: int
    end_ns: int
    fs_hz: float
    channels: tuple[str, ...]
    samples: FloatArray
    gap_fraction: float
    quality: float
    quality_reasons: tuple[str, ...]
    features: dict[str, float] = field(default_factory=dict)
    feature_version: str = FEATURE_VERSION
    raw: FloatArray | None = None


@dataclass(frozen=True)
class Segment:
    """The samples of one accepted chunk, never changed once made (stored once, dropped whole).

    ``start`` is the index (on the stream's current segment clock) of the first column; ``buf`` the
    filtered samples (channels, n) float64; ``raw`` the scaled raw samples (channels, n) exactly:
    float32 when that is exact (E4 and every float32 wire chunk), float64 otherwise (interpolated
    gap fills); None in memory when the filter is the identity (ACC, feature streams: raw == buf).
    ``flags`` (n,) uint8 (ok / gap / nan), None when all are ok. ``zi0`` is the filter's delay line
    before this chunk (None at a stream start), so ``buf`` can be recomputed bitwise from ``raw``:
    the stored form (:func:`stream_delta`) has ``buf`` None, :func:`stream_merge` refilters.
    ``refilter`` is False for segments converted from the previous layout (no ``zi0``; stored
    with ``buf``). ``seg_id`` numbers the stream's segments 0, 1, 2, ...; never reused.
    """

    seg_id: int
    start: int
    buf: FloatArray | None
    raw: NDArray[np.floating] | None
    flags: NDArray[np.uint8] | None = None
    zi0: FloatArray | None = None
    refilter: bool = True

    @property
    def n(self) -> int:
        """Samples in the segment."""
        arr = self.buf if self.buf is not None else self.raw
        return 0 if arr is None else int(arr.shape[1])

    @property
    def stop(self) -> int:
        """Index one past the segment's last column."""
        return self.start + self.n


@dataclass(frozen=True)
class StreamState:
    """Immutable state of one stream (never mutated: every step returns a new one).

    The configuration, a small header (filter ``zi``, clock, cursors, counters) and ``segments``,
    the immutable :class:`Segment` s that the next windows still need (one per chunk, oldest first,
    ids ``seg_first .. seg_next - 1``). A state grows by one chunk per step and only whole segments
    leave; :func:`stream_delta` / :func:`stream_merge` store the header and each segment once.
    """

    cfg: StreamConfig
    filt: FilterState
    anchor_ns: int | None = None  # event time of sample 0 of the current segment clock
    n_seen: int = 0  # samples received on this clock (index of the next sample)
    segments: tuple[Segment, ...] = ()
    seg_first: int = 0  # id of segments[0] (= seg_next when there is none)
    seg_next: int = 0  # id of the next segment
    last_raw: FloatArray | None = None  # last raw sample, (channels,)
    next_start_ns: int = 0
    last_seq: int | None = None
    n_channels: int | None = None
    n_resets: int = 0
    n_dropped_chunks: int = 0
    n_dropped_samples: int = 0
    last_frame: FloatArray | None = None  # irregular streams: last frame received, (channels,)
    last_frame_ns: int | None = None  # ... and its timestamp

    @property
    def buf_start(self) -> int:
        """Index of the first buffered sample (= n_seen when nothing is buffered)."""
        return int(self.segments[0].start) if self.segments else self.n_seen

    @property
    def n_buffered(self) -> int:
        """Samples held in ``segments``."""
        return sum(seg.n for seg in self.segments)


@dataclass(frozen=True)
class StreamHeader:
    """What changes at every chunk: a :class:`StreamState` without its config and segments.

    ``zi`` is the filter's delay line (``filt.zi``); the other fields are StreamState's.
    """

    zi: FloatArray | None
    anchor_ns: int | None
    n_seen: int
    seg_first: int
    seg_next: int
    last_raw: FloatArray | None
    next_start_ns: int
    last_seq: int | None
    n_channels: int | None
    n_resets: int
    n_dropped_chunks: int
    n_dropped_samples: int
    last_frame: FloatArray | None
    last_frame_ns: int | None


_HEADER_FIELDS = tuple(f for f in StreamHeader.__dataclass_fields__ if f != "zi")


def stream_delta(
    old: StreamState | None, new: StreamState
) -> tuple[StreamConfig | None, StreamHeader, tuple[Segment, ...], tuple[int, ...]]:
    """What to store when a stream moves from ``old`` (as stored, or None) to ``new``.

    Returns
    -------
    cfg : StreamConfig or None
        ``new.cfg`` if it is new or changed (store it), else None.
    header : StreamHeader
        Store at every step (tens of bytes plus the filter's delay line).
    added : tuple of Segment
        Segments of ``new`` that ``old`` did not have, in stored form (no ``buf``: it is
        recomputed from ``raw`` and ``zi0``); store each once, under its ``seg_id``.
    dropped : tuple of int
        Ids of ``old``'s segments that ``new`` no longer needs (delete them).
    """
    old_first, old_next = (old.seg_first, old.seg_next) if old is not None else (0, 0)
    identity = design_sos(new.cfg.filter) is None
    added = tuple(_stored(seg, identity) for seg in new.segments if seg.seg_id >= old_next)
    dropped = tuple(i for i in range(old_first, old_next) if i < new.seg_first)
    header = StreamHeader(new.filt.zi, **{f: getattr(new, f) for f in _HEADER_FIELDS})
    cfg = new.cfg if old is None or old.cfg != new.cfg else None
    return cfg, header, added, dropped


def _stored(seg: Segment, identity: bool) -> Segment:
    if not seg.refilter:
        return seg
    if identity:  # buf is the raw input (float64 copy): store it compactly
        assert seg.buf is not None
        return replace(seg, buf=None, raw=_compact(seg.buf))
    return replace(seg, buf=None)


def stream_merge(cfg: StreamConfig, header: StreamHeader, segments: Mapping[int, Segment]) -> StreamState:
    """Inverse of :func:`stream_delta`: the state from its config, header and stored segments (by id).

    Filtered samples of stored segments are recomputed from ``raw`` and ``zi0`` with the same
    ``filter_step`` call as when the chunk arrived, so the result is bitwise the live state.
    Raises SignalError if a segment the header needs is missing.
    """
    ids = range(header.seg_first, header.seg_next)
    missing = [i for i in ids if i not in segments]
    if missing:
        span = f"{header.seg_first}..{header.seg_next - 1}"
        msg = f"{cfg.modality}: stream state lacks segments {missing[:5]} (of {span})"
        raise SignalError(msg)
    identity = design_sos(cfg.filter) is None
    segs = tuple(_restored(segments[i], cfg, identity) for i in ids)
    fields = {f: getattr(header, f) for f in _HEADER_FIELDS}
    return StreamState(cfg=cfg, filt=FilterState(cfg.filter, header.zi), segments=segs, **fields)


def _restored(seg: Segment, cfg: StreamConfig, identity: bool) -> Segment:
    if seg.buf is not None:
        return seg
    assert seg.raw is not None
    x = seg.raw.astype(np.float64)
    if identity:
        return replace(seg, buf=x, raw=None)
    _, y = filter_step(FilterState(cfg.filter, seg.zi0), x)
    return replace(seg, buf=y)


def stream_state_from_legacy(obj: StreamState) -> StreamState:
    """A StreamState unpickled from the layout before segments (``buf``/``raw``/``flags``/``buf_start``).

    Its buffers become one segment (id 0); states already in the current layout are returned as they are.
    """
    old = vars(obj)
    if "buf" not in old:
        return obj
    fields = {k: v for k, v in old.items() if k not in ("buf", "raw", "flags", "buf_start")}
    buf = np.asarray(old["buf"], dtype=np.float64)
    segments: tuple[Segment, ...] = ()
    if buf.shape[1] > 0:
        raw = np.asarray(old["raw"], dtype=np.float64)
        flags = np.asarray(old["flags"], dtype=np.uint8)
        compact = None if design_sos(fields["cfg"].filter) is None else _compact(raw)
        segments = (Segment(0, int(old["buf_start"]), buf, compact, flags if flags.any() else None, refilter=False),)
    return StreamState(**fields, segments=segments, seg_first=0, seg_next=len(segments))


def stream_init(cfg: StreamConfig) -> StreamState:
    """Fresh state for ``cfg``."""
    if not (cfg.window_s > 0 and cfg.hop_s > 0 and cfg.fs_hz > 0 and cfg.max_gap_s >= 0):
        msg = f"invalid stream config: {cfg}"
        raise SignalError(msg)
    if cfg.compute_features and cfg.modality in _NAMED_CHANNELS and not cfg.channels:
        msg = f"{cfg.modality}: features need StreamConfig.channels (the channel names)"
        raise SignalError(msg)
    n_ch = len(cfg.channels) if cfg.channels else None
    return StreamState(cfg=cfg, filt=filter_init(cfg.filter), n_channels=n_ch)


def stream_offline(cfg: StreamConfig, t0_ns: int, samples: NDArray[np.floating]) -> list[Window]:
    """All windows of a whole recording (channels, n) starting at ``t0_ns``: one :func:`stream_step`."""
    return stream_step(stream_init(cfg), t0_ns, samples)[1]


def stream_step(
    state: StreamState,
    t0_ns: int,
    samples: NDArray[np.floating],
    seq: int | None = None,
    *,
    timestamps_ns: NDArray[np.int64] | None = None,
) -> tuple[StreamState, list[Window]]:
    """Feed one chunk; return the new state and the windows it completed (in time order).

    Parameters
    ----------
    state : StreamState
    t0_ns : int
        Event time (ns since the Unix epoch) of the chunk's first sample.
    samples : NDArray, shape (channels, n) or (n,) for one channel
        Raw samples (not modified).
    seq : int or None
        Producer sequence number; a chunk with ``seq`` <= the last one seen is dropped as duplicate.
    timestamps_ns : NDArray[np.int64] or None, shape (n,)
        For irregular streams (e.g. OpenFace frames): the time of every sample. The samples are then
        held (zero-order, causal) onto the nominal clock of ``cfg.fs_hz``; nominal samples whose held
        frame is older than two periods are flagged as gap; frames not after the last one are dropped.
    """
    state, x = _validated(state, samples)
    if seq is not None and state.last_seq is not None and seq <= state.last_seq:
        return replace(state, n_dropped_chunks=state.n_dropped_chunks + 1), []
    if seq is not None:
        state = replace(state, last_seq=seq)
    if x.shape[1] == 0:
        return state, []
    hold_flags: NDArray[np.uint8] | None = None
    if timestamps_ns is not None:
        state, t0_ns, x, hold_flags = _regularise(state, timestamps_ns, x)
        if x.shape[1] == 0:
            return state, []
    x, flags = _hold_nan(state.last_raw, x)
    if hold_flags is not None:
        flags = np.maximum(flags, hold_flags)
    state, x, flags = _align(state, int(t0_ns), x, flags)
    if x.shape[1] == 0:
        return state, []
    filt, y = filter_step(state.filt, x)
    raw = None if design_sos(state.cfg.filter) is None else _compact(x)  # identity filter: y is x
    seg = Segment(state.seg_next, state.n_seen, y, raw, flags if flags.any() else None, state.filt.zi)
    state = replace(
        state,
        filt=filt,
        n_seen=state.n_seen + x.shape[1],
        segments=(*state.segments, seg),
        seg_first=state.seg_first if state.segments else seg.seg_id,
        seg_next=seg.seg_id + 1,
        last_raw=x[:, -1].copy(),
    )
    return _emit(state)


def _compact(x: FloatArray) -> NDArray[np.floating]:
    """``x`` as float32 when that is exact (bitwise after conversion back), else ``x`` itself."""
    x32 = x.astype(np.float32)
    return x32 if np.array_equal(x32, x) else x


def _validated(state: StreamState, samples: NDArray[np.floating]) -> tuple[StreamState, FloatArray]:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        msg = f"{state.cfg.modality}: chunk must be (channels, n), got shape {np.shape(samples)}"
        raise SignalError(msg)
    if state.n_channels is None:
        state = replace(state, n_channels=x.shape[0])
    elif x.shape[0] != state.n_channels:
        msg = f"{state.cfg.modality}: chunk has {x.shape[0]} channels, stream has {state.n_channels}"
        raise SignalError(msg)
    return state, x * state.cfg.scale  # a new array: the input is never modified


def _regularise(
    state: StreamState, timestamps_ns: NDArray[np.int64], x: FloatArray
) -> tuple[StreamState, int, FloatArray, NDArray[np.uint8]]:
    """Irregular frames -> nominal samples not yet emitted (see :mod:`pipeline.resample`)."""
    fs_hz = state.cfg.fs_hz
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    if ts.shape != (x.shape[1],) or np.any(np.diff(ts) <= 0):
        msg = f"{state.cfg.modality}: timestamps_ns must be increasing, one per sample (got {ts.shape})"
        raise SignalError(msg)
    if state.last_frame_ns is not None:
        keep = ts > state.last_frame_ns
        ts, x = ts[keep], x[:, keep]
    empty = (state, 0, np.zeros((x.shape[0], 0)), np.zeros(0, dtype=np.uint8))
    if ts.shape[0] == 0:
        return empty
    anchor = state.anchor_ns if state.anchor_ns is not None else int(ts[0])
    first = state.n_seen if state.anchor_ns is not None else 0
    last = last_index_at_or_before(int(ts[-1]), anchor, fs_hz)
    new_state = replace(state, last_frame=x[:, -1].copy(), last_frame_ns=int(ts[-1]))
    if last < first:
        return (new_state, *empty[1:])
    times = nominal_times_ns(anchor, first, last, fs_hz)
    values, age_ns = hold_on_grid(times, ts, x, state.last_frame, state.last_frame_ns)
    flags = np.where(age_ns > 2 * win.NS_PER_S / fs_hz, FLAG_GAP, FLAG_OK).astype(np.uint8)
    return new_state, int(times[0]), values, flags


def _hold_nan(last: FloatArray | None, x: FloatArray) -> tuple[FloatArray, NDArray[np.uint8]]:
    """Replace non-finite samples by the last finite value of their channel; flag them."""
    bad = ~np.isfinite(x)
    flags = np.where(bad.any(axis=0), FLAG_NAN, FLAG_OK).astype(np.uint8)
    if not bad.any():
        return x, flags
    n = x.shape[1]
    idx = np.maximum.accumulate(np.where(bad, -1, np.arange(n)[None, :]), axis=1)
    filled = np.take_along_axis(x, np.maximum(idx, 0), axis=1)
    first_ok = np.where(bad.all(axis=1), 0.0, np.take_along_axis(x, np.argmax(~bad, axis=1)[:, None], axis=1)[:, 0])
    before = last if last is not None else first_ok
    return np.where(idx < 0, before[:, None], filled), flags


def _align(
    state: StreamState, t0_ns: int, x: FloatArray, flags: NDArray[np.uint8]
) -> tuple[StreamState, FloatArray, NDArray[np.uint8]]:
    """Place the chunk on the segment clock: start/reset, drop overlap or fill a short gap."""
    cfg = state.cfg
    if state.anchor_ns is None:
        return _new_segment(state, t0_ns), x, flags
    period_ns = win.NS_PER_S / cfg.fs_hz
    d_ns = t0_ns - win.sample_time_ns(state.anchor_ns, state.n_seen, cfg.fs_hz)
    if 2 * abs(d_ns) <= period_ns:
        return state, x, flags
    if d_ns < 0:
        k = min(round(-d_ns / period_ns), x.shape[1])
        state = replace(state, n_dropped_samples=state.n_dropped_samples + k)
        return state, x[:, k:], flags[k:]
    m = round(d_ns / period_ns)
    if m / cfg.fs_hz > cfg.max_gap_s or state.last_raw is None:
        state = _new_segment(replace(state, n_resets=state.n_resets + 1), t0_ns)
        return state, x, flags
    frac = np.arange(1, m + 1, dtype=np.float64) / (m + 1)
    fill = state.last_raw[:, None] + (x[:, :1] - state.last_raw[:, None]) * frac[None, :]
    gap_flags = np.full(m, FLAG_GAP, dtype=np.uint8)
    return state, np.concatenate([fill, x], axis=1), np.concatenate([gap_flags, flags])


def _new_segment(state: StreamState, t0_ns: int) -> StreamState:
    return replace(
        state,
        filt=filter_init(state.cfg.filter),
        anchor_ns=t0_ns,
        n_seen=0,
        segments=(),
        seg_first=state.seg_next,
        next_start_ns=win.grid_ceil(t0_ns, win.seconds_to_ns(state.cfg.hop_s)),
    )


def _emit(state: StreamState) -> tuple[StreamState, list[Window]]:
    cfg = state.cfg
    anchor = state.anchor_ns
    assert anchor is not None
    hop_ns = win.seconds_to_ns(cfg.hop_s)
    n_win = win.n_samples(cfg.window_s, cfg.fs_hz)
    out: list[Window] = []
    start = state.next_start_ns
    while True:
        i0, i1 = win.window_bounds(start, anchor, cfg.fs_hz, n_win)
        if i1 > state.n_seen:
            break
        out.append(_make_window(state, start, i0, i1))
        start += hop_ns
    if not out:
        return state, out
    keep = win.first_index_at_or_after(start, anchor, cfg.fs_hz)  # first sample the next window needs
    segments = tuple(seg for seg in state.segments if seg.stop > keep)
    seg_first = segments[0].seg_id if segments else state.seg_next
    return replace(state, next_start_ns=start, segments=segments, seg_first=seg_first), out


def _gather(state: StreamState, a: int, b: int) -> tuple[FloatArray, FloatArray, NDArray[np.uint8]]:
    """Filtered, raw (float64) and flags of samples ``a .. b-1`` (segment clock indices)."""
    parts = [
        (seg, max(a - seg.start, 0), min(b, seg.stop) - seg.start)
        for seg in state.segments
        if seg.stop > a and seg.start < b
    ]
    if not parts or parts[0][0].start + parts[0][1] != a or parts[-1][0].start + parts[-1][2] != b:
        msg = f"{state.cfg.modality}: samples {a}..{b} are not buffered"
        raise SignalError(msg)
    y = np.concatenate([_req(seg.buf)[:, i:j] for seg, i, j in parts], axis=1)
    raw = np.concatenate([_req(seg.buf if seg.raw is None else seg.raw)[:, i:j] for seg, i, j in parts], axis=1)
    flags = np.concatenate(
        [np.zeros(j - i, dtype=np.uint8) if seg.flags is None else seg.flags[i:j] for seg, i, j in parts]
    )
    return y, raw.astype(np.float64, copy=False), flags


def _req(arr: NDArray[np.floating] | None) -> NDArray[np.floating]:
    if arr is None:
        msg = "stream segment has no samples in memory (a stored segment not passed through stream_merge)"
        raise SignalError(msg)
    return arr


def _make_window(state: StreamState, start_ns: int, a: int, b: int) -> Window:
    cfg = state.cfg
    y, raw, flags = _gather(state, a, b)  # new arrays (np.concatenate): windows never alias the state
    bad = float(np.mean(flags != FLAG_OK))
    anchor = state.anchor_ns if state.anchor_ns is not None else start_ns
    warmup = start_ns < anchor + win.seconds_to_ns(cfg.warmup_s)
    peaks = beat_peaks(cfg.modality, y, cfg.fs_hz)  # bvp/ecg: detect beats once for quality and features
    nan_seen = bool(np.any(flags == FLAG_NAN))
    q = window_quality(cfg.modality, raw, y, cfg.fs_hz, bad_fraction=bad, nan_seen=nan_seen, warmup=warmup, peaks=peaks)
    feats: dict[str, float] = {}
    if cfg.compute_features and cfg.modality in modalities():
        feats = window_features(cfg.modality, y, cfg.fs_hz, channels=cfg.channels, peaks=peaks)
    y.setflags(write=False)
    raw.setflags(write=False)
    return Window(
        modality=cfg.modality,
        start_ns=start_ns,
        end_ns=start_ns + win.seconds_to_ns(cfg.window_s),
        fs_hz=cfg.fs_hz,
        channels=cfg.channels,
        samples=y,
        gap_fraction=bad,
        quality=q.score,
        quality_reasons=q.reasons,
        features=feats,
        raw=raw if cfg.keep_raw else None,
    )
