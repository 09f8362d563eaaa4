"""Subject-independent evaluation (``emopipe evaluate``): LOSO on Stress-Predict, LOAO on RAVDESS,
held-out synthetic subjects for the SYNTHETIC EEG model.

Leak check (Stress-Predict): the same LOSO folds are also scored on test recordings with a
random 0-``max_cut_s`` seconds cut from their start (the running baselines then start later
too); a model that used time since the start would lose accuracy there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.metrics import per_group_balanced_accuracy, scores

log = logging.getLogger(__name__)


def evaluate_stress(
    task: str,
    data_dir: Path,
    cache_dir: Path | None,
    candidates: Sequence[Any],
    subjects: list[int] | None = None,
    seed: int = 0,
    max_cut_s: float = 900.0,
    progress: bool = True,
    n_folds: int = 0,
) -> dict[str, Any]:
    """LOSO (or ``n_folds`` subject-grouped folds) of every candidate on ``task``.

    Returns metrics per model (pooled over folds) with the start-cut leak check.
    """
    from models import stress as st
    from models.build import stress_arrays

    spec, windows, labels = stress_arrays(data_dir, cache_dir, subjects, progress)
    data = {s: st.subject_arrays(windows[s], labels[s], spec) for s in windows}
    rng = np.random.default_rng(seed)
    cuts = {s: float(rng.uniform(0.0, max_cut_s)) for s in windows}
    cut = {s: st.subject_arrays(windows[s], labels[s], spec, cut_s=cuts[s]) for s in windows}
    res = st.loso(candidates, data, task, spec, cut, progress, n_folds)
    n_cls = len(st.TASKS[task])
    out: dict[str, Any] = {
        "task": task,
        "classes": list(st.TASKS[task]),
        "subjects": sorted(windows),
        "start_cut_s": {int(k): round(v, 1) for k, v in cuts.items()},
        "models": {},
        "folds": "leave-one-subject-out" if n_folds <= 0 else f"{n_folds} subject-grouped folds",
    }
    same = _same_windows_mask(data, cuts, res[next(iter(res))]["subject"])
    for name, r in res.items():
        m = scores(r["y"], r["proba"], n_cls)
        m["start_cut"] = {k: v for k, v in scores(r["y_cut"], r["proba_cut"], n_cls).items() if k != "confusion"}
        # the uncut run scored only on the windows that the cut run keeps: separates "easy early windows
        # removed" from "baseline started later"
        m["start_cut"]["uncut_same_windows_balanced_accuracy"] = scores(r["y"][same], r["proba"][same], n_cls)[
            "balanced_accuracy"
        ]
        m["per_subject_balanced_accuracy"] = per_group_balanced_accuracy(r["y"], r["proba"], r["subject"])
        m["loso_train_s"] = round(r["train_s"], 1)
        out["models"][name] = m
    return out


def _same_windows_mask(data: Any, cuts: dict[int, float], subject_order: Any) -> Any:
    """Rows of the pooled uncut results whose window starts after that subject's cut."""
    _, first = np.unique(subject_order, return_index=True)
    order = [int(s) for s in np.asarray(subject_order)[np.sort(first)]]
    parts = [data[s].meta["start_ns"] >= data[s].meta["recording_start_ns"] + int(cuts[s] * 1e9) for s in order]
    return np.concatenate(parts)


def evaluate_audio(
    data_dir: Path,
    actors: list[int] | None = None,
    seed: int = 0,
    with_global_tcn: bool = False,
    progress: bool = True,
    epochs: int | None = None,
) -> dict[str, Any]:
    """Leave-one-actor-out UAR: TCN on LLD frames (speaker-normalised) and logreg baselines on functionals."""
    from dataclasses import replace

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from tqdm.auto import tqdm

    from models import audio as au
    from models import defaults
    from models.networks import TCNClassifier
    from models.training import fit, predict_proba

    ds = au.load_ravdess(data_dir)
    f, yf, af = au.functionals(data_dir)
    fz = au.speaker_z(f, af)
    x_sn = au.build_inputs(ds, speaker_norm=True)
    folds = actors or sorted(int(a) for a in np.unique(ds.actor))
    n = len(au.EMOTIONS)
    names = ["tcn_lld_speaker_norm", "logreg_functionals", "logreg_functionals_speaker_norm"]
    if with_global_tcn:
        names.append("tcn_lld_global_norm")
    proba = {k: np.zeros((len(ds.y), n)) for k in names}
    train_s = dict.fromkeys(names, 0.0)
    cfg = replace(defaults.AUDIO_FIT, seed=seed, epochs=epochs or defaults.AUDIO_FIT.epochs)
    for a in tqdm(folds, desc="LOAO audio", disable=not progress):
        te, tr = ds.actor == a, ds.actor != a
        t0 = time.perf_counter()
        net = fit(TCNClassifier(x_sn.shape[1], n, **defaults.AUDIO_PARAMS), x_sn[tr], ds.y[tr], n, cfg)
        proba["tcn_lld_speaker_norm"][te] = predict_proba(net, x_sn[te])
        train_s["tcn_lld_speaker_norm"] += time.perf_counter() - t0
        if with_global_tcn:
            xg = au.build_inputs(ds, speaker_norm=False, train_actors=np.unique(ds.actor[tr]))
            net = fit(TCNClassifier(xg.shape[1], n, **defaults.AUDIO_PARAMS), xg[tr], ds.y[tr], n, cfg)
            proba["tcn_lld_global_norm"][te] = predict_proba(net, xg[te])
        for key, feats in (("logreg_functionals", f), ("logreg_functionals_speaker_norm", fz)):
            t0 = time.perf_counter()
            lr = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
            proba[key][te] = lr.fit(feats[tr], yf[tr]).predict_proba(feats[te])
            train_s[key] += time.perf_counter() - t0
    mask = np.isin(ds.actor, folds)
    out: dict[str, Any] = {"classes": list(au.EMOTIONS), "actors": folds, "models": {}}
    for k in names:
        m = scores(ds.y[mask], proba[k][mask], n)
        m["uar"] = m["balanced_accuracy"]
        m["per_actor_uar"] = per_group_balanced_accuracy(ds.y[mask], proba[k][mask], ds.actor[mask])
        m["loao_train_s"] = round(train_s[k], 1)
        out["models"][k] = m
    return out


def evaluate_eeg(seed: int = 0) -> dict[str, Any]:
    """SYNTHETIC: train on 12 simulated subjects, test on 6 others (never real EEG)."""
    from dataclasses import replace

    from models import defaults
    from models import eeg_synth as es
    from models.networks import TCNClassifier
    from models.training import fit, predict_proba

    def make(seeds: range) -> tuple[Any, Any]:
        parts = [es.simulate_subject(s, 40) for s in seeds]
        return es.normalise_windows(np.concatenate([p[0] for p in parts])), np.concatenate([p[1] for p in parts])

    xtr, ytr = make(range(1000 + seed * 100, 1012 + seed * 100))
    xte, yte = make(range(5000, 5006))
    n = len(es.EEG_CLASSES)
    net = fit(TCNClassifier(xtr.shape[1], n, **defaults.EEG_PARAMS), xtr, ytr, n, replace(defaults.EEG_FIT, seed=seed))
    m = scores(yte, predict_proba(net, xte), n)
    m["note"] = "SYNTHETIC held-out simulated subjects; says nothing about real EEG"
    return m
