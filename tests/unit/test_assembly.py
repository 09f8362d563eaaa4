"""Multimodal assembly by event time (SYNTHETIC signals of four E4 modalities)."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest

from pipeline.assembly import assembler_init, assembler_step
from pipeline.exceptions import SignalError
from pipeline.stream import Window, default_config, stream_offline

T0 = 1_700_000_001_300_000_000
MODS = ("bvp", "eda", "temp", "acc")


def _windows(modality: str, fs_hz: float, n_ch: int, seconds: int, t0: int = T0) -> list[Window]:
    rng = np.random.default_rng(len(modality))
    x = rng.normal(size=(n_ch, int(seconds * fs_hz))) + (33.0 if modality == "temp" else 1.0)
    cfg = replace(default_config(modality, fs_hz), window_s=20.0, compute_features=False)
    return stream_offline(cfg, t0, x)


def _all(seconds: int = 60) -> dict[str, list[Window]]:
    return {
        "bvp": _windows("bvp", 64.0, 1, seconds),
        "eda": _windows("eda", 4.0, 1, seconds, T0 + 100_000_000),  # other streams start a bit later
        "temp": _windows("temp", 4.0, 1, seconds),
        "acc": _windows("acc", 32.0, 3, seconds, T0 + 20_000_000),
    }


def test_interleaved_streams_give_complete_aligned_slots() -> None:
    per = _all()
    state = assembler_init(MODS, grace_s=10.0)
    out = []
    for i in range(max(len(v) for v in per.values())):
        for m in MODS:
            if i < len(per[m]):
                state, slots = assembler_step(state, per[m][i], watermark_ns=per[m][i].end_ns)
                state = pickle.loads(pickle.dumps(state))
                out.extend(slots)
    n_common = min(len(v) for v in per.values())
    assert len(out) >= n_common - 1
    complete = [s for s in out if all(s.present.values())]
    assert len(complete) >= n_common - 2
    for s in complete:
        assert {w.end_ns for w in s.windows.values()} == {s.end_ns}
        assert s.end_ns - s.start_ns == 20 * 10**9
    assert [s.end_ns for s in out] == sorted(s.end_ns for s in out)


def test_missing_modality_emitted_after_grace_and_late_window_dropped() -> None:
    per = _all()
    state = assembler_init(MODS, grace_s=10.0)
    target = per["bvp"][1].end_ns
    for m in ("bvp", "temp", "acc"):
        w = next(w for w in per[m] if w.end_ns == target)
        state, slots = assembler_step(state, w, watermark_ns=target)
        assert slots == []
    state, slots = assembler_step(state, None, watermark_ns=target + 9 * 10**9)
    assert slots == []
    state, slots = assembler_step(state, None, watermark_ns=target + 10 * 10**9)
    assert len(slots) == 1 and slots[0].present == {"bvp": True, "eda": False, "temp": True, "acc": True}
    late = next(w for w in per["eda"] if w.end_ns == target)
    state, slots = assembler_step(state, late, watermark_ns=target + 11 * 10**9)
    assert slots == [] and state.n_late == 1


def test_motion_lowers_quality_of_other_modalities() -> None:
    fs_acc = 32.0
    t = np.arange(int(40 * fs_acc)) / fs_acc
    shaking = np.stack([0.6 * np.sin(2 * np.pi * 2 * t), np.zeros_like(t), np.ones_like(t)])
    acc = stream_offline(replace(default_config("acc", fs_acc), window_s=20.0), T0, shaking)
    eda = _windows("eda", 4.0, 1, 40)
    state = assembler_init(("eda", "acc"), grace_s=5.0)
    state, _ = assembler_step(state, eda[0], eda[0].end_ns)
    state, slots = assembler_step(state, next(w for w in acc if w.end_ns == eda[0].end_ns), eda[0].end_ns)
    assert len(slots) == 1
    assert "motion" in slots[0].quality_reasons["eda"]
    assert slots[0].quality["eda"] < eda[0].quality


def test_unexpected_modality_raises() -> None:
    state = assembler_init(("eda",), grace_s=1.0)
    with pytest.raises(SignalError):
        assembler_step(state, _windows("temp", 4.0, 1, 30)[0], 0)
