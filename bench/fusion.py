"""Robustness of the stress models on real data: early vs quality-weighted late fusion vs sequence models.

Usage::

    .venv/bin/python bench/fusion.py [--folds 0] [--coverage 0.4] [--seed 0]

Stress-Predict, 27 labelled subjects, leave-one-subject-out (``--folds 0``) or subject-grouped folds.
In every fold each model is trained on the clean training subjects and scores the test subject's
recording three ways: clean, with **EDA contact loss** and with **BVP motion noise**
(:mod:`models.corruption`), each over random stretches covering ``--coverage`` of the recording. The
corruption is applied to the *raw* E4 signal and the windows, features and quality are recomputed by
the live path (``pipeline.stream.stream_offline``), so the quality score reacts as it would live.

Models (models/defaults.py, fixed beforehand): ``mlp`` (early fusion, the default), ``lstm`` and
``tcn`` over the last K windows, the EDA / BVP / TEMP+ACC heads alone, their late fusion weighted by
window quality (``late_heads_quality``, :func:`models.fusion.late_fusion`) and the same heads with
equal weights (``late_heads_equal``).

Writes bench/results/fusion.json and a BENCHMARKS.md row. ``corruption.early_fusion_drop`` and
``corruption.quality_fusion_drop`` are the balanced-accuracy losses (clean - corrupted) of ``mlp`` and
``late_heads_quality``, averaged over the two artefacts; per artefact under ``corruption.by_kind``.
"""

from __future__ import annotations

import argparse
import collections
import json
import pickle
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import RESULTS_DIR, append_row, write_results  # noqa: E402
from deploy.settings import Settings  # noqa: E402
from models import defaults  # noqa: E402
from models import stress_data as sd  # noqa: E402
from models.commands.evaluate import record_stress_seq, stress_seq_candidates, stress_summary  # noqa: E402
from models.corruption import bvp_motion_noise, eda_contact_loss, stretches  # noqa: E402
from models.evaluation import CLOCK_CONTROL, evaluate_stress  # noqa: E402

#: artefact -> (modality it corrupts, id used in the random seed)
KINDS: dict[str, tuple[str, int]] = {"eda_contact_loss": ("eda", 1), "bvp_motion_noise": ("bvp", 2)}
MODELS = (
    "mlp",
    "lstm",
    "tcn",
    "head_eda",
    "head_bvp",
    "head_tempacc",
    "late_heads_quality",
    "late_heads_equal",
    "mlp_quality_gated",
    "logreg",
)


#: the heads the live integration tests run on one worker (test_multimodal.py: the defaults; test_e2e.py: the
#: three stress forms)
HEADS_LIVE = (*Settings().head_names, "stress_binary_lstm", "stress_binary_tcn")


def corrupt_subject(
    data_dir: Path, sw: sd.SubjectWindows, kind: str, seed: int, coverage: float
) -> tuple[sd.SubjectWindows, dict[str, Any]]:
    """The subject's windows with ``kind`` applied to the raw signal and that modality re-windowed.

    Returns the windows and quality statistics of the corrupted modality: windows fully inside a
    corrupted stretch, partly inside, and outside (mean quality, share below 0.5, reasons).
    """
    modality, kid = KINDS[kind]
    rec = sd.load_recording(data_dir, sw.subject)
    t0_ns, fs_hz, x = rec.signals[modality]
    rng = np.random.default_rng([seed, sw.subject, kid])
    mask = stretches(x.shape[1], fs_hz, rng, coverage)
    x2 = eda_contact_loss(x, mask, rng) if modality == "eda" else bvp_motion_noise(x, fs_hz, mask, rng)
    wins = sd.pipeline_windower(modality, fs_hz, t0_ns, x2)
    stats: dict[str, Any] = {}
    share = np.array(
        [mask[max(0, round((w.start_ns - t0_ns) / 1e9 * fs_hz)) : round((w.end_ns - t0_ns) / 1e9 * fs_hz)].mean()
        for w in wins]
    )  # fmt: skip
    q = np.array([w.quality for w in wins])
    for name, sel in (("inside", share >= 0.99), ("partly", (share > 0) & (share < 0.99)), ("outside", share == 0)):
        reasons = collections.Counter(r for w, s in zip(wins, sel, strict=True) if s for r in w.quality_reasons)
        stats[name] = {
            "n": int(sel.sum()),
            "quality_sum": float(q[sel].sum()),
            "n_below_0_5": int((q[sel] < 0.5).sum()),
        }
        stats[name]["reasons"] = dict(reasons)
    stats["covered"] = float(mask.mean())
    return sd.replace_modality(sw, modality, wins), stats


