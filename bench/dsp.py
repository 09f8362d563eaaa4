"""Throughput of the per-window DSP path, per modality, on one core.

For each modality the same recording is processed three ways in one run:
- ``stream``: the live path, ``stream_step`` fed in 1-s chunks (causal filter once per chunk,
  buffering, windowing, quality and features every hop);
- ``neurokit``: NeuroKit's offline ``*_process`` called on every window's raw samples (the naive
  per-window way; null where NeuroKit has no such function for the modality);
- ``numpy_bound``: a lower bound on the work, plain numpy/scipy: one ``sosfilt`` over the whole
  recording plus, per window, ``scipy.signal.find_peaks`` (cardiac/resp) or mean/std.
Figures are *samples per second* (time samples, all channels of a sample counted once); ``realtime_x``
is stream samples/s divided by the sampling rate: how many real-time streams of that modality one core
sustains. Real data where it exists; eeg is SYNTHETIC (sines + noise), labelled in ``source``.

Run:  nice .venv/bin/python bench/dsp.py  (writes bench/results/dsp.json, appends to BENCHMARKS.md)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import datetime as dt
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import neurokit2 as nk
import numpy as np
from scipy import signal

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._report import RESULTS_DIR, append_row, write_results  # noqa: E402
from deploy.settings import Settings  # noqa: E402
from pipeline.filters import design_sos  # noqa: E402
from pipeline.sources.openface import parse_openface_csv  # noqa: E402
from pipeline.stream import StreamConfig, default_config, stream_init, stream_step  # noqa: E402
from pipeline.windowing import n_samples, sample_time_ns  # noqa: E402

T0_NS = 1_700_000_000_000_000_000


def _e4(data: Path, name: str, seconds: int) -> tuple[float, np.ndarray]:
    path = data / "stress-predict" / "Raw_data" / "S02" / f"{name}.csv"
    head = np.loadtxt(path, delimiter=",", ndmin=2, max_rows=2)
    fs = float(head[1, 0])
    x = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=2, max_rows=int(seconds * fs)).T
    return fs, x.astype(np.float64)


def recordings(data: Path, minutes: int) -> dict[str, tuple[float, np.ndarray, str, tuple[str, ...]]]:
    """modality -> (fs_hz, samples (channels, n), source label, channel names)."""
    sec = minutes * 60
    out: dict[str, tuple[float, np.ndarray, str, tuple[str, ...]]] = {}
    for mod, name in (("bvp", "BVP"), ("eda", "EDA"), ("temp", "TEMP"), ("acc", "ACC")):
        fs, x = _e4(data, name, sec)
        out[mod] = (fs, x, "real: stress-predict S02 E4", ())
    z = np.load(data / "systole-ecg" / "task1_1000hz.npz")
    short = min(sec, 300) * 1000  # 1000 Hz: 5 minutes are plenty
    out["ecg"] = (1000.0, z["ecg"][:short].astype(np.float64)[None, :], "real: systole ECG 1000 Hz", ())
    out["resp"] = (1000.0, z["resp"][:short].astype(np.float64)[None, :], "real: systole resp 1000 Hz", ())
    rng = np.random.default_rng(0)
    t = np.arange(int(min(sec, 300) * 256)) / 256.0
    eeg = np.stack([np.sin(2 * np.pi * (8 + k) * t) * 10 + rng.normal(0, 5, t.shape) for k in range(8)])
    chans = ("F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2")
    out["eeg"] = (256.0, eeg, "SYNTHETIC: 8-channel sines + noise, 256 Hz", chans)
    lld = np.load(data / "ravdess" / "wav16k_lld" / "Actor01.npz")
    cols = tuple(str(c) for c in lld["columns"])
    frames = np.concatenate([lld[k] for k in lld.files if k != "columns"]).astype(np.float64).T
    out["audio_features"] = (100.0, frames, "real: RAVDESS Actor01 eGeMAPS LLD (clips concatenated)", cols)
    table = parse_openface_csv((data / "openface" / "OpenFace_Test.csv").read_text())
    reps = max(1, int(sec * 30 / max(table.values.shape[0], 1)))
    au = np.tile(table.values.T.astype(np.float64), reps)
    out["video_features"] = (30.0, au, "real: OpenFace_Test.csv AUs tiled, as 30 fps", table.channels)
    return out


def bench_stream(cfg: StreamConfig, x: np.ndarray) -> tuple[float, int]:
    state = stream_init(cfg)
    step = max(1, round(cfg.fs_hz))
    n_win = 0
    t = time.perf_counter()
    for i in range(0, x.shape[1], step):
        state, wins = stream_step(state, sample_time_ns(T0_NS, i, cfg.fs_hz), x[:, i : i + step])
        n_win += len(wins)
    return time.perf_counter() - t, n_win


def _starts(cfg: StreamConfig, n: int) -> range:
    w = n_samples(cfg.window_s, cfg.fs_hz)
    return range(0, n - w + 1, n_samples(cfg.hop_s, cfg.fs_hz))


_NK: dict[str, Callable[[np.ndarray, int], object]] = {
    "bvp": lambda x, fs: nk.ppg_process(x, sampling_rate=fs),
    "ecg": lambda x, fs: nk.ecg_process(x, sampling_rate=fs),
    "eda": lambda x, fs: nk.eda_process(x, sampling_rate=fs),
    "resp": lambda x, fs: nk.rsp_process(x, sampling_rate=fs),
}


def bench_neurokit(cfg: StreamConfig, x: np.ndarray) -> float | None:
    fn = _NK.get(cfg.modality)
    if fn is None:
        return None
    w = n_samples(cfg.window_s, cfg.fs_hz)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a in _starts(cfg, x.shape[1]):
            fn(x[0, a : a + w], int(cfg.fs_hz))
    return time.perf_counter() - t


def bench_numpy(cfg: StreamConfig, x: np.ndarray) -> float:
    sos = design_sos(cfg.filter)
    w = n_samples(cfg.window_s, cfg.fs_hz)
    t = time.perf_counter()
    y = signal.sosfilt(sos, x, axis=-1) if sos is not None else x
    for a in _starts(cfg, x.shape[1]):
        seg = y[:, a : a + w]
        if cfg.modality in ("bvp", "ecg", "resp"):
            signal.find_peaks(seg[0], distance=max(1, int(0.3 * cfg.fs_hz)), prominence=float(np.std(seg[0])))
        else:
            seg.mean(axis=1), seg.std(axis=1)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--minutes", type=int, default=20, help="minutes of each recording (default 20; ecg/resp/eeg max 5)"
    )
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "dsp.json")
    args = ap.parse_args()
    results: dict[str, dict[str, object]] = {}
    for mod, (fs, x, source, chans) in recordings(Settings().data_dir, args.minutes).items():
        cfg = default_config(mod, fs, units="1/64 g", channels=chans)
        n = x.shape[1]
        t_stream, n_win = bench_stream(cfg, x)
        t_nk = bench_neurokit(cfg, x)
        t_np = bench_numpy(cfg, x)
        results[mod] = {
            "stream_samples_per_s": n / t_stream,
            "neurokit_samples_per_s": None if t_nk is None else n / t_nk,
            "numpy_bound_samples_per_s": n / t_np,
            "realtime_x": n / t_stream / fs,
            "fs_hz": fs,
            "channels": int(x.shape[0]),
            "seconds": n / fs,
            "windows": n_win,
            "source": source,
        }
        print(f"{mod:15s} stream {n / t_stream:12.0f}/s  nk {'-' if t_nk is None else f'{n / t_nk:10.0f}'}/s  "
              f"numpy {n / t_np:12.0f}/s  realtime x{n / t_stream / fs:8.0f}  ({source})", flush=True)  # fmt: skip
    meta = {
        "date": dt.date.today().isoformat(),
        "cpu_count": os.cpu_count(),
        "load_avg_1min_at_end": os.getloadavg()[0],
        "window": "default_config per modality",
    }
    write_results({"meta": meta, "results": results}, args.out, indent=2)
    _append_benchmarks(results, os.getloadavg()[0])
    return 0


def _append_benchmarks(results: dict[str, dict[str, object]], load: float) -> None:
    figs = "; ".join(
        f"{m}: stream {r['stream_samples_per_s']:.3g}/s (x{r['realtime_x']:.0f} real time), "
        f"nk {'n/a' if r['neurokit_samples_per_s'] is None else format(r['neurokit_samples_per_s'], '.3g')}/s, "
        f"numpy {r['numpy_bound_samples_per_s']:.3g}/s"
        for m, r in results.items()
    )
    bench = f"dsp (samples/s/core; eeg synthetic; load avg {load:.1f} on {os.cpu_count()} cores)"
    append_row(bench, figs, "nice .venv/bin/python bench/dsp.py")


if __name__ == "__main__":
    raise SystemExit(main())
