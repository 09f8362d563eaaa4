"""Signal quality of one window in 0..1 with machine-readable reasons.

The score is a product of penalties, each reported as a reason when it applies:

- ``gap``: share of samples that were interpolated across a short gap or held over NaN input
  (score x (1 - share)); ``nan``: some raw input was NaN/inf (counted in the same share).
- ``flat``: a channel is constant over the whole window (score 0; not checked for TEMP, whose
  E4 quantisation makes minutes-long constant stretches normal; for ACC (one still axis at the E4's
  1/64 g resolution) and audio/video feature streams only when every channel is constant).
- ``clipping`` (not for temp, acc, eda, audio/video features): more than 1 % of a channel's samples
  sit at its extreme value (score x (1 - 5 x share)).
- ``filter_warmup``: the window starts within the causal filter's settling time after a stream
  (re)start (score x 0.5).
- ``eda_no_contact``: mean skin conductance below 0.02 uS (score x 0.1); otherwise, when more than 1 %
  of the samples lie below 0.02 uS (the strap lost contact for part of the window: a flat line near
  0 uS), score x max(0.1, 1 - 2 x that share).
- ``temp_implausible``: mean skin temperature outside 20..42 degC (score x 0.1).
- ``beat_template_mismatch`` (BVP, ECG): the mean correlation of each beat with the window's average
  beat (the "templatematch" approach of ``nk.ppg_quality``/Orphanidou et al. 2015, reimplemented in
  numpy because NeuroKit's version costs ~0.1 s per window) is below 0.6; score x that correlation.
- ``few_valid_beats`` (BVP, ECG): plausible inter-beat intervals cover < 60 % of the window.
- ``few_breaths`` (RESP): fewer than :data:`RESP_MIN_BREATHS` breaths (score 0), or plausible
  breath-to-breath intervals (1.5..15 s) cover < 60 % of the window (score x that coverage): noise,
  a loose belt, or a pause in breathing.
- ``resp_flat_segments`` (RESP): share of 5-s epochs whose peak-to-peak is below 10 % of the window's
  5-95 % range (the belt went flat for part of the window); score x (1 - share).
- ``breath_amplitude_unstable`` (RESP): the coefficient of variation of the breaths' peak-to-trough
  amplitudes is above 1 (spikes or tiny false breaths next to real ones); score x 1 / CV.
- ``motion`` (any modality, when an ACC window in g is given): mean 1-s summed per-axis std above
  0.1 g; score x max(0, 1 - (activity - 0.1) / 0.4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pipeline.features.bvp import bvp_peaks
from pipeline.features.cardiac import valid_ibi_mask
from pipeline.features.ecg import ecg_peaks
from pipeline.features.resp import BB_MAX_S, BB_MIN_S, resp_breaths

FloatArray = NDArray[np.float64]

_ALL_FLAT_ONLY = ("audio_features", "video_features", "acc")
MIN_TEMPLATE_CORR = 0.6
MIN_BEAT_COVERAGE = 0.6
#: skin conductance below this (uS) means the electrodes have no skin contact
EDA_CONTACT_US = 0.02
#: EDA: share of samples below EDA_CONTACT_US above which the window is penalised (partial contact loss)
EDA_CONTACT_SHARE = 0.01
#: RESP: fewest breaths in a window for any quality; coverage of plausible breath intervals below which it drops
RESP_MIN_BREATHS = 3
RESP_MIN_BREATH_COVERAGE = 0.6
#: RESP: epoch length (s) and share of the window's 5-95 % range below which an epoch counts as flat
RESP_FLAT_EPOCH_S = 5.0
RESP_FLAT_RANGE_SHARE = 0.1
#: RESP: largest coefficient of variation of breath amplitudes without penalty
RESP_MAX_AMPLITUDE_CV = 1.0
MOTION_THRESHOLD_G = 0.1
MOTION_FULL_PENALTY_G = 0.5


@dataclass(frozen=True)
class Quality:
    """Score in 0..1 and the ordered reasons that lowered it."""

    score: float
    reasons: tuple[str, ...]


class _Acc:
    def __init__(self) -> None:
        self.score = 1.0
        self.reasons: list[str] = []

    def penalise(self, reason: str, factor: float) -> None:
        self.score *= float(np.clip(factor, 0.0, 1.0))
        self.reasons.append(reason)


def window_quality(
    modality: str,
    raw: FloatArray,
    filtered: FloatArray,
    fs_hz: float,
    *,
    bad_fraction: float = 0.0,
    nan_seen: bool = False,
    warmup: bool = False,
    acc_g: FloatArray | None = None,
    acc_fs_hz: float = 32.0,
    peaks: NDArray[np.int64] | None = None,
) -> Quality:
    """Quality of one window.

    Parameters
    ----------
    modality : str
    raw, filtered : NDArray[np.float64], shape (channels, n)
        The window before and after the causal filter (raw after unit scaling).
    fs_hz : float
    bad_fraction : float
        Share of samples interpolated over gaps or held over NaN input.
    nan_seen : bool
        Whether any of those bad samples came from NaN input.
    warmup : bool
        Whether the window lies in the filter's settling time.
    acc_g : NDArray[np.float64] or None, shape (3, m)
        Simultaneous accelerometer window in g, for the motion penalty.
    acc_fs_hz : float
        Sampling rate of ``acc_g`` in Hz.
    peaks : NDArray[np.int64] or None
        Beats of the filtered window (bvp, ecg) if already detected; detected here otherwise.
    """
    acc = _Acc()
    if bad_fraction > 0:
        acc.penalise("gap", 1.0 - bad_fraction)
    if nan_seen:
        acc.reasons.append("nan")
    if warmup:
        acc.penalise("filter_warmup", 0.5)
    _generic_checks(acc, modality, raw)
    _modality_checks(acc, modality, raw, filtered, fs_hz, peaks)
    if acc_g is not None:
        _motion_check(acc, acc_g, acc_fs_hz)
    return Quality(score=acc.score, reasons=tuple(acc.reasons))


def _generic_checks(acc: _Acc, modality: str, raw: FloatArray) -> None:
    n = raw.shape[1]
    if n < 2:
        return
    ptp = np.ptp(raw, axis=1)
    if modality in _ALL_FLAT_ONLY:  # a constant channel is normal here (unvoiced jitter, a still ACC axis)
        if np.all(ptp == 0):
            acc.penalise("flat", 0.0)
        return
    if modality != "temp" and np.any(ptp == 0):
        acc.penalise("flat", 0.0)
        return
    at_max = np.mean(raw == raw.max(axis=1, keepdims=True), axis=1)
    at_min = np.mean(raw == raw.min(axis=1, keepdims=True), axis=1)
    share = float(max(at_max.max(), at_min.max()))
    if modality not in ("temp", "acc", "eda") and share > 0.01:
        acc.penalise("clipping", 1.0 - 5.0 * share)


def _modality_checks(
    acc: _Acc, modality: str, raw: FloatArray, filtered: FloatArray, fs_hz: float, peaks: NDArray[np.int64] | None
) -> None:
    if modality == "eda":
        share = float(np.mean(raw[0] < EDA_CONTACT_US)) if raw.shape[1] else 0.0
        if float(np.mean(raw)) < EDA_CONTACT_US:
            acc.penalise("eda_no_contact", 0.1)
        elif share > EDA_CONTACT_SHARE:
            acc.penalise("eda_no_contact", max(0.1, 1.0 - 2.0 * share))
    elif modality == "temp" and not 20.0 <= float(np.mean(raw)) <= 42.0:
        acc.penalise("temp_implausible", 0.1)
    elif modality in ("bvp", "ecg") and "flat" not in acc.reasons:
        x = filtered[0]
        if peaks is None:
            peaks = bvp_peaks(x, fs_hz) if modality == "bvp" else ecg_peaks(x, fs_hz)
        _beat_checks(acc, x, peaks, fs_hz)
    elif modality == "resp" and "flat" not in acc.reasons:
        _resp_checks(acc, filtered[0], fs_hz)


def beat_template_correlation(x: FloatArray, peaks: NDArray[np.int64], fs_hz: float) -> float:
    """Mean Pearson correlation of each beat of ``x`` (n,) with the average beat; NaN if < 3 beats.

    Beats span from 1/3 of the median inter-beat interval before each peak to 2/3 after it.
    """
    if peaks.shape[0] < 4:
        return float("nan")
    med = int(np.median(np.diff(peaks)))
    pre, post = med // 3, med - med // 3
    ok = peaks[(peaks - pre >= 0) & (peaks + post <= x.shape[0])]
    if ok.shape[0] < 3 or med < 4:
        return float("nan")
    beats = x[ok[:, None] + np.arange(-pre, post)[None, :]]
    beats = beats - beats.mean(axis=1, keepdims=True)
    tmpl = beats.mean(axis=0)
    denom = np.linalg.norm(beats, axis=1) * np.linalg.norm(tmpl)
    corr = np.where(denom > 0, beats @ tmpl / np.where(denom > 0, denom, 1.0), 0.0)
    return float(np.mean(corr))


def _beat_checks(acc: _Acc, x: FloatArray, peaks: NDArray[np.int64] | None, fs_hz: float) -> None:
    if peaks is None or peaks.shape[0] < 4:
        acc.penalise("few_valid_beats", 0.0)
        return
    ibi_s = np.diff(peaks) / fs_hz
    coverage = float(ibi_s[valid_ibi_mask(ibi_s)].sum() / (x.shape[0] / fs_hz))
    if coverage < MIN_BEAT_COVERAGE:
        acc.penalise("few_valid_beats", coverage)
    corr = beat_template_correlation(x, peaks, fs_hz)
    if not corr >= MIN_TEMPLATE_CORR:
        acc.penalise("beat_template_mismatch", 0.0 if np.isnan(corr) else corr)


def resp_breath_coverage(peaks: NDArray[np.int64], fs_hz: float, n: int) -> float:
    """Share of a window of ``n`` samples covered by plausible breath-to-breath intervals (1.5..15 s)."""
    bb_s = np.diff(peaks) / fs_hz
    ok = (bb_s >= BB_MIN_S) & (bb_s <= BB_MAX_S)
    return float(bb_s[ok].sum() / (n / fs_hz)) if n else 0.0


def resp_flat_share(x: FloatArray, fs_hz: float) -> float:
    """Share of the :data:`RESP_FLAT_EPOCH_S` epochs of ``x`` (n,) whose peak-to-peak is below
    :data:`RESP_FLAT_RANGE_SHARE` of the window's 5-95 % range; 0 for a window shorter than one epoch."""
    per = max(round(RESP_FLAT_EPOCH_S * fs_hz), 1)
    n_ep = x.shape[0] // per
    lo, hi = np.percentile(x, [5.0, 95.0])
    if n_ep == 0 or not hi > lo:
        return 0.0
    ptp = np.ptp(x[: n_ep * per].reshape(n_ep, per), axis=1)
    return float(np.mean(ptp < RESP_FLAT_RANGE_SHARE * (hi - lo)))


