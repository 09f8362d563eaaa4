"""Input of the sequence models: the last K personal-baseline-normalised window vectors of a subject.

The live worker and training build the sequence with the same rule: a fold over the subject's
windows in time order, each window normalised by :func:`models.preprocess.preprocess_step` and
appended to the previous ``K - 1`` vectors. Before the subject has ``K`` windows the missing
(older) rows are zero (= "at the subject's baseline", the value the baseline itself gives before
it is ready). ``K`` windows of a 5 s hop span ``(K - 1) * 5`` s beyond the last 60 s window, far too
short to count how long the session has run (the start-cut leak check of :mod:`models.metrics`).

The state is plain data (baseline states and a numpy array), so it pickles into a Faust table.

>>> import numpy as np
>>> from models.preprocess import PreprocessSpec
>>> from pipeline.baseline import BaselineConfig
>>> spec = PreprocessSpec(("EDA_Mean",), (BaselineConfig(min_windows=1),))
>>> st = sequence_init(spec, 3)
>>> for v in (1.0, 2.0, 4.0):
...     st, x = sequence_step(st, {"EDA_Mean": v})
>>> x.shape
(3, 1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.exceptions import ModelError
from models.preprocess import PreprocessSpec, preprocess_calibrate, preprocess_init, preprocess_step
from pipeline.baseline import BaselineState

__all__ = ["SequenceState", "sequence_calibrate", "sequence_init", "sequence_step", "stack_context"]


@dataclass(frozen=True)
class SequenceState:
    """Per-subject state of a ``window_sequence`` model.

    Attributes
    ----------
    baselines : tuple of BaselineState
        The running personal baselines (as for a ``features`` model).
    recent : ndarray float32, shape (K - 1, F)
        The previous ``K - 1`` normalised vectors, oldest first (zero rows before the subject has them).
    """

    baselines: tuple[BaselineState, ...]
    recent: NDArray[np.float32]

    @property
    def context_windows(self) -> int:
        """K, the number of windows in one model input."""
        return int(self.recent.shape[0]) + 1


def sequence_init(spec: PreprocessSpec, context_windows: int) -> SequenceState:
    """Fresh state for a subject: empty baselines and ``K - 1`` zero rows."""
    if context_windows < 1:
        msg = f"context_windows must be >= 1, got {context_windows}"
        raise ModelError(msg)
    n = len(spec.input_names)
    return SequenceState(preprocess_init(spec), np.zeros((context_windows - 1, n), dtype=np.float32))


def sequence_step(state: SequenceState, features: Mapping[str, float]) -> tuple[SequenceState, NDArray[np.float32]]:
    """Normalise one window (in time order) and return the model input ``(K, F)``, oldest row first."""
    baselines, v = preprocess_step(state.baselines, features)
    x = np.concatenate([state.recent, v[None, :]], axis=0)
    return SequenceState(baselines, x[1:].copy()), x


def sequence_calibrate(state: SequenceState, windows: Sequence[Mapping[str, float]]) -> SequenceState:
    """Seed the baselines with calibration windows (rest); the sequence itself stays empty."""
    return SequenceState(preprocess_calibrate(state.baselines, windows), state.recent)


def stack_context(x: NDArray[np.float32], context_windows: int) -> NDArray[np.float32]:
    """Offline form of :func:`sequence_step`: rows ``(W, F)`` of one subject in time order -> ``(W, K, F)``.

    Row ``i`` of the result holds vectors ``i - K + 1 .. i`` (zeros where the index is negative).
    """
    w, f = x.shape
    k = context_windows
    padded = np.concatenate([np.zeros((k - 1, f), dtype=np.float32), np.asarray(x, dtype=np.float32)], axis=0)
    idx = np.arange(w)[:, None] + np.arange(k)[None, :]
    out: NDArray[np.float32] = padded[idx]
    return out
