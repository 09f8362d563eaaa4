"""``emopipe evaluate``: subject-independent evaluation; prints tables, writes metrics into the cards
and ``bench/results/accuracy.json``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from models.commands._common import add_data_arguments, cache_dir_of, int_list, video_labels_given

HELP = "leave-one-subject-out evaluation; writes model cards"
TARGETS = ("stress_binary", "phase", "resp", "audio", "eeg")
#: not in the default set: the stress_binary sequence models (LSTM, TCN) and physiology heads
EXTRA_TARGETS = ("stress_seq",)
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emopipe evaluate``."""
    parser.add_argument(
        "--only",
        default=",".join(TARGETS),
        help=f"comma-separated subset of {','.join(TARGETS)} (default: all). Stress tasks: "
        "leave-one-subject-out over the 27 labelled Stress-Predict subjects with the default "
        "model, the alternatives and the logreg/gboost baselines; audio: leave-one-actor-out "
        "on RAVDESS; eeg: SYNTHETIC held-out subjects. Also video_learned: leave-one-subject-out of the "
        "learned AU model on YOUR labelled OpenFace clips (needs --video-labels; writes the card in --artifacts). "
        "Also calibrated: personal calibration of stress_binary, LOSO, the test subject's rest + Stroop as "
        "calibration, scored on the rest of the session (models/calibration.py; metrics.calibrated in the card). "
        "Also stress_seq: the LSTM and TCN over the last K windows, the EDA / BVP / TEMP+ACC heads and their "
        "quality-weighted late fusion, against the default MLP on the same folds (writes stress_binary_lstm, "
        "stress_binary_tcn, stress_eda, stress_bvp, stress_tempacc cards and accuracy.json 'stress_seq'). "
        "resp: LOSO of the respiration head (stress_resp) on respiration DERIVED from the E4 BVP, with the "
        "logistic regression on the same features (writes the stress_resp card and accuracy.json 'stress_resp')",
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
    parser.add_argument("--actors", default=None, help="comma-separated RAVDESS actors as test folds (default: all)")
    parser.add_argument(
        "--max-cut-s",
        type=float,
        default=900.0,
        help="leak check: cut a uniform random 0..max_cut_s seconds from each test recording's start",
    )
    parser.add_argument(
        "--cut-draws",
        type=int,
        default=5,
        help="leak check: independent draws of the cut lengths, each scored by the same fold models (default 5)",
    )
    parser.add_argument(
        "--folds",
        type=int,
        default=0,
        help="stress: 0 = leave-one-subject-out (default); K > 0 = K subject-grouped folds (cheaper)",
    )
    add_data_arguments(parser, "override the epochs of every network (smoke tests only; cards record it)")


def run(args: argparse.Namespace, settings: Any) -> int:
    """Evaluate the selected targets, print tables, update cards and the accuracy JSON."""
    import torch

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
        elif t == "video_learned":
            if not video_labels_given(args):
                return 2
            _video_learned(args, art)
        elif t == "calibrated":
            _calibrated(args, data_dir, cache_dir_of(args), art, results)
        elif t == "resp":
            details[t] = _resp(args, data_dir, cache_dir_of(args), art, acc)
        elif t == "stress_seq":
            details[t] = _stress_seq(args, data_dir, cache_dir_of(args), art, acc)
        else:
            log.error("unknown target %s", t)
            return 2
    results.parent.mkdir(parents=True, exist_ok=True)
    # re-read: another evaluate run (other targets) may have written the file meanwhile
    merged: dict[str, Any] = json.loads(results.read_text()) if results.is_file() else {}
    merged.update({k: v for k, v in acc.items() if k not in merged or k in _keys_of(details)})
    results.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")
    for t, d in details.items():
        path = results.parent / f"accuracy_details_{t}.json"
        path.write_text(json.dumps(d, indent=1, sort_keys=True, default=float) + "\n")
    print(f"wrote {results}")
    return 0


def _keys_of(details: dict[str, Any]) -> set[str]:
    """Top-level keys of the accuracy JSON written by the evaluated targets."""
    names = {
        "stress_binary": "stress_binary",
        "phase": "phase",
        "audio": "ravdess",
        "eeg": "eeg_synthetic",
        "stress_seq": "stress_seq",
        "resp": "stress_resp",
    }
    return {names[t] for t in details}


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
    from models.evaluation import CLOCK_CONTROL, evaluate_stress
    from models.metrics import format_confusion, format_table

    cands = list(defaults.STRESS_CANDIDATES if args.models == "all" else (defaults.STRESS_DEFAULT,))
    cands = [defaults.with_fit(c, args.seed, args.epochs) for c in cands] + list(defaults.STRESS_BASELINES)
    res = evaluate_stress(
        task,
        data_dir,
        cache,
        cands,
        int_list(args.subjects),
        args.seed,
        args.max_cut_s,
        n_folds=args.folds,
        n_cut_draws=args.cut_draws,
    )
    models = res["models"]
    rows = {
        k: {
            **v,
            "start_cut_ba": v["start_cut"]["balanced_accuracy"],
            "cut_minus_full": v["start_cut"]["leak_check"]["delta"],
            "ci95_lo": v["start_cut"]["leak_check"]["delta_ci95"][0],
            "ci95_hi": v["start_cut"]["leak_check"]["delta_ci95"][1],
        }
        for k, v in models.items()
    }
    cols = ("balanced_accuracy", "macro_f1", "auroc", "start_cut_ba", "cut_minus_full", "ci95_lo", "ci95_hi")
    default = defaults.STRESS_DEFAULT.name
    print(f"\n## {task}: {res['folds']}, {len(res['subjects'])} subjects\n")
    print(format_table(rows, cols))
    print(
        f"\nleak check: start_cut_ba = mean balanced accuracy over {args.cut_draws} draws of a random "
        f"0-{args.max_cut_s:.0f} s cut from each test recording's start; cut_minus_full with its paired "
        "subject-bootstrap 95% interval (ci95_lo..ci95_hi). Strictly, it holds when that interval contains 0; "
        "'within score noise' when |cut_minus_full| is at most half the width of the score's own 95% interval."
    )
    for k, v in models.items():
        lc = v["start_cut"]["leak_check"]
        lo, hi = lc["balanced_accuracy_ci95"]
        print(
            f"- {k}: balanced accuracy {lc['balanced_accuracy']:.3f} (95% CI {lo:.3f}-{hi:.3f}); "
            f"leak check strict={'holds' if lc['holds'] else 'FAILS'}, "
            f"within score noise={'yes' if lc['within_score_noise'] else 'NO'}"
        )
    print(f"\nconfusion ({default}, rows = truth):\n" + format_confusion(models[default]["confusion"], res["classes"]))
    _print_per_subject(models)
    print(
        f"\n{CLOCK_CONTROL}: gradient boosting on minutes since the session started, nothing else; it shows "
        "what the leak check does to a model that reads the clock. Never a candidate."
    )
    base_names = [c.name for c in defaults.STRESS_BASELINES]
    best_base = max(base_names, key=lambda k: models[k]["balanced_accuracy"])
    d = models[default]
    summary = {
        "balanced_accuracy": d["balanced_accuracy"],
        "macro_f1": d["macro_f1"],
        "auroc": d["auroc"],
        "balanced_accuracy_start_cut": d["start_cut"]["balanced_accuracy"],
        "balanced_accuracy_ci95": d["balanced_accuracy_ci95"],
        "start_cut_delta_ci95": d["start_cut"]["leak_check"]["delta_ci95"],
        "leak_check_holds": d["start_cut"]["leak_check"]["holds"],
        "leak_check_within_score_noise": d["start_cut"]["leak_check"]["within_score_noise"],
        "baseline_balanced_accuracy": models[best_base]["balanced_accuracy"],
        "baseline_model": best_base,
        "clock_control_balanced_accuracy": models[CLOCK_CONTROL]["balanced_accuracy"],
        "clock_control_balanced_accuracy_start_cut": models[CLOCK_CONTROL]["start_cut"]["balanced_accuracy"],
    }
    acc[task] = {**acc.get(task, {}), **summary, "n_subjects": len(res["subjects"])}
    card_metrics = {
        "evaluation": f"{res['folds']}, {len(res['subjects'])} Stress-Predict subjects, pooled",
        **{k: d[k] for k in ("balanced_accuracy", "macro_f1", "auroc", "accuracy", "confusion", "n")},
        "start_cut": d["start_cut"],
        "start_cut_rule": f"uniform 0-{args.max_cut_s:.0f} s per test subject, {args.cut_draws} draws, "
        "paired subject-bootstrap interval of cut - full",
        "balanced_accuracy_ci95": d["balanced_accuracy_ci95"],
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


def stress_summary(m: dict[str, Any]) -> dict[str, Any]:
    """The figures of one model of an :func:`models.evaluation.evaluate_stress` result, for JSON summaries."""
    lc = m["start_cut"]["leak_check"]
    return {
        "balanced_accuracy": m["balanced_accuracy"],
        "balanced_accuracy_ci95": m["balanced_accuracy_ci95"],
        "macro_f1": m["macro_f1"],
        "auroc": m["auroc"],
        "balanced_accuracy_start_cut": lc["start_cut_balanced_accuracy"],
        "start_cut_delta": lc["delta"],
        "start_cut_delta_ci95": lc["delta_ci95"],
        "leak_check_holds": lc["holds"],
        "leak_check_within_score_noise": lc["within_score_noise"],
        "loso_train_s": m["loso_train_s"],
    }


def stress_seq_candidates(seed: int = 0, epochs: int | None = None) -> list[Any]:
    """What ``--only stress_seq`` compares: the default MLP, LSTM, TCN, the three heads, their quality-weighted
    late fusion and logistic regression (models/defaults.py)."""
    from models import defaults

    cands = [
        defaults.STRESS_DEFAULT,
        *defaults.STRESS_SEQUENCE,
        *defaults.STRESS_HEADS,
        defaults.STRESS_LATE_HEADS,
    ]
    return [defaults.with_fit(c, seed, epochs) for c in cands] + [defaults.STRESS_BASELINES[0]]


def _stress_seq(
    args: argparse.Namespace, data_dir: Path, cache: Path | None, art: Path, acc: dict[str, Any]
) -> dict[str, Any]:
    """Sequence models and heads vs the default MLP, same folds; metrics into their cards."""
    from models.evaluation import evaluate_stress

    res = evaluate_stress(
        "stress_binary",
        data_dir,
        cache,
        stress_seq_candidates(args.seed, args.epochs),
        int_list(args.subjects),
        args.seed,
        args.max_cut_s,
        n_folds=args.folds,
        n_cut_draws=args.cut_draws,
    )
    record_stress_seq(res, art, acc, args.max_cut_s, args.cut_draws)
    return res


#: the columns of a stress evaluation's summary table
SUMMARY_COLUMNS = ("balanced_accuracy", "macro_f1", "auroc", "balanced_accuracy_start_cut", "start_cut_delta")


def print_stress_summary(res: dict[str, Any], title: str) -> dict[str, Any]:
    """Print the table and one line per model (BA with its CI, start-cut delta, leak check) of an
    :func:`models.evaluation.evaluate_stress` run; return the per-model summaries (:func:`stress_summary`)."""
    from models.metrics import format_table

    summary = {k: stress_summary(v) for k, v in res["models"].items()}
    print(f"\n## {title}: {res['folds']}, {len(res['subjects'])} subjects\n")
    print(format_table(summary, SUMMARY_COLUMNS))
    for k, v in summary.items():
        lo, hi = v["balanced_accuracy_ci95"]
        dlo, dhi = v["start_cut_delta_ci95"]
        print(
            f"- {k}: BA {v['balanced_accuracy']:.3f} (95% CI {lo:.3f}-{hi:.3f}); cut - full "
            f"{v['start_cut_delta']:+.3f} ({dlo:+.3f} to {dhi:+.3f}); "
            f"strict={'holds' if v['leak_check_holds'] else 'FAILS'}, "
            f"within noise={'yes' if v['leak_check_within_score_noise'] else 'NO'}"
        )
    return summary


def record_stress_seq(
    res: dict[str, Any], art: Path, acc: dict[str, Any], max_cut_s: float = 900.0, cut_draws: int = 5
) -> None:
    """Print the table of an :func:`models.evaluation.evaluate_stress` run of :func:`stress_seq_candidates`,
    write the metrics into the sequence / head cards in ``art`` and ``acc["stress_seq"]``."""
    from models import defaults
    from models.build import STRESS_EXTRA_CARDS
    from models.evaluation import CLOCK_CONTROL
    from models.export import update_card

    models = res["models"]
    summary = print_stress_summary(res, "stress_binary sequence models and heads")
    ok = [k for k in ("mlp", "lstm", "tcn") if summary[k]["leak_check_within_score_noise"]]
    best = max(ok, key=lambda k: summary[k]["balanced_accuracy"]) if ok else None
    print(f"\nbest of mlp/lstm/tcn on LOSO balanced accuracy with the leak check within noise: {best}")
    acc["stress_seq"] = {
        **{k.replace(" (leak control)", ""): v for k, v in summary.items()},
        "best_of_mlp_lstm_tcn": best,
        "folds": res["folds"],
        "n_subjects": len(res["subjects"]),
        "context_windows": defaults.SEQ_CONTEXT_WINDOWS,
    }
    by_cand = {c: card for card, c in STRESS_EXTRA_CARDS.items()}
    for name, m in models.items():
        if name not in by_cand:
            continue
        path = art / f"{by_cand[name]}.json"
        metrics = {
            "evaluation": f"{res['folds']}, {len(res['subjects'])} Stress-Predict subjects, pooled",
            **{k: m[k] for k in ("balanced_accuracy", "macro_f1", "auroc", "accuracy", "confusion", "n")},
            "start_cut": m["start_cut"],
            "start_cut_rule": f"uniform 0-{max_cut_s:.0f} s per test subject, {cut_draws} draws, "
            "paired subject-bootstrap interval of cut - full",
            "balanced_accuracy_ci95": m["balanced_accuracy_ci95"],
            "per_subject_balanced_accuracy": m["per_subject_balanced_accuracy"],
            "compared": {k: {kk: v[kk] for kk in SUMMARY_COLUMNS} for k, v in summary.items()},
            "clock_control_start_cut": summary[CLOCK_CONTROL]["balanced_accuracy_start_cut"],
            "loso_train_s": m["loso_train_s"],
        }
        if m.get("variants"):
            metrics["corrupted_test_recordings"] = {
                v: {kk: d[kk] for kk in ("balanced_accuracy", "balanced_accuracy_ci95", "auroc")}
                for v, d in m["variants"].items()
            }
        if path.is_file():
            update_card(path, metrics=metrics)
        else:
            log.warning("no card %s to update (run emopipe train --only stress_seq first)", path)


def _resp(
    args: argparse.Namespace, data_dir: Path, cache: Path | None, art: Path, acc: dict[str, Any]
) -> dict[str, Any]:
    """LOSO of the respiration head on PPG-derived respiration; metrics into its card and ``acc["stress_resp"]``."""
    from models import defaults, resp
    from models.build import RESP_CARD, RESP_NOTE
    from models.evaluation import CLOCK_CONTROL, evaluate_stress
    from models.export import update_card

    head = defaults.with_fit(defaults.STRESS_RESP_HEAD, args.seed, args.epochs)
    source = resp.resp_arrays(data_dir, cache, int_list(args.subjects))
    res = evaluate_stress(
        "stress_binary", data_dir, cache, [head, defaults.STRESS_BASELINES[0]], int_list(args.subjects), args.seed,
        args.max_cut_s, n_folds=args.folds, n_cut_draws=args.cut_draws, source=source,
    )  # fmt: skip
    models = res["models"]
    summary = print_stress_summary(res, "stress_resp (PPG-derived respiration)")
    m = models[head.name]
    acc["stress_resp"] = {
        **{k.replace(" (leak control)", ""): v for k, v in summary.items()},
        "derived_windows": resp.window_summary(source[1]),
        "note": RESP_NOTE,
        "folds": res["folds"],
        "n_subjects": len(res["subjects"]),
    }
    metrics = {
        "evaluation": f"{res['folds']}, {len(res['subjects'])} Stress-Predict subjects, pooled, on PPG-DERIVED "
        "respiration (not on a respiration belt)",
        "evaluated_on": RESP_NOTE,
        **{k: m[k] for k in ("balanced_accuracy", "macro_f1", "auroc", "accuracy", "confusion", "n")},
        "start_cut": m["start_cut"],
        "start_cut_rule": f"uniform 0-{args.max_cut_s:.0f} s per test subject, {args.cut_draws} draws, "
        "paired subject-bootstrap interval of cut - full",
        "balanced_accuracy_ci95": m["balanced_accuracy_ci95"],
        "per_subject_balanced_accuracy": m["per_subject_balanced_accuracy"],
        "compared": {k: {kk: v[kk] for kk in SUMMARY_COLUMNS} for k, v in summary.items()},
        "clock_control_start_cut": summary[CLOCK_CONTROL]["balanced_accuracy_start_cut"],
        "loso_train_s": m["loso_train_s"],
    }
    path = art / f"{RESP_CARD}.json"
    if path.is_file():
        update_card(path, metrics=metrics)
    else:
        log.warning("no card %s to update (run emopipe train --only resp first)", path)
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
    from models.evaluation import AUDIO_DEFAULT, evaluate_audio
    from models.metrics import format_confusion, format_table

    res = evaluate_audio(data_dir, int_list(args.actors), args.seed, epochs=args.epochs)
    models = res["models"]
    print(f"\n## RAVDESS: leave-one-actor-out, {len(res['actors'])} folds (UAR = balanced accuracy)\n")
    rows = {k: {**v, "uar_ci95_lo": v["uar_ci95"][0], "uar_ci95_hi": v["uar_ci95"][1]} for k, v in models.items()}
    print(format_table(rows, ("uar", "uar_ci95_lo", "uar_ci95_hi", "macro_f1", "auroc", "accuracy")))
    print(
        "\nuar_ci95: actor-bootstrap 95% interval. "
        "tcn_plus_*: equal-weight mean of the TCN's and that logreg's probabilities."
    )
    print(f"committed model (ravdess_emotion): {AUDIO_DEFAULT}")
    d = models[AUDIO_DEFAULT]
    print(f"\nconfusion ({AUDIO_DEFAULT}):\n" + format_confusion(d["confusion"], res["classes"]))
    acc["ravdess"] = {
        "uar": d["uar"],
        "uar_ci95": d["uar_ci95"],
        "macro_f1": d["macro_f1"],
        "model": AUDIO_DEFAULT,
        "tcn_alone_uar": models["tcn_lld_speaker_norm"]["uar"],
        "fused_tcn_opensmile_functionals_uar": models["tcn_plus_logreg_speaker_norm"]["uar"],
        "baseline_uar": models["logreg_functionals_speaker_norm"]["uar"],
        "baseline_uar_no_speaker_norm": models["logreg_functionals"]["uar"],
        "n_actors": len(res["actors"]),
    }
    _update_card(
        art,
        "audio_emotion",
        {
            "evaluation": f"leave-one-actor-out, {len(res['actors'])} RAVDESS actors, pooled",
            **{
                k: d[k] for k in ("uar", "uar_ci95", "macro_f1", "auroc", "accuracy", "confusion", "n", "per_actor_uar")
            },
            "compared": {
                k: {"uar": v["uar"], "uar_ci95": v["uar_ci95"], "macro_f1": v["macro_f1"]} for k, v in models.items()
            },
            "loao_train_s": d["loao_train_s"],
        },
    )
    return res


def _calibrated(args: argparse.Namespace, data_dir: Path, cache: Path | None, art: Path, results: Path) -> None:
    """Personal calibration study (models.calibration): prints it, records it in the card and accuracy.json."""
    from models.build import CARD_FILES
    from models.calibration import evaluate_calibrated, record_calibrated, summary_lines

    res = evaluate_calibrated(
        data_dir, cache, int_list(args.subjects), args.seed, args.epochs, args.folds, args.cut_draws, args.max_cut_s
    )
    print("\n## stress_binary, personal calibration\n")
    print("\n".join(summary_lines(res)))
    record_calibrated(res, art / CARD_FILES["stress_binary"], results)


def _video_learned(args: argparse.Namespace, art: Path) -> None:
    """LOSO of the learned AU model on the user's data; metrics go into its card, not accuracy.json."""
    from models.build import VIDEO_LEARNED_NAME
    from models.evaluation import evaluate_video_learned
    from models.export import update_card
    from models.metrics import format_confusion

    m = evaluate_video_learned(args.video_labels, args.seed)
    lo, hi = m["balanced_accuracy_ci95"]
    print(f"\n## video_learned: {m['evaluation']}\n")
    print(f"balanced accuracy {m['balanced_accuracy']:.3f} (95% CI {lo:.3f}-{hi:.3f}), macro-F1 {m['macro_f1']:.3f}")
    print("\nconfusion (rows = truth):\n" + format_confusion(m["confusion"], m["classes"]))
    card = art / f"{VIDEO_LEARNED_NAME}.json"
    if card.is_file():
        update_card(card, metrics=m)
        print(f"metrics written to {card}")
    else:
        log.warning("no card %s (run emopipe train --only video_learned --out %s first)", card, art)


def _eeg(args: argparse.Namespace, art: Path, acc: dict[str, Any]) -> dict[str, Any]:
    from models.evaluation import evaluate_eeg

    m = evaluate_eeg(args.seed)
    print(f"\n## EEG (SYNTHETIC held-out subjects): balanced accuracy {m['balanced_accuracy']:.3f}")
    acc["eeg_synthetic"] = {"balanced_accuracy": m["balanced_accuracy"], "note": m["note"]}
    _update_card(art, "eeg_synthetic", m)
    return m
