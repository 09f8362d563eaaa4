"""Train and evaluate the stress model (or a user-named binary model) on a lab's own E4 recordings.

``emopipe train --data DIR --labels FILE``: ``DIR`` holds one E4 session folder per subject
(``BVP.csv``, ``EDA.csv``, ``TEMP.csv``, ``ACC.csv``; the folder name is the subject id), ``FILE`` is a
per-second label CSV in the format of ``emopipe score`` (:data:`models.scoring.LABEL_FORMAT_HELP`), or
a ``.jsonl`` file of recorded markers whose conditions ``label_map`` maps to the two classes (seconds
outside every marked segment are unlabelled).
Windows and features come from the live path's windowing (:func:`models.stress_data.pipeline_windower`),
the personal baseline and the model are the committed default's (:data:`models.defaults.STRESS_DEFAULT`,
fixed hyper-parameters), and the evaluation is the same leave-one-subject-out protocol with the
start-cut check as ``emopipe evaluate``. The card (``<name>.json`` + ``<name>.pt`` in ``--out``) carries
the LOSO metrics; the model is then trained on every subject.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.exceptions import DataNotFoundError, LabelError

log = logging.getLogger(__name__)

#: modalities the stress feature model needs, as E4 file names
E4_FILES = ("EDA.csv", "BVP.csv", "TEMP.csv", "ACC.csv")


def find_sessions(data_dir: Path) -> dict[str, Path]:
    """Subject id (folder name) -> E4 session folder, for every sub-folder of ``data_dir`` with all four files."""
    d = Path(data_dir)
    if not d.is_dir():
        msg = f"--data {d}: not a folder (expected one E4 session folder per subject)"
        raise DataNotFoundError(msg)
    found = {p.name: p for p in sorted(d.iterdir()) if p.is_dir() and all((p / f).is_file() for f in E4_FILES)}
    if not found:
        msg = f"--data {d}: no sub-folder with {', '.join(E4_FILES)} (one E4 session folder per subject)"
        raise DataNotFoundError(msg)
    return found


def own_windows(sessions: dict[str, Path], progress: bool = True) -> dict[str, Any]:
    """:class:`models.stress_data.SubjectWindows` per subject id (subject numbers 0..N-1 in id order)."""
    from tqdm.auto import tqdm

    from models import stress_data as sd

    out = {}
    for i, (sid, path) in enumerate(
        tqdm(sorted(sessions.items()), desc="windows (pipeline.stream)", disable=not progress)
    ):
        signals = {}
        for modality, (fname, scale) in sd.E4_FILES.items():
            t0_s, fs_hz, x = sd.read_e4_csv((path / fname).read_text())
            signals[modality] = (round(t0_s * 1e9), fs_hz, x * scale)
        out[sid] = sd.build_subject_windows(sd.Recording(i, signals), sd.pipeline_windower)
    return out


def own_arrays(
    windows: dict[str, Any], timelines: dict[str, Any], spec: Any, cut_s: dict[str, float] | None = None
) -> dict[str, Any]:
    """Labelled, baseline-normalised :class:`models.stress.Arrays` per subject id (``stress_binary`` = 0/1)."""
    from models import stress as st

    out = {}
    for sid, sw in windows.items():
        tl = timelines.get(sid, timelines.get("*"))
        if tl is None:
            continue
        t_s = (tl.t_ns // 1_000_000_000).astype(np.int64)
        y = tl.y.astype(np.int64)
        a = st.subject_arrays(sw, (t_s, y, y), spec, cut_s=(cut_s or {}).get(sid, 0.0))
        if len(a.subject):
            out[sid] = a
    return out


def train_own(
    data_dir: Path,
    labels: Path,
    out_dir: Path,
    *,
    name: str = "stress_binary",
    classes: Sequence[str] = ("non-stress", "stress"),
    label_map: dict[str, str] | None = None,
    seed: int = 0,
    epochs: int | None = None,
    n_cut_draws: int = 5,
    max_cut_s: float = 900.0,
    progress: bool = True,
) -> tuple[Path, dict[str, Any]]:
    """LOSO evaluation, then training on every subject; writes ``<name>.pt`` and ``<name>.json``.

    Returns (card path, LOSO metrics).
    """
    import torch

    from models import defaults
    from models import stress as st
    from models.build import STRESS_MODEL_VERSION
    from models.export import export_torchscript, write_card
    from models.metrics import leak_check, per_group_balanced_accuracy, scores
    from models.scoring import marker_timeline, read_label_csv, read_markers_jsonl
    from pipeline.features import FEATURE_VERSION
    from pipeline.stream import default_config

    if len(classes) != 2:
        msg = f"--classes needs two names (negative,positive), got {list(classes)}"
        raise LabelError(msg)
    sessions = find_sessions(data_dir)
    markers: dict[str, list[Any]] | None = None
    if Path(labels).suffix == ".jsonl":  # recorded markers: the condition at each second, mapped to a class
        markers = {}
        for mk in read_markers_jsonl(Path(labels)):
            markers.setdefault(mk.subject_id, []).append(mk)
        timelines: dict[str, Any] = dict.fromkeys(markers)
    else:
        timelines = read_label_csv(labels, classes, label_map)
    unknown = sorted(set(timelines) - set(sessions) - {"*"})
    if unknown:
        log.warning("labels for subjects without a session folder in %s: %s", data_dir, unknown)
    windows = own_windows({k: v for k, v in sessions.items() if k in timelines or "*" in timelines}, progress)
    if markers is not None:
        timelines = {
            sid: marker_timeline(markers[sid], (int(sw.start_ns[0]), int(sw.end_ns[-1])), classes, label_map or {})
            for sid, sw in windows.items()
        }
    spec = st.default_spec()
    data = own_arrays(windows, timelines, spec)
    if len(data) < 3:
        msg = f"need labelled windows of at least 3 subjects for leave-one-subject-out, got {sorted(data)}"
        raise LabelError(msg)
    for sid, a in data.items():
        if len(np.unique(a.y["stress_binary"])) < 2:
            log.warning("%s has one class only in its labelled windows", sid)
    ids = sorted(data)
    num = {sid: i for i, sid in enumerate(ids)}
    by_num = {num[s]: data[s] for s in ids}
    rng = np.random.default_rng(seed)
    dur = {s: (windows[s].start_ns[-1] - windows[s].start_ns[0]) / 1e9 for s in ids}
    cut_max = {s: min(max_cut_s, 0.25 * dur[s]) for s in ids}
    cuts = [{s: float(rng.uniform(0.0, cut_max[s])) for s in ids} for _ in range(n_cut_draws)]
    cut_data = [{num[s]: a for s, a in own_arrays(windows, timelines, spec, c).items()} for c in cuts]
    cut_data = [cd for cd in cut_data if set(cd) == set(by_num)]
    cand = defaults.with_fit(defaults.STRESS_DEFAULT, seed=seed, epochs=epochs)
    res = st.loso([cand], by_num, "stress_binary", spec, cut_data, progress)[cand.name]
    m = scores(res["y"], res["proba"], 2)
    lc = leak_check((res["y"], res["proba"], res["subject"]), [(d["y"], d["proba"], d["subject"]) for d in res["cut"]])
    per = per_group_balanced_accuracy(res["y"], res["proba"], res["subject"])
    metrics = {
        "evaluation": f"leave-one-subject-out, {len(ids)} subjects of {Path(data_dir).name}, pooled",
        **{k: m[k] for k in ("balanced_accuracy", "macro_f1", "auroc", "accuracy", "confusion", "n")},
        "balanced_accuracy_ci95": lc["balanced_accuracy_ci95"],
        "start_cut": {"balanced_accuracy": lc["start_cut_balanced_accuracy"], "leak_check": lc},
        "start_cut_rule": f"uniform 0-min({max_cut_s:.0f} s, a quarter of the recording) per test subject, "
        f"{len(cut_data)} draws, paired subject-bootstrap interval of cut - full",
        "per_subject_balanced_accuracy": {ids[k]: v for k, v in per.items()},
        "loso_train_s": round(res["train_s"], 1),
    }
    full = st.concat([data[s] for s in ids])
    t0 = time.perf_counter()
    _, net = st.train_candidate(cand, full, "stress_binary", spec, progress)
    train_s = time.perf_counter() - t0
    out_dir = Path(out_dir)
    import warnings

    with warnings.catch_warnings():  # torch >= 2.9 deprecates jit.trace; the artifacts are TorchScript by design
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.", category=FutureWarning)
        export_torchscript(net, torch.zeros(2, full.x_feat.shape[1]), out_dir / f"{name}.pt")
    cfgs = {mo: default_config(mo, fs) for mo, fs in (("eda", 4.0), ("bvp", 64.0), ("temp", 4.0), ("acc", 32.0))}
    from dataclasses import asdict

    card = {  # the committed stress card's layout (models.build.train_stress), with this data's provenance
        "name": name,
        "version": STRESS_MODEL_VERSION,
        "task": "stress_binary" if name == "stress_binary" else name,
        "classes": list(classes),
        "artifact": f"{name}.pt",
        "format": "torchscript",
        "synthetic": False,
        "modalities": ["eda", "bvp", "temp", "acc"],
        "channels": {mo: list(c.channels) or [mo] for mo, c in cfgs.items()},
        "rates_hz": {mo: c.fs_hz for mo, c in cfgs.items()},
        "window": {
            "window_s": cfgs["eda"].window_s,
            "hop_s": cfgs["eda"].hop_s,
            "source": "pipeline.stream.default_config + stream_step/stream_offline",
        },
        "input": {
            "kind": "features",
            "feature_version": FEATURE_VERSION,
            "shape": ["B", len(spec.input_names)],
            "dtype": "float32",
            **spec.to_dict(),
        },
        "normalisation": "per subject, causal running z-score against the subject's past windows "
        "(pipeline.baseline), as the committed stress model",
        "output": "class probabilities (B, 2), softmax applied",
        "architecture": {"kind": cand.kind, "params": net.get_params()},
        "fit": asdict(cand.fit_cfg),
        "training_data": {
            "dataset": f"own data: {Path(data_dir).resolve()}",
            "labels": str(Path(labels).resolve()),
            "subject_ids": ids,
            "n_windows": len(full.subject),
            "rule": "window label = majority of its labelled seconds (at least half the window labelled)",
        },
        "training_time_s": round(train_s, 1),
        "training_hardware": "CPU, torch.set_num_threads(1)",
        "leak_policy": "no absolute time, window position or counts as input; see metrics.start_cut",
        "metrics": metrics,
    }
    path = write_card(card, out_dir / f"{name}.json")
    return path, metrics
