"""``emopipe evaluate``: subject-independent evaluation; prints tables, writes metrics into the cards
and ``bench/results/accuracy.json``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

HELP = "leave-one-subject-out evaluation; writes model cards"
TARGETS = ("stress_binary", "phase", "audio", "eeg")
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emopipe evaluate``."""
    parser.add_argument(
        "--only",
        default=",".join(TARGETS),
        help=f"comma-separated subset of {','.join(TARGETS)} (default: all). Stress tasks: "
        "leave-one-subject-out over the 27 labelled Stress-Predict subjects with the default "
        "model, the alternatives and the logreg/gboost baselines; audio: leave-one-actor-out "
        "on RAVDESS; eeg: SYNTHETIC held-out subjects",
    )
    parser.add_argument(
        "--models",
        default="all",
        choices=["all", "default"],
        help="stress: 'all' = default + late fusion + raw TCN/GRU + baselines; "
        "'default' = default + baselines (faster)",
    )
    parser.add_argument(
        "--artifacts", type=Path, default=None, help="folder of the model cards to update (default: models/artifacts)"
    )
    parser.add_argument(
        "--results", type=Path, default=None, help="accuracy JSON to write (default: bench/results/accuracy.json)"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="real data folder (default: settings.data_dir)")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="window/feature cache (default <repo>/.run/cache; 'none' disables)"
    )
    parser.add_argument("--subjects", default=None, help="comma-separated subject numbers (default: all 27)")
    parser.add_argument("--actors", default=None, help="comma-separated RAVDESS actors as test folds (default: all)")
    parser.add_argument(
        "--max-cut-s",
        type=float,
        default=900.0,
        help="leak check: cut a uniform random 0..max_cut_s seconds from each test recording's start",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for training and cut lengths (default 0)")
    parser.add_argument(
        "--folds",
        type=int,
        default=0,
        help="stress: 0 = leave-one-subject-out (default); K > 0 = K subject-grouped folds (cheaper)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="override the epochs of every network (smoke tests only; cards record it)",
    )


def _ints(s: str | None) -> list[int] | None:
    return [int(v) for v in s.split(",")] if s else None


def run(args: argparse.Namespace, settings: Any) -> int:
    """Evaluate the selected targets, print tables, update cards and the accuracy JSON."""
    import torch

    from models.commands.train import cache_dir_of
    from models.export import ARTIFACTS_DIR

    torch.set_num_threads(1)
    data_dir = Path(args.data_dir or settings.data_dir)
    art = Path(args.artifacts or ARTIFACTS_DIR)
    results = Path(args.results or ARTIFACTS_DIR.parent.parent / "bench" / "results" / "accuracy.json")
    acc: dict[str, Any] = json.loads(results.read_text()) if results.is_file() else {}
    details: dict[str, Any] = {}
    for t in [t.strip() for t in args.only.split(",") if t.strip()]:
        if t in ("stress_binary", "phase"):
            details[t] = _stress(t, args, data_dir, cache_dir_of(args), art, acc)
        elif t == "audio":
            details[t] = _audio(args, data_dir, art, acc)
        elif t == "eeg":
            details[t] = _eeg(args, art, acc)
        else:
            log.error("unknown target %s", t)
            return 2
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(acc, indent=1, sort_keys=True) + "\n")
    for t, d in details.items():
        path = results.parent / f"accuracy_details_{t}.json"
        path.write_text(json.dumps(d, indent=1, sort_keys=True, default=float) + "\n")
    print(f"wrote {results}")
    return 0


def _update_card(art: Path, task: str, metrics: dict[str, Any]) -> None:
    from models.build import CARD_FILES
    from models.export import update_card

    path = art / CARD_FILES[task]
    if path.is_file():
        update_card(path, metrics=metrics)
    else:
        log.warning("no card %s to update (run emopipe train first)", path)


