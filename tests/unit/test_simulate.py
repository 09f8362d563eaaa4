"""SYNTHETIC streams: valid, deterministic, bounded, and the ground-truth state is measurable in them."""

from __future__ import annotations

import itertools
from collections import defaultdict

import neurokit2 as nk
import numpy as np
import pytest
from scipy import signal

from pipeline.contract import StreamCursor, continuity_step, validate_chunk
from pipeline.exceptions import SignalError
from pipeline.simulate import LAYOUT, Segment, SimConfig, default_schedule, simulate_chunks, state_at

SCHEDULE = (Segment("baseline", 60.0), Segment("stress", 60.0))


@pytest.fixture(scope="module")
def streams() -> dict[tuple[str, str], np.ndarray]:
    """Whole signals per (subject, modality), rebuilt from the chunks of a 2-subject, 120 s simulation."""
    cfg = SimConfig(subjects=("sim01", "sim02"), schedule=SCHEDULE, seed=7)
    parts: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    cursors: dict[str, StreamCursor] = {}
    last_t0 = -1
    for c in simulate_chunks(cfg):
        validate_chunk(c)
        assert c.synthetic
        assert c.t0_ns >= last_t0
        last_t0 = c.t0_ns
        cursors[c.stream_key], rep = continuity_step(cursors.get(c.stream_key), c)
        assert not rep.has_gap, (c.stream_key, rep)
        parts[(c.subject_id, c.modality)].append(c.samples)
    return {k: np.concatenate(v, axis=1).astype(np.float64) for k, v in parts.items()}


def test_every_stream_has_the_right_length(streams: dict[tuple[str, str], np.ndarray]) -> None:
    assert len(streams) == 2 * len(LAYOUT)
    for (_, modality), x in streams.items():
        fs, channels, _ = LAYOUT[modality]
        assert x.shape[0] == len(channels)
        if fs is not None:
            assert x.shape[1] == round(120.0 * fs)
        else:
            assert abs(x.shape[1] - 120 * 30) <= 2  # ~30 fps


def halves(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    n = round(60.0 * fs)
    return x[..., 5 * int(fs) : n], x[..., n + 5 * int(fs) :]  # skip 5 s after each state change


def test_heart_rate_follows_state(streams: dict[tuple[str, str], np.ndarray]) -> None:
    for subject in ("sim01", "sim02"):
        rates = []
        for part in halves(streams[(subject, "ecg")][0], 256.0):
            _, info = nk.ecg_peaks(part, sampling_rate=256)
            rates.append(60.0 * 256.0 / float(np.median(np.diff(info["ECG_R_Peaks"]))))
        assert 55 < rates[0] < 80 and 80 < rates[1] < 105, rates
        bvp_rates = []
        for part in halves(streams[(subject, "bvp")][0], 64.0):
            f, p = signal.welch(part, fs=64.0, nperseg=2048)
            band = (f > 0.7) & (f < 3.0)
            bvp_rates.append(60.0 * f[band][np.argmax(p[band])])
        assert bvp_rates[1] > bvp_rates[0] + 10, bvp_rates


def test_eda_resp_temp_follow_state(streams: dict[tuple[str, str], np.ndarray]) -> None:
    for subject in ("sim01", "sim02"):
        eda_rest, eda_stress = halves(streams[(subject, "eda")][0], 4.0)
        assert eda_stress.mean() > eda_rest.mean() + 1.0
        resp = []
        for part in halves(streams[(subject, "resp")][0], 32.0):
            f, p = signal.welch(part - part.mean(), fs=32.0, nperseg=1024)
            resp.append(60.0 * f[np.argmax(p)])
        assert resp[1] > resp[0] + 4, resp
        t_rest, t_stress = halves(streams[(subject, "temp")][0], 4.0)
        assert t_stress.mean() < t_rest.mean()


def test_eeg_alpha_at_rest_beta_under_stress(streams: dict[tuple[str, str], np.ndarray]) -> None:
    for subject in ("sim01", "sim02"):
        powers = []
        for part in halves(streams[(subject, "eeg")], 256.0):
            f, p = signal.welch(part, fs=256.0, nperseg=512, axis=-1)
            powers.append((p[:, (f >= 8) & (f <= 12)].mean(), p[:, (f >= 15) & (f <= 25)].mean()))
        (alpha_rest, beta_rest), (alpha_stress, beta_stress) = powers
        assert alpha_rest > 2 * alpha_stress and beta_stress > 2 * beta_rest


def test_video_irregular_and_follows_state(streams: dict[tuple[str, str], np.ndarray]) -> None:
    x = streams[("sim01", "video_features")]
    n = x.shape[1] // 2
    assert x[0, n + 100 :].mean() > x[0, : n - 100].mean()  # AU04 up under stress
    assert x[1, n + 100 :].mean() < x[1, : n - 100].mean()  # AU12 down


def test_deterministic_given_seed() -> None:
    cfg = SimConfig(subjects=("a",), schedule=default_schedule(20.0, segment_s=10.0), seed=3, piece_s=7.0)
    one, two = list(simulate_chunks(cfg)), list(simulate_chunks(cfg))
    assert len(one) == len(two) and all(a == b for a, b in zip(one, two, strict=True))
    other = list(simulate_chunks(SimConfig(subjects=("a",), schedule=cfg.schedule, seed=4, piece_s=7.0)))
    assert any(a != b for a, b in zip(one, other, strict=True))
    vid = [c for c in one if c.modality == "video_features"]
    assert all(c.fs_hz is None and c.timestamps_ns is not None for c in vid)


def test_long_simulation_is_lazy() -> None:
    """Ten hours of 20 subjects: the first chunks come at once (nothing is generated up front)."""
    cfg = SimConfig(subjects=tuple(f"s{i:02d}" for i in range(20)), schedule=default_schedule(36_000.0), seed=1)
    first = list(itertools.islice(simulate_chunks(cfg), 500))
    assert len({c.subject_id for c in first}) == 20
    assert max(c.t0_ns for c in first) - cfg.t0_ns < 5_000_000_000


def test_schedule_helpers() -> None:
    sched = default_schedule(75.0)
    assert [s.state for s in sched] == ["baseline", "stress", "baseline"]
    assert [s.duration_s for s in sched] == [30.0, 30.0, 15.0]
    assert state_at(sched, 29.9) == "baseline" and state_at(sched, 30.0) == "stress"
    with pytest.raises(SignalError):
        default_schedule(0.0)
    with pytest.raises(SignalError, match="unknown"):
        list(simulate_chunks(SimConfig(subjects=("a",), schedule=sched, modalities=("smell",))))
