"""Options and helpers shared by ``emopipe train`` and ``emopipe evaluate``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)

VIDEO_LABELS_HELP = "video_learned: CSV with columns openface_csv,subject,label (one labelled OpenFace CSV per row)"


def add_data_arguments(parser: argparse.ArgumentParser, epochs_help: str) -> None:
    """``--video-labels``, ``--data-dir``, ``--cache-dir``, ``--subjects``, ``--seed`` and ``--epochs``."""
    parser.add_argument("--video-labels", type=Path, default=None, help=VIDEO_LABELS_HELP)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder that holds stress-predict/, ravdess/, ... (the parent of stress-predict/; default "
        "EMOPIPE_DATA_DIR, else ../shared/data)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="cache of computed windows/features, keyed by FEATURE_VERSION "
        "(default: <repo>/.run/cache; 'none' disables)",
    )
    parser.add_argument(
        "--subjects", default=None, help="comma-separated Stress-Predict subject numbers (default: all 27 labelled)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--epochs", type=int, default=None, help=epochs_help)


def cache_dir_of(args: argparse.Namespace) -> Path | None:
    """Resolve ``--cache-dir``."""
    from models.export import ARTIFACTS_DIR

    if args.cache_dir is None:
        return ARTIFACTS_DIR.parent.parent / ".run" / "cache"
    return None if str(args.cache_dir) == "none" else Path(args.cache_dir)


def int_list(s: str | None) -> list[int] | None:
    """``"2,3,4"`` -> ``[2, 3, 4]``; ``None`` or empty -> ``None``."""
    return [int(v) for v in s.split(",")] if s else None


def video_labels_given(args: argparse.Namespace) -> bool:
    """True if ``--video-labels`` was given, else log what ``video_learned`` needs and return False."""
    if args.video_labels is None:
        log.error("video_learned needs --video-labels labels.csv (columns openface_csv,subject,label)")
        return False
    return True
