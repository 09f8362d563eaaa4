"""Hypothesis strategies for valid sensor chunks (shared by the contract and codec tests)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from pipeline.contract import MODALITIES, SensorChunk

#: subject/session/device ids under the id rule (pipeline.contract.id_problem)
ids = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@-", min_size=1, max_size=64)
#: channel names and units: printable text, any script
names = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "" and s.isprintable())
finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@st.composite
def chunks(draw: st.DrawFn, max_channels: int = 4, max_n: int = 40) -> SensorChunk:
    n_ch = draw(st.integers(1, max_channels))
    n = draw(st.integers(1, max_n))
    channels = tuple(draw(st.lists(names, min_size=n_ch, max_size=n_ch, unique=True)))
    units = tuple(draw(st.lists(st.text(max_size=6).filter(str.isprintable), min_size=n_ch, max_size=n_ch)))
    values = draw(st.lists(finite32, min_size=n_ch * n, max_size=n_ch * n))
    samples = np.array(values, dtype=np.float32).reshape(n_ch, n)
    regular = draw(st.booleans())
    t0 = draw(st.integers(0, 2**62))
    if regular:
        fs = draw(st.floats(0.01, 10_000.0))
        ts = None
    else:
        fs = None
        steps = draw(st.lists(st.integers(1, 10**9), min_size=n - 1, max_size=n - 1))
        ts = t0 + np.concatenate([[0], np.cumsum(np.array(steps, dtype=np.int64))]).astype(np.int64)
    return SensorChunk(
        subject_id=draw(ids),
        session_id=draw(ids),
        device_id=draw(ids),
        modality=draw(st.sampled_from(MODALITIES)),
        channels=channels,
        units=units,
        fs_hz=fs,
        t0_ns=t0,
        seq=draw(st.integers(0, 2**40)),
        samples=samples,
        timestamps_ns=ts,
        synthetic=draw(st.booleans()),
    )
