"""RAVDESS inputs: the live path's functionals per clip, and per-speaker normalisation."""

from __future__ import annotations

import numpy as np

from models import audio as au
from pipeline.features.audio import audio_features, audio_names


def test_pipeline_functionals_are_the_live_window_features(shared_data):
    full = au.load_ravdess(shared_data)
    ds = au.AudioSet(full.frames[:3], full.y[:3], full.actor[:3], full.columns)
    x = au.pipeline_functionals(ds)
    names = audio_names(ds.columns)
    assert x.shape == (3, len(names)) and np.all(np.isfinite(x))
    direct = audio_features(ds.frames[1].T.astype(np.float64), au.FRAME_RATE_HZ, ds.columns)
    np.testing.assert_allclose(x[1], [direct[k] for k in names])
    f0 = ds.frames[1][:, ds.columns.index("F0semitoneFrom27.5Hz_sma3nz")]
    mean_f0 = x[1][names.index("AUDIO_F0semitoneFrom27.5Hz_sma3nz_Mean")]
    assert np.isclose(mean_f0, f0[f0 != 0].mean(), rtol=1e-5)  # voiced frames only


def test_speaker_z_uses_each_speakers_own_statistics():
    rng = np.random.default_rng(0)
    actor = np.repeat([1, 2], 50)
    x = rng.normal(size=(100, 3)) + np.where(actor[:, None] == 1, 10.0, -5.0)
    z = au.speaker_z(x, actor)
    for a in (1, 2):
        np.testing.assert_allclose(z[actor == a].mean(axis=0), 0.0, atol=1e-9)
        np.testing.assert_allclose(z[actor == a].std(axis=0), 1.0, atol=1e-9)
