"""``emopipe train``: fit the default emotion models on the real data sets and export them."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from models.commands._common import add_data_arguments, cache_dir_of, int_list, video_labels_given

HELP = "train the emotion models on the real data sets"
TARGETS = ("stress_binary", "phase", "resp", "audio", "video", "eeg")
#: not in the default set: needs the user's labelled face data (--video-labels)
EXTRA_TARGETS = ("video_learned", "stress_seq")
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emopipe train``."""
    parser.add_argument(
        "--only",
        default=",".join(TARGETS),
        help=f"comma-separated subset of {','.join(TARGETS)} (default: all). stress_binary/phase: "
        "Stress-Predict E4 windows (60 s, 5 s hop from pipeline.stream); audio: RAVDESS "
        "eGeMAPS LLDs; resp: the respiration head (stress_resp) on respiration DERIVED from the E4 BVP; "
        "video: writes the EMFACS rule card (no training); eeg: SYNTHETIC data. "
        "Also video_learned: an MLP on YOUR labelled OpenFace clips (needs --video-labels; see models/video.py); "
        "stress_seq: the stress_binary LSTM and TCN over the last K windows and the EDA / BVP / TEMP+ACC heads "
        "(cards stress_binary_lstm, stress_binary_tcn, stress_eda, stress_bvp, stress_tempacc)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder for .pt and card .json (default: models/artifacts in the repo)",
    )
    add_data_arguments(parser, "override the epochs of the stress and audio networks (smoke tests only)")
    own = parser.add_argument_group(
        "your own data",
        "--data DIR --labels FILE trains the stress model (or a binary model you name) on your E4 recordings "
        "with the same windows, features, personal baseline and network as the committed one, evaluates it "
        "leave-one-subject-out with the start-cut check, and writes <name>.pt + <name>.json (metrics in the "
        "card) to --out (default ./emopipe-models; never models/artifacts unless you say so)",
    )
    own.add_argument("--data", type=Path, default=None,
                     help="folder with one E4 session folder per subject (BVP/EDA/TEMP/ACC.csv; folder name = "
                          "subject id)")  # fmt: skip
    own.add_argument("--labels", type=Path, default=None,
                     help="per-second label CSV 'subject,t_s,label' (t_s = unix seconds; label = one of --classes "
                          "or 0/1), as for emopipe score; or a markers .jsonl (emopipe export) with --label-map "
                          "mapping its conditions to the classes")  # fmt: skip
    own.add_argument("--name", default="stress_binary", help="model name (card and file names; default stress_binary)")
    own.add_argument("--classes", default="non-stress,stress",
                     help="the two class names, negative first (default non-stress,stress)")  # fmt: skip
    own.add_argument("--label-map", default=None, metavar="NAME=CLASS,...", help="rename labels of the CSV")


def run(args: argparse.Namespace, settings: Any) -> int:
    """Train the selected targets; print where the artifacts went. Returns 0."""
    import torch

    from models import build
    from models.export import ARTIFACTS_DIR

    torch.set_num_threads(1)
    if args.data is not None or args.labels is not None:
        return _train_own(args)
    data_dir = Path(args.data_dir or settings.data_dir)
    out = Path(args.out or ARTIFACTS_DIR)
    subjects = int_list(args.subjects)
    only = [t.strip() for t in args.only.split(",") if t.strip()]
    for t in only:
        if t in ("stress_binary", "phase"):
            p = build.train_stress(t, data_dir, out, cache_dir_of(args), args.seed, True, subjects, args.epochs)
        elif t == "resp":
            p = build.train_resp(data_dir, out, cache_dir_of(args), args.seed, True, subjects, args.epochs)
        elif t == "stress_seq":
            paths = build.train_stress_extra(
                t, data_dir, out, cache_dir_of(args), args.seed, True, subjects, args.epochs
            )
            paths += build.train_stress_extra(
                "stress_heads", data_dir, out, cache_dir_of(args), args.seed, True, subjects, args.epochs
            )
            p = paths[0].parent
        elif t == "audio":
            p = build.train_audio(data_dir, out, args.seed, epochs=args.epochs)
        elif t == "eeg":
            p = build.train_eeg(out, args.seed)
        elif t == "video":
            p = build.write_emfacs_card(out)
        elif t == "video_learned":
            if not video_labels_given(args):
                return 2
            p = build.train_video_learned(args.video_labels, out, args.seed)
        else:
            log.error("unknown target %s (choose from %s)", t, ",".join(TARGETS + EXTRA_TARGETS))
            return 2
        print(f"{t}: {p}")
    return 0


def _train_own(args: argparse.Namespace) -> int:
    """``--data DIR --labels FILE``: LOSO evaluation + final model on the user's recordings."""
    import sys

    from models.exceptions import ModelError
    from models.own_data import train_own
    from models.scoring import parse_label_map

    if args.data is None or args.labels is None:
        print("emopipe train: --data and --labels go together", file=sys.stderr)
        return 2
    out = Path(args.out or "emopipe-models")
    try:
        path, m = train_own(
            args.data, args.labels, out, name=args.name, classes=tuple(c.strip() for c in args.classes.split(",")),
            label_map=parse_label_map(args.label_map), seed=args.seed, epochs=args.epochs,
        )  # fmt: skip
    except (ModelError, FileNotFoundError) as exc:
        print(f"emopipe train: {exc}", file=sys.stderr)
        return 2
    lo, hi = m["balanced_accuracy_ci95"]
    lc = m["start_cut"]["leak_check"]
    print(f"\n## {args.name}: {m['evaluation']}")
    print(f"balanced accuracy {m['balanced_accuracy']:.3f} (95% CI {lo:.3f}-{hi:.3f}, subjects resampled), "
          f"macro-F1 {m['macro_f1']:.3f}, AUROC {m['auroc']:.3f}")  # fmt: skip
    print(f"start-cut {lc['start_cut_balanced_accuracy']:.3f} (cut - full {lc['delta']:+.3f}, "
          f"95% CI {lc['delta_ci95'][0]:+.3f} to {lc['delta_ci95'][1]:+.3f})")  # fmt: skip
    for sid, v in m["per_subject_balanced_accuracy"].items():
        print(f"  {sid}: {v:.3f}")
    print(f"{args.name}: {path}  (score it on new recordings: emopipe score --model {path} PATH --labels FILE)")
    return 0