def _stress(
    task: str, args: argparse.Namespace, data_dir: Path, cache: Path | None, art: Path, acc: dict[str, Any]
) -> dict[str, Any]:
    from models import defaults
    from models.evaluation import evaluate_stress
    from models.metrics import format_confusion, format_table

    cands = list(defaults.STRESS_CANDIDATES if args.models == "all" else (defaults.STRESS_DEFAULT,))
    cands = [defaults.with_fit(c, args.seed, args.epochs) for c in cands] + list(defaults.STRESS_BASELINES)
    res = evaluate_stress(
        task, data_dir, cache, cands, _ints(args.subjects), args.seed, args.max_cut_s, n_folds=args.folds
    )
    models = res["models"]
    rows = {
        k: {
            **v,
            "start_cut_ba": v["start_cut"]["balanced_accuracy"],
            "same_windows_uncut_ba": v["start_cut"].get("uncut_same_windows_balanced_accuracy", float("nan")),
        }
        for k, v in models.items()
    }
    cols = ("balanced_accuracy", "macro_f1", "auroc", "start_cut_ba", "same_windows_uncut_ba")
    default = defaults.STRESS_DEFAULT.name
    print(f"\n## {task}: {res['folds']}, {len(res['subjects'])} subjects\n")
    print(format_table(rows, cols))
    print(f"\nconfusion ({default}, rows = truth):\n" + format_confusion(models[default]["confusion"], res["classes"]))
    _print_per_subject(models)
    base_names = [c.name for c in defaults.STRESS_BASELINES]
    best_base = max(base_names, key=lambda k: models[k]["balanced_accuracy"])
    d = models[default]
    summary = {
        "balanced_accuracy": d["balanced_accuracy"],
        "macro_f1": d["macro_f1"],
        "auroc": d["auroc"],
        "balanced_accuracy_start_cut": d["start_cut"]["balanced_accuracy"],
        "baseline_balanced_accuracy": models[best_base]["balanced_accuracy"],
        "baseline_model": best_base,
    }
    acc[task] = {**acc.get(task, {}), **summary, "n_subjects": len(res["subjects"])}
    card_metrics = {
        "evaluation": f"{res['folds']}, {len(res['subjects'])} Stress-Predict subjects, pooled",
        **{k: d[k] for k in ("balanced_accuracy", "macro_f1", "auroc", "accuracy", "confusion", "n")},
        "start_cut": d["start_cut"],
        "start_cut_rule": f"uniform 0-{args.max_cut_s:.0f} s per test subject",
        "per_subject_balanced_accuracy": d["per_subject_balanced_accuracy"],
        "compared": {
            k: {
                "balanced_accuracy": v["balanced_accuracy"],
                "macro_f1": v["macro_f1"],
                "auroc": v["auroc"],
                "start_cut_balanced_accuracy": v["start_cut"]["balanced_accuracy"],
            }
            for k, v in models.items()
        },
        "loso_train_s": d["loso_train_s"],
    }
    _update_card(art, task, card_metrics)
    return res


def _print_per_subject(models: dict[str, Any]) -> None:
    names = list(models)
    subs = sorted(next(iter(models.values()))["per_subject_balanced_accuracy"])
    print("\nper-subject balanced accuracy:\n\n| subject | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for s in subs:
        vals = " | ".join(f"{models[n]['per_subject_balanced_accuracy'][s]:.2f}" for n in names)
        print(f"| S{s:02d} | {vals} |")


def _audio(args: argparse.Namespace, data_dir: Path, art: Path, acc: dict[str, Any]) -> dict[str, Any]:
    from models.evaluation import evaluate_audio
    from models.metrics import format_confusion, format_table

    res = evaluate_audio(data_dir, _ints(args.actors), args.seed, epochs=args.epochs)
    models = res["models"]
    print(f"\n## RAVDESS: leave-one-actor-out, {len(res['actors'])} folds (UAR = balanced accuracy)\n")
    print(format_table(models, ("uar", "macro_f1", "auroc", "accuracy")))
    d = models["tcn_lld_speaker_norm"]
    print("\nconfusion (tcn_lld_speaker_norm):\n" + format_confusion(d["confusion"], res["classes"]))
    acc["ravdess"] = {
        **acc.get("ravdess", {}),
        "uar": d["uar"],
        "macro_f1": d["macro_f1"],
        "baseline_uar": models["logreg_functionals_speaker_norm"]["uar"],
        "baseline_uar_no_speaker_norm": models["logreg_functionals"]["uar"],
        "n_actors": len(res["actors"]),
    }
    _update_card(
        art,
        "audio_emotion",
        {
            "evaluation": f"leave-one-actor-out, {len(res['actors'])} RAVDESS actors, pooled",
            **{k: d[k] for k in ("uar", "macro_f1", "auroc", "accuracy", "confusion", "n", "per_actor_uar")},
            "compared": {k: {"uar": v["uar"], "macro_f1": v["macro_f1"]} for k, v in models.items()},
            "loao_train_s": d["loao_train_s"],
        },
    )
    return res


def _eeg(args: argparse.Namespace, art: Path, acc: dict[str, Any]) -> dict[str, Any]:
    from models.evaluation import evaluate_eeg

    m = evaluate_eeg(args.seed)
    print(f"\n## EEG (SYNTHETIC held-out subjects): balanced accuracy {m['balanced_accuracy']:.3f}")
    acc["eeg_synthetic"] = {"balanced_accuracy": m["balanced_accuracy"], "note": m["note"]}
    _update_card(art, "eeg_synthetic", m)
    return m