def corrupted_windows(
    data_dir: Path, windows: dict[int, sd.SubjectWindows], kind: str, seed: int, coverage: float, cache: Path
) -> tuple[dict[int, sd.SubjectWindows], dict[str, Any]]:
    """:func:`corrupt_subject` for every subject (cached in ``cache`` per FEATURE_VERSION and settings)."""
    from tqdm.auto import tqdm

    from pipeline.features import FEATURE_VERSION

    out: dict[int, sd.SubjectWindows] = {}
    agg: dict[str, Any] = {}
    for s in tqdm(sorted(windows), desc=kind):
        path = cache / f"fusion_{kind}_S{s:02d}_f{FEATURE_VERSION}_seed{seed}_cov{coverage}.pkl"
        if path.is_file():
            with path.open("rb") as fh:
                out[s], stats = pickle.load(fh)  # our own cache file
        else:
            out[s], stats = corrupt_subject(data_dir, windows[s], kind, seed, coverage)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                pickle.dump((out[s], stats), fh)
        for part in ("inside", "partly", "outside"):
            a = agg.setdefault(part, {"n": 0, "quality_sum": 0.0, "n_below_0_5": 0, "reasons": collections.Counter()})
            for k in ("n", "quality_sum", "n_below_0_5"):
                a[k] += stats[part][k]
            a["reasons"].update(stats[part]["reasons"])
        agg.setdefault("covered", []).append(stats["covered"])
    summary: dict[str, Any] = {"mean_share_of_recording_corrupted": float(np.mean(agg.pop("covered")))}
    for part, a in agg.items():
        n = max(a["n"], 1)
        summary[f"windows_{part}_stretch"] = {
            "n": a["n"],
            "mean_quality": a["quality_sum"] / n,
            "share_quality_below_0_5": a["n_below_0_5"] / n,
            "reasons": dict(a["reasons"].most_common()),
        }
    return out, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=0, help="0 = leave-one-subject-out (default); K = grouped folds")
    parser.add_argument("--coverage", type=float, default=0.4, help="share of each test recording corrupted")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subjects", default=None, help="comma-separated subjects (default: all 27 labelled)")
    parser.add_argument(
        "--write-cards",
        action="store_true",
        help="also write the clean-data metrics into the sequence / head cards and accuracy.json 'stress_seq', "
        "as `emopipe evaluate --only stress_seq` does (same candidates, seeds and folds, so the same figures)",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    torch.set_num_threads(1)
    t_start = time.perf_counter()
    d = Settings().data_dir
    cache = ROOT / ".run" / "cache"
    subs = [int(s) for s in args.subjects.split(",")] if args.subjects else sd.labelled_subjects(d)
    windows = sd.load_all_windows(d, subs, cache)
    variants, detection = {}, {}
    for kind in KINDS:
        variants[kind], detection[kind] = corrupted_windows(d, windows, kind, args.seed, args.coverage, cache)
    extra = (defaults.STRESS_LATE_HEADS_EQUAL, defaults.STRESS_MLP_GATED)
    cands = [*stress_seq_candidates(args.seed), *(defaults.with_fit(c, args.seed) for c in extra)]
    res = evaluate_stress("stress_binary", d, cache, cands, subs, args.seed, n_folds=args.folds, variants=variants)
    models = res["models"]
    details = RESULTS_DIR / "accuracy_details_fusion.json"
    details.write_text(json.dumps(res, indent=1, sort_keys=True, default=float) + "\n")
    if args.write_cards:
        from models.export import ARTIFACTS_DIR

        acc_path = RESULTS_DIR / "accuracy.json"
        acc = json.loads(acc_path.read_text()) if acc_path.is_file() else {}
        record_stress_seq(res, ARTIFACTS_DIR, acc)
        acc_path.write_text(json.dumps(acc, indent=1, sort_keys=True) + "\n")

    row = stress_summary  # the same figures evaluate --only stress_seq records

    by_kind: dict[str, Any] = {}
    for kind in KINDS:
        by_kind[kind] = {}
        for name in MODELS:
            clean = models[name]["balanced_accuracy"]
            v = models[name]["variants"][kind]
            by_kind[kind][name] = {
                "balanced_accuracy_clean": clean,
                "balanced_accuracy_corrupted": v["balanced_accuracy"],
                "balanced_accuracy_corrupted_ci95": v["balanced_accuracy_ci95"],
                "auroc_corrupted": v["auroc"],
                "drop": clean - v["balanced_accuracy"],
            }
        e, q = by_kind[kind]["mlp"]["drop"], by_kind[kind]["late_heads_quality"]["drop"]
        by_kind[kind]["quality_drop_at_most_half_of_early"] = bool(q <= 0.5 * max(e, 0.0))
    early = float(np.mean([by_kind[k]["mlp"]["drop"] for k in KINDS]))
    quality = float(np.mean([by_kind[k]["late_heads_quality"]["drop"] for k in KINDS]))
    out = {
        "heads_live": [*HEADS_LIVE],
        "heads_live_note": "the heads one worker runs in tests/integration/test_multimodal.py (the default "
        "EMOPIPE_HEADS, each checked live == offline) and test_e2e.py (MLP, LSTM and TCN stress heads side by side); "
        "this benchmark itself is offline",
        "protocol": f"{res['folds']}, {len(res['subjects'])} Stress-Predict subjects, pooled windows; "
        f"corruption over random 2-8 min stretches covering {args.coverage:.0%} of each TEST recording, "
        "raw signal -> pipeline.stream.stream_offline (windows, features, quality recomputed); training clean",
        "stress": {
            "mlp": row(models["mlp"]),
            "lstm": row(models["lstm"]),
            "tcn": row(models["tcn"]),
            **{k: row(models[k]) for k in MODELS[3:]},
            "clock_only_control": row(models[CLOCK_CONTROL]),
        },
        "corruption": {
            "early_fusion_drop": early,
            "quality_fusion_drop": quality,
            "quality_drop_at_most_half_of_early": bool(quality <= 0.5 * max(early, 0.0)),
            "drop_definition": "balanced accuracy clean - corrupted, mean of the two artefacts; early = mlp, "
            "quality = late_heads_quality",
            "late_equal_weights_drop": float(np.mean([by_kind[k]["late_heads_equal"]["drop"] for k in KINDS])),
            "quality_gated_early_fusion_drop": float(np.mean([by_kind[k]["mlp_quality_gated"]["drop"] for k in KINDS])),
            "by_kind": by_kind,
            "quality_detection": detection,
        },
        "context_windows": defaults.SEQ_CONTEXT_WINDOWS,
        "wall_s": round(time.perf_counter() - t_start, 1),
    }
    write_results(out, RESULTS_DIR / "fusion.json")
    s = out["stress"]
    figs = (
        f"clean BA mlp {s['mlp']['balanced_accuracy']:.3f}, lstm {s['lstm']['balanced_accuracy']:.3f}, "
        f"tcn {s['tcn']['balanced_accuracy']:.3f}, late fusion (quality) "
        f"{s['late_heads_quality']['balanced_accuracy']:.3f}; drop under EDA contact loss / BVP motion noise: "
        f"early {by_kind['eda_contact_loss']['mlp']['drop']:.3f} / {by_kind['bvp_motion_noise']['mlp']['drop']:.3f}, "
        f"quality-weighted late {by_kind['eda_contact_loss']['late_heads_quality']['drop']:.3f} / "
        f"{by_kind['bvp_motion_noise']['late_heads_quality']['drop']:.3f}"
    )
    append_row(f"stress fusion robustness ({res['folds']}, {args.coverage:.0%} of test recording corrupted)", figs,
               f".venv/bin/python bench/fusion.py --folds {args.folds} --coverage {args.coverage}")  # fmt: skip
    print(json.dumps({k: v for k, v in out.items() if k != "corruption"} | {"corruption": {
        k: v for k, v in out["corruption"].items() if k != "quality_detection"}}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
