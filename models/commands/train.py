"""``emopipe train``: fit the default emotion models on the real data sets and export them."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from models.commands._common import add_data_arguments, cache_dir_of, int_list, video_labels_given

HELP = "train the emotion models on the real data sets"
TARGETS = ("stress_binary", "phase", "audio", "video", "eeg")
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
        "eGeMAPS LLDs; video: writes the EMFACS rule card (no training); eeg: SYNTHETIC data. "
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


def run(args: argparse.Namespace, settings: Any) -> int:
    """Train the selected targets; print where the artifacts went. Returns 0."""
    import torch

    from models import build
    from models.export import ARTIFACTS_DIR

    torch.set_num_threads(1)
    data_dir = Path(args.data_dir or settings.data_dir)
    out = Path(args.out or ARTIFACTS_DIR)
    subjects = int_list(args.subjects)
    only = [t.strip() for t in args.only.split(",") if t.strip()]
    for t in only:
        if t in ("stress_binary", "phase"):
            p = build.train_stress(t, data_dir, out, cache_dir_of(args), args.seed, True, subjects, args.epochs)
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