def breath_amplitude_cv(x: FloatArray, peaks: NDArray[np.int64], troughs: NDArray[np.int64]) -> float:
    """Coefficient of variation of the peak-to-trough amplitudes of ``x`` (n,); NaN with < 3 breaths."""
    k = min(peaks.shape[0], troughs.shape[0])
    if k < 3:
        return float("nan")
    amp = np.abs(x[peaks[:k]] - x[troughs[:k]])
    mean = float(amp.mean())
    return float(amp.std() / mean) if mean > 0 else float("nan")


def _resp_checks(acc: _Acc, x: FloatArray, fs_hz: float) -> None:
    found = resp_breaths(x, fs_hz)
    peaks, troughs = found if found is not None else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    if peaks.shape[0] < RESP_MIN_BREATHS:
        acc.penalise("few_breaths", 0.0)
        return
    coverage = resp_breath_coverage(peaks, fs_hz, x.shape[0])
    if coverage < RESP_MIN_BREATH_COVERAGE:
        acc.penalise("few_breaths", coverage)
    flat = resp_flat_share(x, fs_hz)
    if flat > 0:
        acc.penalise("resp_flat_segments", 1.0 - flat)
    cv = breath_amplitude_cv(x, peaks, troughs)
    if cv > RESP_MAX_AMPLITUDE_CV:
        acc.penalise("breath_amplitude_unstable", 1.0 / cv)


