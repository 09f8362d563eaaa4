"""Heads: a model card plus the module that turns a subject's slot into the model's input.

The head registry maps a card's ``input.kind`` to its head class; adding a head is a card plus (for a
new kind) a class registered in :data:`HEAD_KINDS`, never an edit of the agents. The worker loads the
heads named in its settings (:func:`load_heads`), derives its stream configuration from their cards
(:func:`pipeline.plan.stream_plan`, which refuses a card that does not fit), and the classify stage calls
each head through the interface of :mod:`pipeline.heads`: ``spec``, ``new_state()``,
``prepare(state, mm) -> (state, x)`` and ``predict_proba(xs) -> (B, C)``.

===================  ===========================  ===============================================
kind                 head                         input
===================  ===========================  ===============================================
features             :class:`FeatureHead`         personal-baseline z-scores of window features
window_sequence      :class:`FeatureHead`         the last K such vectors (``LoadedModel.prepare``)
video_features       :class:`VectorHead`          AU window features in the card's order (learned)
action_units         :class:`ActionUnitHead`      mean AU intensities (EMFACS rules)
lld+functionals      :class:`SpeechHead`          LLD frames + functionals, speaker-normalised
raw                  :class:`RawHead`             the window's samples, per-window z-score (EEG)
===================  ===========================  ===============================================

``input.substitutes`` in a card maps a model feature to a stream feature that measures the same
quantity (the ECG head reads ECG heart rate and HRV where the stress model was trained on BVP's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.exceptions import ModelError
from models.export import read_card
from models.registry import LoadedModel, load
from pipeline.assembly import MultimodalWindow
from pipeline.emfacs import au_vector
from pipeline.exceptions import PlanError, SignalError
from pipeline.features.audio import audio_features, audio_names
from pipeline.plan import HeadSpec, StreamPlan, head_spec, stream_plan

#: the heads a worker runs by default (card names in the model directory; see Settings.heads)
DEFAULT_HEADS: tuple[str, ...] = (
    "stress_binary",
    "stress_ecg",
    "stress_resp",
    "ravdess_emotion",
    "emfacs_video",
    "eeg_synthetic",
)


def merged_features(mm: MultimodalWindow) -> dict[str, float]:
    """All present windows' features of one slot in one dict (keys are modality-prefixed)."""
    out: dict[str, float] = {}
    for w in mm.windows.values():
        out.update(w.features)
    return out


class Head:
    """Base: a loaded card and module; subclasses define ``new_state`` and ``prepare``."""

    def __init__(self, model: LoadedModel) -> None:
        self.model = model
        self.card = model.card
        self.spec: HeadSpec = head_spec(model.card)

    def new_state(self) -> Any:
        """Per-subject state (plain data)."""
        return None

    def prepare(self, state: Any, mm: MultimodalWindow) -> tuple[Any, Any]:
        """One slot (in time order) -> (state, model input)."""
        raise NotImplementedError

    def predict_proba(self, xs: Sequence[Any]) -> NDArray[np.float64]:
        """Probabilities ``(B, C)`` of a batch of prepared inputs."""
        return self.model.predict_proba(np.stack([np.asarray(x, dtype=np.float32) for x in xs]))


class FeatureHead(Head):
    """Window-feature models with a personal baseline (``features``; ``window_sequence``: last K windows)."""

    def __init__(self, model: LoadedModel) -> None:
        super().__init__(model)
        self.substitutes: dict[str, str] = dict(self.card["input"].get("substitutes", {}))

    def new_state(self) -> Any:
        return self.model.new_state()

    def prepare(self, state: Any, mm: MultimodalWindow) -> tuple[Any, Any]:
        feats = merged_features(mm)
        for model_key, stream_key in self.substitutes.items():
            feats[model_key] = feats.get(stream_key, float("nan"))
        return self.model.prepare(state, feats)


class VectorHead(Head):
    """A learned model on window features in the card's order, no per-subject state (NaN -> 0)."""

    def prepare(self, state: Any, mm: MultimodalWindow) -> tuple[Any, Any]:
        feats = merged_features(mm)
        x = np.asarray([feats.get(k, np.nan) for k in self.card["input"]["feature_names"]], dtype=np.float32)
        return state, np.nan_to_num(x)


