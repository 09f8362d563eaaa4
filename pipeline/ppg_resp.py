"""PPG-derived respiration: a breathing waveform from a BVP recording's beats (offline; training data only).

Breathing modulates the pulse (Charlton et al. 2016, "An assessment of algorithms to estimate respiratory
rate from the electrocardiogram and photoplethysmogram", Physiol. Meas. 37:610): the pulse rate rises
during inspiration and falls during expiration (respiratory sinus arrhythmia; *RIFV*), and the pulse
amplitude falls during inspiration (*RIAV*). Each beat gives one sample of both; they are interpolated
onto a uniform clock and combined with opposite signs, which puts both in phase with inspiration.

This makes labelled respiration where no belt was worn (Stress-Predict's E4 has no respiration sensor):
the derived waveform goes through the live RESP path (``pipeline.stream`` with the ``resp`` filter,
``pipeline.features.resp``, ``pipeline.quality``) like a belt's signal. It is *offline*: the
interpolation uses the next beat and the z-scores use the whole recording. Agents never import it.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from pipeline.features.cardiac import valid_ibi_mask

FloatArray = NDArray[np.float64]


def beat_modulations(
    bvp: FloatArray, peaks: NDArray[np.int64], fs_hz: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-beat pulse rate and pulse amplitude of a filtered BVP recording.

    Parameters
    ----------
    bvp : NDArray[np.float64], shape (n,)
        Band-passed BVP (the stream's 0.5-8 Hz causal filter).
    peaks : NDArray[np.int64], shape (k,)
        Systolic peak indices (``pipeline.features.bvp.bvp_peaks``), increasing.
    fs_hz : float
        Sampling rate of ``bvp`` in Hz.

    Returns
    -------
    t_s, rate_bpm, amplitude : NDArray[np.float64], shape (m,) each
        For every beat whose interval to the previous beat is plausible (``valid_ibi_mask``): its time in
        s from the first sample, the pulse rate 60 / IBI in beats/min, and its height above the lowest
        point since the previous beat (BVP units).
    """
    if peaks.shape[0] < 2:
        empty = np.zeros(0)
        return empty, empty, empty
    ibi_s = np.diff(peaks) / fs_hz
    troughs = np.asarray([a + int(np.argmin(bvp[a:b])) for a, b in itertools.pairwise(peaks)])
    amplitude = bvp[peaks[1:]] - bvp[troughs]
    ok = valid_ibi_mask(ibi_s)
    return peaks[1:][ok] / fs_hz, 60.0 / ibi_s[ok], amplitude[ok]


def bvp_resp_offline(bvp: FloatArray, peaks: NDArray[np.int64], fs_hz: float, out_fs_hz: float) -> FloatArray:
    """A respiration waveform derived from a BVP recording (see the module docstring).

    ``z(pulse rate) - z(pulse amplitude)``, each interpolated linearly between beats onto a clock of
    ``out_fs_hz`` starting at the recording's first sample (held before the first and after the last
    valid beat) and z-scored over the recording. Stretches without valid beats become straight lines,
    which the RESP quality check scores low (``few_breaths``, ``resp_flat_segments``).

    Parameters
    ----------
    bvp : NDArray[np.float64], shape (n,)
        Band-passed BVP.
    peaks : NDArray[np.int64], shape (k,)
        Its systolic peaks.
    fs_hz, out_fs_hz : float
        Rate of ``bvp`` and of the output in Hz.

    Returns
    -------
    NDArray[np.float64], shape (floor(n / fs_hz * out_fs_hz),)
        Unit-free (z-scored); zeros when fewer than 3 valid beats exist.
    """
    n_out = int(bvp.shape[0] / fs_hz * out_fs_hz)
    t_s, rate, amp = beat_modulations(bvp, peaks, fs_hz)
    if t_s.shape[0] < 3:
        return np.zeros(n_out)
    grid_s = np.arange(n_out) / out_fs_hz
    return _zscore(np.interp(grid_s, t_s, rate)) - _zscore(np.interp(grid_s, t_s, amp))


def _zscore(x: FloatArray) -> FloatArray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)