def motion_activity_g(acc_g: FloatArray, fs_hz: float) -> float:
    """Mean over 1-s epochs of the summed per-axis std of ``acc_g`` (3, m) in g; NaN if < 1 s."""
    per = max(round(fs_hz), 1)
    n_ep = acc_g.shape[1] // per
    if n_ep == 0:
        return float("nan")
    ep = acc_g[:, : n_ep * per].reshape(acc_g.shape[0], n_ep, per)
    return float(ep.std(axis=2).sum(axis=0).mean())


def motion_penalty(acc_g: FloatArray, acc_fs_hz: float) -> Quality:
    """Motion factor from a simultaneous ACC window ``acc_g`` (3, m) in g (reason ``motion``)."""
    acc = _Acc()
    _motion_check(acc, acc_g, acc_fs_hz)
    return Quality(score=acc.score, reasons=tuple(acc.reasons))


def _motion_check(acc: _Acc, acc_g: FloatArray, acc_fs_hz: float) -> None:
    activity = motion_activity_g(acc_g, acc_fs_hz)
    if activity > MOTION_THRESHOLD_G:
        span = MOTION_FULL_PENALTY_G - MOTION_THRESHOLD_G
        acc.penalise("motion", 1.0 - (activity - MOTION_THRESHOLD_G) / span)
