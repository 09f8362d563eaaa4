"""Causal, stateful filters as folds: ``filter_init(cfg) -> state``; ``filter_step(state, x) -> (state, y)``.

The live path runs ``scipy.signal.sosfilt`` chunk by chunk, carrying the filter's delay line ``zi``
in the (picklable, immutable) state, so feeding a recording in any chunking gives bitwise the same
output as one call over the whole recording. The delay line starts in steady state for a constant
input equal to the first sample (``sosfilt_zi * x[0]``), which avoids the large start-up transient
of a zero initial state (a band-pass then starts at ~0 instead of jumping by the DC level).

Zero-phase filtering (``sosfiltfilt``) is only available as :func:`filter_offline` and must never
be used by the live path.

Default bands per modality (:func:`default_filter_config`): ECG 0.5-40 Hz, BVP 0.5-8 Hz (NeuroKit's
"elgendi" PPG band), EDA low-pass 1 Hz, EEG 1-45 Hz plus a mains notch (50 or 60 Hz), RESP
0.05-1 Hz, TEMP low-pass 0.5 Hz, ACC/audio/video none (ACC features need DC posture and all
movement frequencies; audio and video streams are already frame-level features).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from pipeline.exceptions import SignalError

FloatArray = NDArray[np.float64]
Band = Literal["bandpass", "lowpass", "highpass", "none"]


@dataclass(frozen=True)
class FilterConfig:
    """Design of one causal IIR filter.

    Parameters
    ----------
    fs_hz : float
        Sampling rate in Hz.
    kind : {"bandpass", "lowpass", "highpass", "none"}
        Butterworth type; "none" is the identity.
    low_hz, high_hz : float or None
        Corner frequencies in Hz (as the kind requires). A corner at or above 0.45 * fs_hz is
        lowered to 0.45 * fs_hz (or dropped for a band-pass, which becomes a high-pass).
    order : int
        Butterworth order (a band-pass of order N has 2N poles).
    notch_hz : tuple of float
        Frequencies of IIR notches (Q = 30) added in series; ignored at or above Nyquist.
    """

    fs_hz: float
    kind: Band = "none"
    low_hz: float | None = None
    high_hz: float | None = None
    order: int = 2
    notch_hz: tuple[float, ...] = ()


_DEFAULTS: dict[str, tuple[Band, float | None, float | None, int]] = {
    "ecg": ("bandpass", 0.5, 40.0, 2),
    "bvp": ("bandpass", 0.5, 8.0, 3),
    "eda": ("lowpass", None, 1.0, 2),
    "eeg": ("bandpass", 1.0, 45.0, 2),
    "resp": ("bandpass", 0.05, 1.0, 2),
    "temp": ("lowpass", None, 0.5, 2),
}


def default_filter_config(modality: str, fs_hz: float, *, mains_hz: float = 50.0) -> FilterConfig:
    """The default causal filter of ``modality`` at ``fs_hz`` (identity for unknown modalities)."""
    if modality not in _DEFAULTS:
        return FilterConfig(fs_hz=fs_hz)
    kind, low, high, order = _DEFAULTS[modality]
    notch = (mains_hz,) if modality == "eeg" else ()
    return FilterConfig(fs_hz=fs_hz, kind=kind, low_hz=low, high_hz=high, order=order, notch_hz=notch)


def _effective(cfg: FilterConfig) -> FilterConfig:
    """Clamp corners to the Nyquist range (documented in :class:`FilterConfig`)."""
    ceiling = 0.45 * cfg.fs_hz
    if cfg.kind in ("lowpass", "bandpass") and cfg.high_hz is not None and cfg.high_hz >= ceiling:
        if cfg.kind == "bandpass":
            return replace(cfg, kind="highpass", high_hz=None)
        return replace(cfg, high_hz=ceiling)
    return cfg


@lru_cache(maxsize=256)
def design_sos(cfg: FilterConfig) -> FloatArray | None:
    """Second-order sections of ``cfg``, shape ``(sections, 6)``, or None for the identity."""
    eff = _effective(cfg)
    parts: list[FloatArray] = []
    if eff.kind != "none":
        wn: float | list[float]
        if eff.kind == "bandpass":
            wn = [_req(eff.low_hz), _req(eff.high_hz)]
        elif eff.kind == "lowpass":
            wn = _req(eff.high_hz)
        else:
            wn = _req(eff.low_hz)
        parts.append(np.asarray(signal.butter(eff.order, wn, btype=eff.kind, fs=eff.fs_hz, output="sos")))
    for f0 in eff.notch_hz:
        if f0 < 0.5 * eff.fs_hz:
            b, a = signal.iirnotch(f0, 30.0, fs=eff.fs_hz)
            parts.append(np.asarray(signal.tf2sos(b, a)))
    if not parts:
        return None
    sos = np.concatenate(parts, axis=0).astype(np.float64)
    return sos


def _req(value: float | None) -> float:
    if value is None:
        msg = "filter corner frequency missing for this filter kind"
        raise SignalError(msg)
    return value


@dataclass(frozen=True)
class FilterState:
    """State of a causal filter: its config and the delay line ``zi`` (sections, channels, 2).

    ``zi`` is None until the first sample arrives (it is initialised from that sample).
    """

    cfg: FilterConfig
    zi: FloatArray | None = None


def filter_init(cfg: FilterConfig) -> FilterState:
    """Fresh state of the filter ``cfg``; the delay line is set from the first sample seen."""
    design_sos(cfg)  # validate early
    return FilterState(cfg=cfg)


def filter_step(state: FilterState, x: FloatArray) -> tuple[FilterState, FloatArray]:
    """Filter one chunk ``x`` (shape ``(channels, n)``) causally; returns (new state, y of same shape).

    ``x`` is not modified. Zero-length chunks return the state unchanged.
    """
    if x.ndim != 2:
        msg = f"filter_step expects (channels, n), got shape {x.shape}"
        raise SignalError(msg)
    sos = design_sos(state.cfg)
    if sos is None or x.shape[1] == 0:
        return state, np.array(x, dtype=np.float64, copy=True)
    zi = state.zi
    if zi is None:
        zi = signal.sosfilt_zi(sos)[:, None, :] * x[None, :, 0, None]
    elif zi.shape[1] != x.shape[0]:
        msg = f"filter state has {zi.shape[1]} channels, chunk has {x.shape[0]}"
        raise SignalError(msg)
    y, zf = signal.sosfilt(sos, x, axis=-1, zi=zi)
    return FilterState(cfg=state.cfg, zi=np.asarray(zf)), np.asarray(y, dtype=np.float64)


def filter_offline(cfg: FilterConfig, x: FloatArray) -> FloatArray:
    """Zero-phase (``sosfiltfilt``) version of ``cfg`` over a whole recording ``x`` (channels, n).

    Offline analysis and reference comparisons only: it looks into the future.
    """
    sos = design_sos(cfg)
    if sos is None:
        return np.array(x, dtype=np.float64, copy=True)
    return np.asarray(signal.sosfiltfilt(sos, x, axis=-1), dtype=np.float64)