class ActionUnitHead(Head):
    """EMFACS rules on the window's mean AU intensities (``VIDEO_AUxx_Intensity_Mean``)."""

    def prepare(self, state: Any, mm: MultimodalWindow) -> tuple[Any, Any]:
        feats = merged_features(mm)
        aus = {k[len("VIDEO_") : -len("_Intensity_Mean")]: v for k, v in feats.items() if k.endswith("_Intensity_Mean")}
        return state, au_vector(aus).astype(np.float32)


def _channel_rows(spec: HeadSpec, channels: Sequence[str], want: Sequence[str]) -> list[int]:
    missing = [c for c in want if c not in channels]
    if missing:
        msg = f"head {spec.name}: stream lacks channels {missing} (has {list(channels)})"
        raise SignalError(msg)
    return [list(channels).index(c) for c in want]


class RawHead(Head):
    """A network on the window's filtered samples, z-scored per window and channel (the EEG model).

    A stream at an integer multiple of the card's rate (a 256 Hz headband for a 64 Hz model) is
    decimated by block means (the stream's causal band-pass already removed what would alias).
    """

    def prepare(self, state: Any, mm: MultimodalWindow) -> tuple[Any, Any]:
        (modality,) = self.spec.modalities
        w = mm.windows[modality]
        rows = _channel_rows(self.spec, w.channels, self.card["channels"][modality])
        x = w.samples[rows]
        rate = float(self.card.get("rates_hz", {}).get(modality) or w.fs_hz)
        factor = round(w.fs_hz / rate)
        if factor > 1 and abs(w.fs_hz / rate - factor) < 1e-9:
            n = x.shape[1] // factor * factor
            x = x[:, :n].reshape(x.shape[0], -1, factor).mean(axis=2)
        x = x.astype(np.float32)
        want = tuple(self.card["input"]["shape"][1:])
        if x.shape != want:
            msg = f"head {self.spec.name}: window of shape {x.shape}, the model takes {want}"
            raise SignalError(msg)
        m, s = x.mean(axis=1, keepdims=True), x.std(axis=1, keepdims=True) + 1e-6
        return state, ((x - m) / s).astype(np.float32)


@dataclass(frozen=True)
class SpeakerStats:
    """Running sums of one speaker's LLD frames and window functionals (the live calibration set).

    ``frames``: (3, L) = count, sum, sum of squares over all frames; ``voiced``: the same over voiced
    frames (for the voiced-only LLDs); ``funcs``: (3, F) over past windows' functionals.
    """

    frames: NDArray[np.float64]
    voiced: NDArray[np.float64]
    funcs: NDArray[np.float64]


