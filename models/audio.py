"""Speech emotion on RAVDESS eGeMAPS LLD frames: data, per-speaker normalisation, LOAO.

Input of the audio network: ``(B, 26, T)`` = the 25 eGeMAPSv02 LLDs plus a voicing flag
(F0 > 0), mean-pooled from 10 ms frames to ``POOL`` x 10 ms steps, zero-padded or
cropped (centre) to ``T_STEPS``.

The committed model (``AudioFusionNet``) adds a second view: the clip's functionals from the live
path (:func:`pipeline_functionals` = ``pipeline.features.audio``), z-scored with the same speaker's
calibration clips (:func:`functional_stats`), through a logistic regression; the two probability
vectors are averaged with equal weights.

Per-speaker normalisation (``speaker_norm=True``): every LLD is z-scored with that
speaker's mean and standard deviation over a *calibration set* of the speaker's frames
(unlabelled).  In leave-one-actor-out evaluation the calibration set is all clips of the
actor, used without labels; in deployment the worker needs unlabelled calibration audio
from each user (a few sentences).  Voiced-only LLDs (``*_sma3nz``) use voiced frames only
for their statistics and stay 0 in unvoiced frames.  Without it, the statistics are those
of the training speakers pooled (global z-score).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from models.exceptions import DataNotFoundError

log = logging.getLogger(__name__)

EMOTIONS: tuple[str, ...] = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
POOL = 4  # 10 ms frames per step -> 25 steps/s
T_STEPS = 128  # 5.12 s
FRAME_RATE_HZ = 100.0
#: the live path's speech window and hop (s): on the 5 s grid of every stream; the network's input is
#: T_STEPS steps (5.12 s), so a live window's 125 pooled steps are zero-padded at the end, as short clips are
LIVE_WINDOW_S = 5.0


@dataclass(frozen=True)
class AudioSet:
    """All clips: LLD frames and labels."""

    frames: list[NDArray[np.float32]]  # each (n_frames, 25)
    y: NDArray[np.int64]  # emotion index 0..7
    actor: NDArray[np.int64]
    columns: tuple[str, ...]


def load_ravdess(data_dir: Path) -> AudioSet:
    """Read ``ravdess/clips.csv`` and ``frames/ActorNN.npz``; labels from the file names (clips.csv)."""
    import pandas as pd

    root = Path(data_dir) / "ravdess"
    if not (root / "clips.csv").is_file():
        msg = f"RAVDESS frames not found at {root} (set EMOPIPE_DATA_DIR to the folder that holds ravdess/)"
        raise DataNotFoundError(msg)
    clips = pd.read_csv(root / "clips.csv", dtype={"stem": str})
    frames: list[NDArray[np.float32]] = []
    columns: tuple[str, ...] = ()
    for actor, g in clips.groupby("actor", sort=True):
        with np.load(root / "frames" / f"Actor{int(actor):02d}.npz") as z:
            columns = tuple(str(c) for c in z["columns"])
            frames += [z[stem].astype(np.float32) for stem in g["stem"]]
    order = clips.sort_values("actor", kind="stable")
    return AudioSet(frames, order["emotion_code"].to_numpy(np.int64) - 1, order["actor"].to_numpy(np.int64), columns)


def _voiced_cols(columns: tuple[str, ...]) -> NDArray[np.bool_]:
    return np.array([c.endswith("nz") for c in columns])


def speaker_stats(
    frames: list[NDArray[np.float32]], columns: tuple[str, ...]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean and sd per LLD over calibration frames (voiced-only LLDs over voiced frames)."""
    x = np.concatenate(frames).astype(np.float64)
    voiced = x[:, columns.index("F0semitoneFrom27.5Hz_sma3nz")] > 0
    nz = _voiced_cols(columns)
    mean = np.where(nz, x[voiced].mean(axis=0), x.mean(axis=0))
    sd = np.where(nz, x[voiced].std(axis=0), x.std(axis=0))
    return mean, np.maximum(sd, 1e-6)


