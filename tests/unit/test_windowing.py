"""Exhaustive checks of the window index math against brute force."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import windowing as win


@settings(max_examples=200, deadline=None)
@given(
    anchor_ns=st.integers(0, 2 * 10**18),
    t_off_ns=st.integers(-(10**11), 10**11),
    fs_hz=st.sampled_from([1.0, 4.0, 32.0, 64.0, 128.0, 250.0, 256.0, 1000.0, 44.1, 30.0, 29.97]),
)
def test_first_index_at_or_after_is_minimal(anchor_ns: int, t_off_ns: int, fs_hz: float) -> None:
    t_ns = anchor_ns + t_off_ns
    i = win.first_index_at_or_after(t_ns, anchor_ns, fs_hz)
    assert win.sample_time_ns(anchor_ns, i, fs_hz) >= t_ns
    assert win.sample_time_ns(anchor_ns, i - 1, fs_hz) < t_ns


def test_sample_times_exact_for_integer_rates() -> None:
    assert win.sample_time_ns(10, 64, 64.0) == 10 + 10**9
    assert win.sample_time_ns(0, 1, 4.0) == 250_000_000
    assert win.sample_time_ns(0, 3, 3.0) == 10**9


@given(t_ns=st.integers(-(10**15), 10**15), hop_s=st.sampled_from([0.5, 1.0, 5.0, 2.5]))
def test_grid_ceil(t_ns: int, hop_s: float) -> None:
    hop_ns = win.seconds_to_ns(hop_s)
    g = win.grid_ceil(t_ns, hop_ns)
    assert g % hop_ns == 0 and t_ns <= g < t_ns + hop_ns


def test_window_bounds_counts_and_start() -> None:
    i0, i1 = win.window_bounds(5 * 10**9, 4_900_000_000, 64.0, 3840)
    # 0.1 s after the anchor at 64 Hz: 6.4 samples -> first sample at or after is index 7
    assert (i0, i1) == (7, 7 + 3840)
    assert win.n_samples(60.0, 64.0) == 3840 and win.n_samples(60.0, 4.0) == 240
    assert win.n_samples(5.0, 29.97) == round(Fraction(29.97) * 5)
