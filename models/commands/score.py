"""``emopipe score``: score a committed or user model on labelled recordings, without retraining.

Never writes model cards or ``bench/results``; everything goes to ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

HELP = "score a trained model on your labelled recordings (no retraining; writes a JSON + HTML report)"
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``emopipe score``."""
    from models.scoring import LABEL_FORMAT_HELP

    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="E4 session folder(s) (BVP/EDA/TEMP/ACC.csv) or a folder of them; a path that does not exist is "
        "also looked up under EMOPIPE_DATA_DIR, the folder that holds stress-predict/, ravdess/, ... "
        "(e.g. stress-predict/Raw_data/S02)",
    )
    parser.add_argument(
        "--model",
        default="stress_binary",
        help="NAME[@VERSION] of a card in --model-dir (e.g. stress_binary@1.1.0), a default task, or "
        "the path of a model card .json (default stress_binary)",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="folder of model cards (default EMOPIPE_MODEL_DIR = models/artifacts)",
    )
    parser.add_argument("--labels", required=True, metavar="FILE|tags", help=LABEL_FORMAT_HELP)
    parser.add_argument(
        "--label-map",
        default=None,
        metavar="NAME=CLASS,...",
        help="map label or marker names to the model's classes, e.g. rest=non-stress,stroop=stress",
    )
    parser.add_argument(
        "--tag-pairs",
        type=int,
        default=0,
        help="--labels tags: use only the first N press pairs (0 = all; 3 for Stress-Predict, whose "
        "later presses mark questionnaires)",
    )
    parser.add_argument(
        "--unmarked",
        default=None,
        metavar="CLASS",
        help="--labels markers.jsonl: class of seconds with no open marker segment (default: unlabelled)",
    )
    parser.add_argument(
        "--subject",
        action="append",
        default=None,
        metavar="ID",
        help="override the subject id of each recording, in order (default: folder name)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("emopipe-score"),
        help="report folder: report.json, report.html, PNG plots (default ./emopipe-score)",
    )
    parser.add_argument("--n-boot", type=int, default=1000, help="subject-bootstrap resamples for the intervals")
    parser.add_argument("--chunk-s", type=float, default=1.0, help="chunk length of the replayed recordings (s)")


def _resolve_paths(paths: list[Path], data_dir: Path) -> list[Path]:
    from models.exceptions import DataNotFoundError

    out = []
    for p in paths:
        if p.exists():
            out.append(p)
        elif (data_dir / p).exists():
            out.append(data_dir / p)
        else:
            msg = f"{p} not found (nor {data_dir / p}; EMOPIPE_DATA_DIR is the folder that holds stress-predict/)"
            raise DataNotFoundError(msg)
    return out


