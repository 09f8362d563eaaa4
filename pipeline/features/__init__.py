"""Per-window features with stable, versioned names (the models' input contract).

``window_features(modality, samples, fs_hz)`` maps ONE window of causally filtered samples
(shape ``(channels, n)``) to ``{name: value}`` with the keys of ``feature_names(modality)``, in that
order. Names follow NeuroKit's ``MODALITY_Feature`` style. A feature that cannot be computed on a
window (too few beats, flat signal, ...) is NaN; only a malformed input (wrong shape, unknown
modality) raises :class:`~pipeline.exceptions.SignalError`. Bump :data:`FEATURE_VERSION` whenever
any definition, unit or name changes.

Expected inputs (after the stream's causal filter):
- ``bvp``: 1 channel, E4 BVP units, any rate >= 16 Hz (E4: 64 Hz).
- ``ecg``: 1 channel, any units, any rate >= 100 Hz.
- ``eda``: 1 channel, uS (E4: 4 Hz).
- ``temp``: 1 channel, degC (E4: 4 Hz).
- ``acc``: 3 channels x, y, z in g (E4: 32 Hz, raw 1/64 g scaled by the stream).
- ``resp``: 1 channel, any units and rate >= 5 Hz.
- ``eeg``: named channels (uV), rate >= 100 Hz; names depend on ``channels``.
- ``audio_features``: eGeMAPS LLD channels at 100 frames/s; names depend on ``channels``.
- ``video_features``: OpenFace ``AUxx_r``/``AUxx_c`` channels; names depend on ``channels``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pipeline.exceptions import SignalError
from pipeline.features import acc, audio, bvp, ecg, eda, eeg, resp, temp, video
from pipeline.features._common import FloatArray

FEATURE_VERSION = "1.3.0"  # 1.1: HR_Mean = 60/mean IBI; +ecg. 1.2: +resp/eeg/audio/video. 1.3: numpy SCRs

FeatureFn = Callable[[FloatArray, float, tuple[str, ...]], dict[str, float]]
NamesFn = Callable[[tuple[str, ...]], tuple[str, ...]]


@dataclass(frozen=True)
class _Extractor:
    names: NamesFn
    compute: FeatureFn
    n_channels: int | None  # required channel count, None = any (>= 1)


def _fixed(names: tuple[str, ...]) -> NamesFn:
    return lambda channels: names


_REGISTRY: dict[str, _Extractor] = {
    "bvp": _Extractor(_fixed(bvp.NAMES), bvp.bvp_features, 1),
    "ecg": _Extractor(_fixed(ecg.NAMES), ecg.ecg_features, 1),
    "eda": _Extractor(_fixed(eda.NAMES), eda.eda_features, 1),
    "temp": _Extractor(_fixed(temp.NAMES), temp.temp_features, 1),
    "acc": _Extractor(_fixed(acc.NAMES), acc.acc_features, 3),
    "resp": _Extractor(_fixed(resp.NAMES), resp.resp_features, 1),
    "eeg": _Extractor(eeg.eeg_names, eeg.eeg_features, None),
    "audio_features": _Extractor(audio.audio_names, audio.audio_features, None),
    "video_features": _Extractor(video.video_names, video.video_features, None),
}


_BEATS: dict[str, Callable[[FloatArray, float], NDArray[np.int64] | None]] = {
    "bvp": bvp.bvp_peaks,
    "ecg": ecg.ecg_peaks,
}


def modalities() -> tuple[str, ...]:
    """Modalities that have a feature extractor."""
    return tuple(_REGISTRY)


def _extractor(modality: str) -> _Extractor:
    try:
        return _REGISTRY[modality]
    except KeyError:
        msg = f"no feature extractor for modality {modality!r}; known: {sorted(_REGISTRY)}"
        raise SignalError(msg) from None


def feature_names(modality: str, *, channels: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Full, ordered feature names of ``modality`` (for eeg/audio/video they depend on ``channels``)."""
    return _extractor(modality).names(channels)


def beat_peaks(modality: str, samples: NDArray[np.float64], fs_hz: float) -> NDArray[np.int64] | None:
    """Beat (bvp: systolic peak, ecg: R peak) indices of one filtered window (1, n); None for other modalities.

    Empty when detection fails. Pass the result to :func:`window_features` and
    :func:`pipeline.quality.window_quality` (``peaks=``) to detect beats once per window.
    """
    if modality not in _BEATS:
        return None
    found = _BEATS[modality](np.asarray(samples, dtype=np.float64)[0], float(fs_hz))
    return found if found is not None else np.zeros(0, dtype=np.int64)


def window_features(
    modality: str,
    samples: NDArray[np.float64],
    fs_hz: float,
    *,
    channels: tuple[str, ...] = (),
    peaks: NDArray[np.int64] | None = None,
) -> dict[str, float]:
    """Features of one window.

    Parameters
    ----------
    modality : str
        One of :func:`modalities`.
    samples : NDArray[np.float64], shape (channels, n)
        One window, already causally filtered; not modified.
    fs_hz : float
        Sampling rate in Hz.
    channels : tuple of str
        Channel names (needed by eeg/audio/video; ignored by the E4 modalities).
    peaks : NDArray[np.int64] or None
        Beats from :func:`beat_peaks` (bvp, ecg) to avoid detecting them again; ignored otherwise.

    Returns
    -------
    dict[str, float]
        Keys exactly ``feature_names(modality, channels=channels)`` in that order; NaN where not computable.
    """
    ext = _extractor(modality)
    x = np.asarray(samples, dtype=np.float64)
    _check_shape(modality, x, fs_hz, ext.n_channels, channels)
    names = ext.names(channels)
    if x.shape[1] < 2 or not np.all(np.isfinite(x)):
        return dict.fromkeys(names, float("nan"))
    if peaks is not None and modality == "bvp":
        got = bvp.bvp_features(x, float(fs_hz), channels, peaks=peaks)
    elif peaks is not None and modality == "ecg":
        got = ecg.ecg_features(x, float(fs_hz), channels, peaks=peaks)
    else:
        got = ext.compute(x, float(fs_hz), channels)
    return {name: float(got.get(name, float("nan"))) for name in names}


def _check_shape(modality: str, x: FloatArray, fs_hz: float, n_channels: int | None, channels: tuple[str, ...]) -> None:
    if x.ndim != 2:
        msg = f"{modality} window must be 2-D (channels, n), got shape {x.shape}"
        raise SignalError(msg)
    if n_channels is None and x.shape[0] != len(channels):
        msg = f"{modality} window has {x.shape[0]} rows but {len(channels)} channel names"
        raise SignalError(msg)
    if n_channels is not None and x.shape[0] != n_channels:
        msg = f"{modality} window must have {n_channels} channel(s), got {x.shape[0]}"
        raise SignalError(msg)
    if x.shape[0] < 1 or not fs_hz > 0:
        msg = f"{modality} window needs >= 1 channel and fs_hz > 0 (got {x.shape[0]}, {fs_hz})"
        raise SignalError(msg)