def clip_tensor(
    frames: NDArray[np.float32], mean: NDArray[np.float64], sd: NDArray[np.float64], columns: tuple[str, ...]
) -> NDArray[np.float32]:
    """One clip -> network input ``(26, T_STEPS)``: normalise, add voicing, pool, pad/crop."""
    x = frames.astype(np.float64)
    voiced = x[:, columns.index("F0semitoneFrom27.5Hz_sma3nz")] > 0
    z = (x - mean) / sd
    z[:, _voiced_cols(columns)] *= voiced[:, None]
    z = np.clip(z, -6, 6)
    z = np.hstack([z, voiced[:, None].astype(np.float64)])
    n = (len(z) // POOL) * POOL
    pooled = z[:n].reshape(-1, POOL, z.shape[1]).mean(axis=1)
    out = np.zeros((T_STEPS, z.shape[1]))
    if len(pooled) >= T_STEPS:
        s = (len(pooled) - T_STEPS) // 2
        out[:] = pooled[s : s + T_STEPS]
    else:
        out[: len(pooled)] = pooled
    return out.T.astype(np.float32)


def build_inputs(
    ds: AudioSet, speaker_norm: bool, train_actors: NDArray[np.int64] | None = None
) -> NDArray[np.float32]:
    """Network inputs for every clip ``(N, 26, T_STEPS)``.

    ``speaker_norm=False`` uses statistics of ``train_actors``' frames (pooled) for everyone.
    """
    if not speaker_norm:
        sel = np.isin(ds.actor, train_actors if train_actors is not None else np.unique(ds.actor))
        mean, sd = speaker_stats([f for f, k in zip(ds.frames, sel, strict=True) if k], ds.columns)
        return np.stack([clip_tensor(f, mean, sd, ds.columns) for f in ds.frames])
    out = np.zeros((len(ds.frames), len(ds.columns) + 1, T_STEPS), np.float32)
    for a in np.unique(ds.actor):
        idx = np.flatnonzero(ds.actor == a)
        mean, sd = speaker_stats([ds.frames[i] for i in idx], ds.columns)
        for i in idx:
            out[i] = clip_tensor(ds.frames[i], mean, sd, ds.columns)
    return out


def functionals(data_dir: Path) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """The 88 eGeMAPS functionals (baseline features), labels and actors, in :func:`load_ravdess` order."""
    import pandas as pd

    df = pd.read_csv(Path(data_dir) / "ravdess" / "functionals.csv.gz", dtype={"stem": str})
    df = df.sort_values("actor", kind="stable")
    feat = df.columns[8:]
    return df[feat].to_numpy(np.float64), df["emotion_code"].to_numpy(np.int64) - 1, df["actor"].to_numpy(np.int64)


def functional_stats(f: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean and floored sd of a speaker's calibration clips' functionals ``(K, F)`` -> two ``(F,)`` arrays."""
    f = np.asarray(f, dtype=np.float64)
    return f.mean(axis=0), np.maximum(f.std(axis=0), 1e-9)


def speaker_z(x: NDArray[np.float64], actor: NDArray[np.int64]) -> NDArray[np.float64]:
    """Per-speaker z-normalisation of clip-level features (unlabelled calibration = all clips of the actor)."""
    out = np.empty_like(x)
    for a in np.unique(actor):
        m = actor == a
        mean, sd = functional_stats(x[m])
        out[m] = (x[m] - mean) / sd
    return out


def pipeline_functionals(ds: AudioSet) -> NDArray[np.float64]:
    """Each clip's window features from :func:`pipeline.features.audio.audio_features` (the live path's
    functionals of the LLD stream), shape ``(N, len(audio_names(columns)))``; NaN -> 0."""
    from pipeline.features.audio import audio_features, audio_names

    names = audio_names(ds.columns)
    rows = []
    for frames in ds.frames:
        feats = audio_features(np.ascontiguousarray(frames.T, dtype=np.float64), FRAME_RATE_HZ, ds.columns)
        rows.append([feats[k] for k in names])
    return np.nan_to_num(np.asarray(rows, dtype=np.float64))
