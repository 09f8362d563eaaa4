"""Where a model card becomes a stream configuration (pure; the one place that reads cards for it).

A worker runs several *heads* (a model card plus its module): physiology, speech, face, EEG. Each card
declares what its head needs (:class:`HeadSpec`): the modalities it reads, the window and hop of those
streams, the feature version its inputs were computed with, its input kind and classes. From the cards it
loads, the worker derives one :class:`StreamPlan`: per modality the window, hop and whether window records
must carry the filtered samples (heads that read frames or raw signal ask for them; the others read
features only, which keeps the windows topic small). A card that does not fit the plan (another window for
a modality that a loaded head already fixed, a feature version other than this build's, an unknown input
kind, classes with no place on the circumplex) is refused at start with a clear :class:`PlanError`.

Input kinds (``card["input"]["kind"]``):

==================  ==================  =========================================================
kind                family              the head reads
==================  ==================  =========================================================
``features``        window features     one window's feature vector (personal baseline)
``window_sequence`` sequence of windows the last ``input.context_windows`` feature vectors
``video_features``  window features     one window's AU features (learned AU model)
``action_units``    window features     mean AU intensities (EMFACS rules)
``lld+functionals`` frame sequence      the window's eGeMAPS LLD frames plus their functionals
``raw``             frame sequence      the window's filtered samples (EEG)
==================  ==================  =========================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.contract import SensorChunk
from pipeline.exceptions import PlanError, SignalError
from pipeline.features import FEATURE_VERSION
from pipeline.fusion import class_coords
from pipeline.stream import StreamConfig, default_config

#: input kinds and whether their head needs the window's samples
INPUT_KINDS: dict[str, bool] = {
    "features": False,
    "window_sequence": False,
    "video_features": False,
    "action_units": False,
    "lld+functionals": True,
    "raw": True,
}
#: nominal rate (Hz) onto which irregular feature streams (per-frame timestamps, no fs_hz) are put
IRREGULAR_RATE_HZ = {"video_features": 30.0, "audio_features": 100.0}


@dataclass(frozen=True)
class HeadSpec:
    """What a card says its head needs (see the module docstring)."""

    name: str
    version: str
    task: str
    kind: str
    classes: tuple[str, ...]
    modalities: tuple[str, ...]
    window_s: float
    hop_s: float
    feature_version: str
    synthetic: bool = False
    affect: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def needs_samples(self) -> bool:
        """Whether the head reads the windows' samples (not only their features)."""
        return INPUT_KINDS[self.kind]


@dataclass(frozen=True)
class ModalityPlan:
    """Window, hop and record content of one modality's streams."""

    window_s: float
    hop_s: float
    keep_samples: bool = False
    heads: tuple[str, ...] = ()


@dataclass(frozen=True)
class StreamPlan:
    """The stream configuration a worker derives from its cards."""

    modalities: dict[str, ModalityPlan]
    mains_hz: float = 50.0
    heads: tuple[HeadSpec, ...] = ()

    def for_modality(self, modality: str) -> ModalityPlan | None:
        """The plan of one modality, or None when no head reads it (stream defaults apply)."""
        return self.modalities.get(modality)


