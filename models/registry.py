"""Loader API for the live worker: committed default models with their cards.

>>> from models.registry import load_default            # doctest: +SKIP
>>> m = load_default("stress_binary")                    # doctest: +SKIP
>>> state = m.new_state()                                # one per subject, picklable
>>> state, x = m.prepare(state, window_features_dict)    # personal baseline, in time order
>>> m.predict_proba(x[None, :])                          # (1, 2), rows sum to 1

``predict_proba`` accepts a batch: ``(B, F)`` float32 for feature models (the vector that
:meth:`LoadedModel.prepare` returns), ``(B, K, F)`` for "window_sequence" models (the last K
vectors, also from :meth:`LoadedModel.prepare`), ``(B, C, T)`` for raw-window models and ``(B, n_AUs)``
action-unit intensities for the EMFACS video model.  The loader calls
``torch.set_num_threads(1)``: on 2 cores thread contention made batched inference ~10x slower.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.exceptions import ModelError
from models.export import ARTIFACTS_DIR, read_card

log = logging.getLogger(__name__)

#: task -> card file in models/artifacts
DEFAULTS: dict[str, str] = {
    "stress_binary": "stress_binary.json",
    "phase": "stress_phase.json",
    "audio_emotion": "ravdess_emotion.json",
    "video_emotion": "emfacs_video.json",
    "eeg_synthetic": "eeg_synthetic.json",
}


class ModelNotFoundError(ModelError, FileNotFoundError):
    """No committed model for the task, or its artifact is missing."""


class LoadedModel:
    """A model ready for inference, with its card (``.card``, a dict)."""

    def __init__(self, card: Mapping[str, Any], module: Any | None) -> None:
        self.card = dict(card)
        self.classes: tuple[str, ...] = tuple(card["classes"])
        self._module = module
        self._spec = None
        #: K of a "window_sequence" card (prepare returns (K, F)), else 0
        self.context_windows = 0
        kind = card.get("input", {}).get("kind")
        if kind in ("features", "window_sequence"):
            from models.preprocess import PreprocessSpec

            self._spec = PreprocessSpec.from_dict(card["input"])
        if kind == "window_sequence":
            self.context_windows = int(card["input"]["context_windows"])

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of the input vector entries (feature models), else ()."""
        return () if self._spec is None else self._spec.input_names

    def new_state(self) -> Any:
        """Fresh per-subject preprocessing state (picklable); feature models only."""
        from models.preprocess import preprocess_init

        if self._spec is None:
            msg = f"{self.card['name']} takes no window features"
            raise ModelError(msg)
        if self.context_windows:
            from models.sequence import sequence_init

            return sequence_init(self._spec, self.context_windows)
        return preprocess_init(self._spec)

    def prepare(self, state: Any, features: Mapping[str, float]) -> tuple[Any, NDArray[np.float32]]:
        """Normalise one window's features (pipeline.features keys) -> (state, vector (F,)), or for a
        "window_sequence" card (state, the last K vectors (K, F), oldest first)."""
        from models.preprocess import preprocess_step

        if self.context_windows:
            from models.sequence import sequence_step

            return sequence_step(state, features)
        return preprocess_step(state, features)

    def calibrate(self, state: Any, windows: Sequence[Mapping[str, float]]) -> Any:
        """Seed a subject's baseline with calibration windows' features (a rest period), in time order."""
        from models.preprocess import preprocess_calibrate

        if self.context_windows:
            from models.sequence import sequence_calibrate

            return sequence_calibrate(state, windows)
        return preprocess_calibrate(state, windows)

    def predict_proba(self, x: NDArray[np.floating] | tuple[NDArray[np.floating], ...]) -> NDArray[np.float64]:
        """Class probabilities for a batch, shape ``(B, len(classes))``.

        ``x`` is one array, or for the two-input audio model the pair ``(lld (B, C, T), functionals (B, F))``
        (``card["input"]["kind"] == "lld+functionals"``).
        """
        import torch

        parts = x if isinstance(x, tuple) else (x,)
        arrs = [np.asarray(p, dtype=np.float32) for p in parts]
        if self._module is None:
            from pipeline.emfacs import emfacs_proba

            return emfacs_proba(arrs[0])
        with torch.no_grad():
            out = self._module(*(torch.nan_to_num(torch.from_numpy(np.ascontiguousarray(a))) for a in arrs))
        return np.asarray(out.numpy(), dtype=np.float64)


def load(card_path: Path) -> LoadedModel:
    """Load the model described by ``card_path`` (artifact path is relative to the card)."""
    import torch

    torch.set_num_threads(1)
    card = read_card(card_path)
    artifact = card.get("artifact")
    if artifact is None:
        return LoadedModel(card, None)
    path = Path(card_path).parent / artifact
    if not path.is_file():
        msg = f"model artifact {path} missing (run `emopipe train`)"
        raise ModelNotFoundError(msg)
    with warnings.catch_warnings():  # torch >= 2.9 deprecates jit.load; the artifacts are TorchScript by design
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.", category=FutureWarning)
        module = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
    module.eval()
    return LoadedModel(card, module)


def load_default(task: str = "stress_binary", artifacts_dir: Path | None = None) -> LoadedModel:
    """Load the committed default model of ``task`` (one of :data:`DEFAULTS`)."""
    if task not in DEFAULTS:
        msg = f"unknown task {task!r}; known: {sorted(DEFAULTS)}"
        raise ModelNotFoundError(msg)
    path = (artifacts_dir or ARTIFACTS_DIR) / DEFAULTS[task]
    if not path.is_file():
        msg = f"no model card at {path} (run `emopipe train`)"
        raise ModelNotFoundError(msg)
    return load(path)