def _moments(acc: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n = np.maximum(acc[0], 1.0)
    mean = acc[1] / n
    return mean, np.sqrt(np.maximum(acc[2] / n - mean**2, 0.0))


class SpeechHead(Head):
    """The speech model on eGeMAPS LLD frames plus their functionals (``lld+functionals``).

    Per-speaker normalisation as in training, from the subject's own unlabelled speech so far: every
    frame and window seen up to and including this one is the calibration set (causal). Voiced-only LLDs
    use voiced frames. The window's frames are pooled and zero-padded to the network's steps.
    """

    def __init__(self, model: LoadedModel) -> None:
        super().__init__(model)
        self.lld = tuple(c for c in self.card["channels"]["audio_features"] if c != "voiced")
        self.func_names = tuple(self.card["input"]["functional_names"])
        if audio_names(self.lld) != self.func_names:
            msg = f"card {self.spec.name}: functional_names do not match its LLD channels"
            raise ModelError(msg)

    def new_state(self) -> Any:
        n_l, n_f = len(self.lld), len(self.func_names)
        return SpeakerStats(np.zeros((3, n_l)), np.zeros((3, n_l)), np.zeros((3, n_f)))

    def prepare(self, state: Any, mm: MultimodalWindow) -> tuple[Any, Any]:
        from models.audio import _voiced_cols, clip_tensor

        w = mm.windows["audio_features"]
        frames = w.samples[_channel_rows(self.spec, w.channels, self.lld)].T  # (n, L)
        feats = audio_features(np.ascontiguousarray(frames.T), w.fs_hz, self.lld)
        f = np.nan_to_num(np.asarray([feats[k] for k in self.func_names], dtype=np.float64))
        voiced = frames[:, self.lld.index("F0semitoneFrom27.5Hz_sma3nz")] > 0
        st = SpeakerStats(
            state.frames + _sums(frames), state.voiced + _sums(frames[voiced]), state.funcs + _sums(f[None, :])
        )
        mean_all, sd_all = _moments(st.frames)
        mean_v, sd_v = _moments(st.voiced)
        nz = _voiced_cols(self.lld)
        mean = np.where(nz, mean_v, mean_all)
        sd = np.maximum(np.where(nz, sd_v, sd_all), 1e-6)
        lld = clip_tensor(frames.astype(np.float32), mean, sd, self.lld)
        f_mean, f_sd = _moments(st.funcs)
        fz = ((f - f_mean) / np.maximum(f_sd, 1e-9)).astype(np.float32)
        return st, (lld, fz)

    def predict_proba(self, xs: Sequence[Any]) -> NDArray[np.float64]:
        return self.model.predict_proba((np.stack([x[0] for x in xs]), np.stack([x[1] for x in xs])))


def _sums(x: NDArray[np.float64]) -> NDArray[np.float64]:
    x = np.asarray(x, dtype=np.float64)
    return np.stack([np.full(x.shape[1], float(x.shape[0])), x.sum(axis=0), (x**2).sum(axis=0)])


#: the head registry: input kind -> head class
HEAD_KINDS: dict[str, type[Head]] = {
    "features": FeatureHead,
    "window_sequence": FeatureHead,
    "video_features": VectorHead,
    "action_units": ActionUnitHead,
    "lld+functionals": SpeechHead,
    "raw": RawHead,
}


def head_from_model(model: LoadedModel) -> Head:
    """The head of a loaded model, by its card's input kind."""
    spec = head_spec(model.card)
    return HEAD_KINDS[spec.kind](model)


def load_heads(
    model_dir: Path, names: Sequence[str], *, mains_hz: float = 50.0, replace: Mapping[str, str] | None = None
) -> tuple[list[Head], StreamPlan]:
    """Load the named heads (card ``<model_dir>/<name>.json``) and derive the worker's stream plan.

    ``replace`` swaps a head for another when that card exists (default: a user-trained ``video_learned``
    replaces the EMFACS rules). Raises PlanError (a clear message) for a missing card or one that does not
    fit the others.
    """
    heads = [head_from_model(load(p)) for p in card_paths(model_dir, names, replace=replace)]
    return heads, stream_plan([h.spec for h in heads], mains_hz=mains_hz)


def card_paths(model_dir: Path, names: Sequence[str], *, replace: Mapping[str, str] | None = None) -> list[Path]:
    """The card file of each named head (see :func:`load_heads` for ``replace``); PlanError if one is missing."""
    swaps = {"emfacs_video": "video_learned"} if replace is None else dict(replace)
    paths = []
    for name in names:
        alt = swaps.get(name)
        if alt is not None and (model_dir / f"{alt}.json").is_file():
            name = alt
        path = model_dir / f"{name}.json"
        if not path.is_file():
            known = sorted(p.stem for p in model_dir.glob("*.json"))
            msg = f"head {name!r}: no model card at {path} (cards there: {known})"
            raise PlanError(msg)
        paths.append(path)
    return paths


def load_plan(model_dir: Path, names: Sequence[str], *, mains_hz: float = 50.0) -> StreamPlan:
    """The stream plan of the named heads from their cards alone (no module loaded)."""
    return stream_plan([head_spec(read_card(p)) for p in card_paths(model_dir, names)], mains_hz=mains_hz)
