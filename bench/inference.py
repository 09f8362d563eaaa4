"""Inference latency of the committed default models (run by hand, never in tests).

Usage::

    .venv/bin/python bench/inference.py [--repeats 200]

Measures per-window latency at batch 1 and per-window cost at batch 64 (the loader sets
torch.set_num_threads(1)), the preprocessing cost of one window (personal baselines), model
file sizes and the training times stored in the cards.  Writes bench/results/inference.json
and appends a row to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import RESULTS_DIR, append_row, write_results  # noqa: E402
from models.export import ARTIFACTS_DIR  # noqa: E402
from models.registry import DEFAULTS, load_default  # noqa: E402

COMMAND = ".venv/bin/python bench/inference.py"


def _example(card: dict, b: int, rng: np.random.Generator) -> np.ndarray | tuple[np.ndarray, ...]:
    keys = ("shape", "functionals_shape") if card["input"]["kind"] == "lld+functionals" else ("shape",)
    out = tuple(rng.normal(size=[b if s == "B" else int(s) for s in card["input"][k]]).astype(np.float32) for k in keys)
    return out if len(out) > 1 else out[0]


def _time(fn, repeats: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def bench_task(task: str, repeats: int) -> dict:
    m = load_default(task)
    rng = np.random.default_rng(0)
    x1, x64 = _example(m.card, 1, rng), _example(m.card, 64, rng)
    out = {
        "batch1_ms": 1e3 * _time(lambda: m.predict_proba(x1), repeats),
        "batch64_ms_per_window": 1e3 * _time(lambda: m.predict_proba(x64), max(repeats // 10, 5)) / 64,
        "size_bytes": (ARTIFACTS_DIR / m.card["artifact"]).stat().st_size if m.card.get("artifact") else 0,
        "training_time_s": m.card.get("training_time_s"),
    }
    if m.card["input"]["kind"] == "features":
        names = m.card["input"]["feature_names"]
        row = dict(zip(names, rng.normal(size=len(names)).tolist(), strict=True))
        state = m.new_state()
        for _ in range(10):
            state, _ = m.prepare(state, row)
        out["prepare_ms"] = 1e3 * _time(lambda: m.prepare(state, row), repeats)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    res = {t: bench_task(t, args.repeats) for t in DEFAULTS if (ARTIFACTS_DIR / DEFAULTS[t]).is_file()}
    res["_env"] = {"load_avg": os.getloadavg(), "cpus": os.cpu_count(), "torch_threads": 1}
    write_results(res, RESULTS_DIR / "inference.json")
    figs = "; ".join(
        f"{t}: {v['batch1_ms']:.2f} ms/win b1, {v['batch64_ms_per_window']:.3f} ms/win b64"
        + (f", prepare {v['prepare_ms']:.2f} ms" if "prepare_ms" in v else "")
        + f", {v['size_bytes'] / 1024:.0f} KiB, train {v['training_time_s']} s"
        for t, v in res.items()
        if not t.startswith("_")
    )
    figs += f" (load avg {res['_env']['load_avg'][0]:.1f}, 2 cores)"
    append_row("model inference", figs, COMMAND)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