def head_spec(card: Mapping[str, Any]) -> HeadSpec:
    """The :class:`HeadSpec` of a model card; PlanError naming the card and the missing or bad field."""
    name = str(card.get("name", "?"))
    try:
        inp = card["input"]
        window = card["window"]
        spec = HeadSpec(
            name=name,
            version=str(card["version"]),
            task=str(card.get("task", name)),
            kind=str(inp["kind"]),
            classes=tuple(card["classes"]),
            modalities=tuple(card["modalities"]),
            window_s=float(window["window_s"]),
            hop_s=float(window["hop_s"]),
            feature_version=str(inp["feature_version"]),
            synthetic=bool(card.get("synthetic", False)),
            affect={str(k): (float(v[0]), float(v[1])) for k, v in card.get("affect", {}).items()},
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        msg = f"model card {name!r} lacks what a head needs ({type(exc).__name__}: {exc}); cards declare input.kind, "
        msg += "input.feature_version, modalities, window.window_s, window.hop_s, classes and version"
        raise PlanError(msg) from exc
    if spec.kind not in INPUT_KINDS:
        msg = f"model card {name!r}: unknown input kind {spec.kind!r} (known: {sorted(INPUT_KINDS)})"
        raise PlanError(msg)
    if not spec.modalities or not spec.classes:
        msg = f"model card {name!r}: needs at least one modality and one class"
        raise PlanError(msg)
    try:
        class_coords(spec.classes, spec.affect)
    except SignalError as exc:
        msg = f"model card {name!r}: {exc}"
        raise PlanError(msg) from exc
    return spec


def stream_plan(specs: Sequence[HeadSpec], *, mains_hz: float = 50.0) -> StreamPlan:
    """One stream configuration for every head; PlanError if two heads disagree or a version differs."""
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        msg = f"two loaded cards have the same name: {sorted(names)}"
        raise PlanError(msg)
    mods: dict[str, ModalityPlan] = {}
    for s in specs:
        if s.feature_version != FEATURE_VERSION:
            msg = (
                f"model card {s.name!r} was made with feature version {s.feature_version}, this worker computes "
                f"{FEATURE_VERSION}: retrain it (emopipe train) or run the emopipe version it was made with"
            )
            raise PlanError(msg)
        if (s.window_s / s.hop_s) % 1 > 1e-9 or s.hop_s <= 0:
            msg = f"model card {s.name!r}: window_s {s.window_s} must be a whole number of hops {s.hop_s}"
            raise PlanError(msg)
        for m in s.modalities:
            cur = mods.get(m)
            if cur is not None and (cur.window_s, cur.hop_s) != (s.window_s, s.hop_s):
                msg = (
                    f"model card {s.name!r} wants {m} windows of {s.window_s} s every {s.hop_s} s, but "
                    f"{', '.join(cur.heads)} already fixed {cur.window_s} s every {cur.hop_s} s on this worker"
                )
                raise PlanError(msg)
            keep = s.needs_samples or (cur is not None and cur.keep_samples)
            mods[m] = ModalityPlan(s.window_s, s.hop_s, keep, (*(cur.heads if cur else ()), s.name))
    hops = {p.hop_s for p in mods.values()}
    if len(hops) > 1:
        msg = f"heads disagree on the hop ({sorted(hops)} s): fused events need one hop for every modality"
        raise PlanError(msg)
    return StreamPlan(mods, mains_hz, tuple(specs))


def stream_config_for(chunk: SensorChunk, plan: StreamPlan | None = None) -> StreamConfig:
    """Stream configuration of the stream a chunk belongs to: its rate, units and channels, and the plan's
    window and hop for its modality (stream defaults when no head reads it).

    Irregular streams (``fs_hz`` None, per-frame ``timestamps_ns``) are sampled onto a nominal clock of
    :data:`IRREGULAR_RATE_HZ` (each sample holds the latest frame; see pipeline.stream).
    """
    fs_hz = chunk.fs_hz if chunk.fs_hz is not None else IRREGULAR_RATE_HZ.get(chunk.modality)
    if fs_hz is None:
        msg = f"stream {chunk.stream_key}: irregular {chunk.modality} stream has no nominal rate to window it on"
        raise SignalError(msg)
    units = chunk.units[0] if chunk.units else None
    mains_hz = plan.mains_hz if plan is not None else 50.0
    cfg = default_config(chunk.modality, fs_hz, units=units, channels=tuple(chunk.channels), mains_hz=mains_hz)
    mp = plan.for_modality(chunk.modality) if plan is not None else None
    if mp is None:
        return cfg
    warmup_s = min(cfg.warmup_s, mp.window_s)
    return StreamConfig(
        modality=cfg.modality, fs_hz=cfg.fs_hz, window_s=mp.window_s, hop_s=mp.hop_s, max_gap_s=cfg.max_gap_s,
        filter=cfg.filter, scale=cfg.scale, warmup_s=warmup_s, channels=cfg.channels,
    )  # fmt: skip