def run(args: argparse.Namespace, settings: Any) -> int:
    """Score; print the tables; write the report. Returns 0, or 2 on bad input (with the reason)."""
    from models.exceptions import ModelError
    from pipeline.exceptions import PipelineError

    try:
        return _run(args, settings)
    except (ModelError, PipelineError, FileNotFoundError) as exc:
        print(f"emopipe score: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Any) -> int:
    from tqdm import tqdm

    from agents.sources import REFERENCE_T0_NS, count_chunks, find_recordings, recording_chunks
    from models import scoring as sc
    from models.exceptions import LabelError, ModelError
    from models.score_plots import write_html
    from pipeline.exceptions import SignalError
    from pipeline.sources.e4 import parse_e4_tags

    model, card_path = sc.resolve_model(args.model, Path(args.model_dir or settings.model_dir))
    if model.card.get("input", {}).get("kind") != "features":
        msg = f"{card_path.name}: emopipe score handles window-feature models (stress_binary, phase, your own)"
        raise ModelError(msg)
    classes = tuple(model.classes)
    label_map = sc.parse_label_map(args.label_map)
    labels_arg = str(args.labels)
    csv_timelines: dict[str, sc.Timeline] | None = None
    markers: dict[str, list[Any]] | None = None
    if labels_arg != "tags":
        if labels_arg.endswith(".jsonl"):
            markers = {}
            for m in sc.read_markers_jsonl(Path(labels_arg)):
                markers.setdefault(m.subject_id, []).append(m)
        else:
            csv_timelines = sc.read_label_csv(Path(labels_arg), classes, label_map)  # fails fast, before scoring
    recs = find_recordings(_resolve_paths(list(args.paths), Path(settings.data_dir)))
    if args.subject is not None and len(args.subject) != len(recs):
        msg = f"{len(args.subject)} --subject ids for {len(recs)} recordings"
        raise SignalError(msg)
    ids = args.subject or [r.subject_id for r in recs]
    if len(set(ids)) != len(ids):
        msg = f"two recordings have the same subject id ({ids}); give --subject once per recording"
        raise SignalError(msg)
    if csv_timelines is not None and sc.ANY_SUBJECT not in csv_timelines:
        missing = [s for s in ids if s not in csv_timelines]
        if len(missing) == len(ids):
            msg = f"{labels_arg}: no labels for the recordings {ids} (label subjects: {sorted(csv_timelines)})"
            raise LabelError(msg)
        for s in missing:
            log.warning("no labels for %s in %s: its windows are not scored", s, labels_arg)
    total = count_chunks(recs, chunk_s=args.chunk_s)
    with tqdm(total=total, unit="chunk", desc="scoring (live path offline)", file=sys.stderr, disable=None) as bar:
        streams = (
            recording_chunks(r, chunk_s=args.chunk_s, t0_offset_ns=0, untimed_t0_ns=REFERENCE_T0_NS, subject_id=s)
            for r, s in zip(recs, ids, strict=True)
        )
        scored = sc.score_recordings(model, streams, progress=bar.update)
    timelines: dict[str, sc.Timeline] = {}
    for rec, sid in zip(recs, ids, strict=True):
        if sid not in scored:
            log.warning("%s: no complete window (recording too short?)", sid)
            continue
        span = (int(scored[sid].start_ns.min()), int(scored[sid].end_ns.max()))
        if csv_timelines is not None:
            tl = csv_timelines.get(sid, csv_timelines.get(sc.ANY_SUBJECT))
            if tl is not None:
                timelines[sid] = tl
        elif markers is not None:
            if sid not in markers:
                log.warning("no markers for %s in %s", sid, labels_arg)
                continue
            timelines[sid] = sc.marker_timeline(markers[sid], span, classes, label_map, args.unmarked)
        else:
            tags = sorted(rec.path.glob("tags*.csv")) if rec.path.is_dir() else []
            if not tags:
                msg = f"--labels tags: {rec.path} has no tags_*.csv"
                raise LabelError(msg)
            if len(classes) != 2:
                msg = f"--labels tags gives two classes; {card_path.name} has {len(classes)}"
                raise LabelError(msg)
            times = parse_e4_tags(tags[0].read_text()).tolist()
            timelines[sid] = sc.tag_timeline(times, span, len(classes), args.tag_pairs)
    report = sc.score_report(scored, timelines, classes, n_boot=args.n_boot)
    report["model"] = {"name": model.card["name"], "version": model.card["version"], "card": str(card_path)}
    report["labels"] = labels_arg if labels_arg == "tags" else str(Path(labels_arg).resolve())
    report["recordings"] = {sid: str(r.path) for r, sid in zip(recs, ids, strict=True)}
    td = model.card.get("training_data") or {}
    trained = {f"S{int(s):02d}" for s in td.get("subjects", []) if str(s).isdigit()} | set(td.get("subject_ids", []))
    seen = sorted(set(ids) & trained)
    if seen:
        report["in_training_data"] = seen
    text = sc.format_report(report)
    print(f"{model.card['name']}@{model.card['version']} on {len(scored)} recording(s), labels {labels_arg}\n")
    print(text)
    if report.get("in_training_data"):
        print(f"\nnote: {', '.join(report['in_training_data'])} are in this model's training data (in-sample).")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sc.write_json(report, out / "report.json")
    html_path = write_html(report, out, text)
    print(f"\nwrote {out / 'report.json'} and {html_path}")
    return 0
