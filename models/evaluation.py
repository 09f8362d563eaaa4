"""Subject-independent evaluation (``emopipe evaluate``): LOSO on Stress-Predict, LOAO on RAVDESS,
held-out synthetic subjects for the SYNTHETIC EEG model.

Leak check (Stress-Predict): the same LOSO folds are also scored on test recordings with a
random 0-``max_cut_s`` seconds cut from their start (the running baselines then start later
too); a model that used time since the start would lose accuracy there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.metrics import bootstrap_balanced_accuracy_ci95, leak_check, per_group_balanced_accuracy, scores

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
    n_cut_draws: int = 5,
    variants: Mapping[str, Mapping[int, Any]] | None = None,
    source: tuple[Any, Mapping[int, Any], Mapping[int, Any]] | None = None,
) -> dict[str, Any]:
    """LOSO (or ``n_folds`` subject-grouped folds) of every candidate on ``task``.

    Returns metrics per model (pooled over folds) with the start-cut leak check: ``n_cut_draws``
    independent draws of the cut lengths, scored by the same fold models, and a paired
    subject-bootstrap interval of (cut - full) balanced accuracy (:func:`models.metrics.leak_check`).

    ``variants``: name -> subject -> :class:`models.stress_data.SubjectWindows`, alternative test
    recordings (e.g. with a corrupted modality) that the same fold models also score; their
    scores go to ``models[name]["variants"][variant]`` (training always uses the clean windows).
    Sequence candidates (``context_windows > 0``) get their window sequences built here.
    ``source``: ``(spec, windows, labels)`` in place of the E4 windows of :func:`models.build.stress_arrays`
    (e.g. :func:`models.resp.resp_arrays`, the PPG-derived respiration windows).
    """
    from models import stress as st
    from models.build import stress_arrays

    spec, windows, labels = source if source is not None else stress_arrays(data_dir, cache_dir, subjects, progress)
    k = max((int(getattr(c, "context_windows", 0)) for c in candidates), default=0)
    data = {s: st.subject_arrays(windows[s], labels[s], spec, context_windows=k) for s in windows}
    rng = np.random.default_rng(seed)
    cuts = [{s: float(rng.uniform(0.0, max_cut_s)) for s in sorted(windows)} for _ in range(n_cut_draws)]
    cut_draws = [
        {s: st.subject_arrays(windows[s], labels[s], spec, cut_s=c[s], context_windows=k) for s in windows}
        for c in cuts
    ]
    var = dict(variants or {})
    var_arrays = [
        {s: st.subject_arrays(v[s], labels[s], spec, context_windows=k) for s in windows} for v in var.values()
    ]
    res = st.loso(candidates, data, task, spec, [*cut_draws, *var_arrays], progress, n_folds)
    for r in res.values():
        r["variants"] = dict(zip(var, r["cut"][n_cut_draws:], strict=True))
        r["cut"] = r["cut"][:n_cut_draws]
    res[CLOCK_CONTROL] = clock_control(data, cut_draws, task, n_folds)
    n_cls = len(st.TASKS[task])
    out: dict[str, Any] = {
        "task": task,
        "classes": list(st.TASKS[task]),
        "subjects": sorted(windows),
        "start_cut_s": [{int(k): round(v, 1) for k, v in c.items()} for c in cuts],
        "models": {},
        "folds": "leave-one-subject-out" if n_folds <= 0 else f"{n_folds} subject-grouped folds",
    }
    for name, r in res.items():
        m = scores(r["y"], r["proba"], n_cls)
        lc = leak_check((r["y"], r["proba"], r["subject"]), [(d["y"], d["proba"], d["subject"]) for d in r["cut"]])
        first = r["cut"][0]
        m["start_cut"] = {
            **{k: v for k, v in scores(first["y"], first["proba"], n_cls).items() if k != "confusion"},
            # the uncut run scored only on the windows that the first cut draw keeps: separates
            # "easy early windows removed" from "baseline started later"
            "uncut_same_windows_balanced_accuracy": scores(*_same_windows(r, data, cuts[0]), n_cls)[
                "balanced_accuracy"
            ],
            "balanced_accuracy": lc["start_cut_balanced_accuracy"],
            "leak_check": lc,
        }
        m["balanced_accuracy_ci95"] = lc["balanced_accuracy_ci95"]
        m["per_subject_balanced_accuracy"] = per_group_balanced_accuracy(r["y"], r["proba"], r["subject"])
        m["loso_train_s"] = round(r["train_s"], 1)
        m["variants"] = {
            v: {
                **scores(d["y"], d["proba"], n_cls),
                "balanced_accuracy_ci95": bootstrap_balanced_accuracy_ci95(d["y"], d["proba"], d["subject"]),
            }
            for v, d in r.get("variants", {}).items()
        }
        out["models"][name] = m
    return out


#: the committed audio model (models.networks.AudioFusionNet) in the RAVDESS table
AUDIO_DEFAULT = "tcn_plus_logreg_pipeline_speaker_norm"

#: name of the positive control in the stress tables: a model that sees nothing but the clock
CLOCK_CONTROL = "clock_only (leak control)"


def session_minutes(a: Any) -> Any:
    """Minutes since the first labelled window of ``a`` (an ``models.stress.Arrays`` of one subject).

    Used only by :func:`clock_control`; no model of ours ever sees it.
    """
    start = np.asarray(a.meta["start_ns"], dtype=np.int64)
    return ((start - start.min()) / 60e9).reshape(-1, 1)


def clock_control(data: Any, cut_draws: Sequence[Any], task: str, n_folds: int = 0) -> dict[str, Any]:
    """Positive control of the leak check: gradient boosting on time since the session started, alone.

    Same folds and start-cut draws as :func:`models.stress.loso`; the cut makes each test session start
    later, so this model should lose much of its score there. Returns the ``loso`` result layout.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    from models.stress import subject_folds

    subs = sorted(data)
    keys = ("y", "proba", "subject")
    out: dict[str, Any] = {k: [] for k in keys} | {"cut": [{k: [] for k in keys} for _ in cut_draws]}
    t0 = time.perf_counter()
    for test in subject_folds(subs, n_folds):
        train = [s for s in subs if s not in test]
        x = np.vstack([session_minutes(data[s]) for s in train])
        y = np.concatenate([data[s].y[task] for s in train])
        model = HistGradientBoostingClassifier(class_weight="balanced", max_iter=100, random_state=0).fit(x, y)
        for s in test:
            for dst, arrays in ((out, data), *zip(out["cut"], cut_draws, strict=True)):
                dst["y"].append(arrays[s].y[task])
                dst["proba"].append(model.predict_proba(session_minutes(arrays[s])))
                dst["subject"].append(arrays[s].subject)
    for d in (out, *out["cut"]):
        for k in keys:
            d[k] = np.concatenate(d[k])
    out["train_s"] = time.perf_counter() - t0
    return out


def _same_windows(r: dict[str, Any], data: Any, cuts: dict[int, float]) -> tuple[Any, Any]:
    """(y, proba) of the pooled uncut results restricted to windows that start after the subject's cut."""
    subj = np.asarray(r["subject"])
    _, first = np.unique(subj, return_index=True)
    order = [int(s) for s in subj[np.sort(first)]]
    keep = np.concatenate(
        [data[s].meta["start_ns"] >= data[s].meta["recording_start_ns"] + int(cuts[s] * 1e9) for s in order]
    )
    return r["y"][keep], r["proba"][keep]


def evaluate_audio(
    data_dir: Path,
    actors: list[int] | None = None,
    seed: int = 0,
    with_global_tcn: bool = False,
    progress: bool = True,
    epochs: int | None = None,
) -> dict[str, Any]:
    """Leave-one-actor-out UAR: TCN on LLD frames (speaker-normalised), logreg on functionals, and their
    equal-weight fusions; :data:`AUDIO_DEFAULT` is the committed model's row."""
    from dataclasses import replace

    from tqdm.auto import tqdm

    from models import audio as au
    from models import defaults
    from models.build import fit_functionals_logreg
    from models.networks import TCNClassifier
    from models.training import fit, predict_proba

    ds = au.load_ravdess(data_dir)
    f, yf, af = au.functionals(data_dir)
    if not (np.array_equal(yf, ds.y) and np.array_equal(af, ds.actor)):
        msg = "RAVDESS functionals.csv.gz and clips.csv are not in the same order"
        raise ValueError(msg)
    fz = au.speaker_z(f, af)
    pz = au.speaker_z(au.pipeline_functionals(ds), ds.actor)
    x_sn = au.build_inputs(ds, speaker_norm=True)
    folds = actors or sorted(int(a) for a in np.unique(ds.actor))
    n = len(au.EMOTIONS)
    names = [
        "tcn_lld_speaker_norm",
        "logreg_functionals",
        "logreg_functionals_speaker_norm",
        "logreg_pipeline_functionals_speaker_norm",
    ]
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
        for key, feats in (
            ("logreg_functionals", f),
            ("logreg_functionals_speaker_norm", fz),
            ("logreg_pipeline_functionals_speaker_norm", pz),
        ):
            t0 = time.perf_counter()
            proba[key][te] = fit_functionals_logreg(feats[tr], yf[tr]).predict_proba(feats[te])
            train_s[key] += time.perf_counter() - t0
    # fixed, untuned late fusion of the two views (frame sequence, clip functionals): equal-weight mean
    tcn = "tcn_lld_speaker_norm"
    for lr_name, fused in (
        ("logreg_functionals_speaker_norm", "tcn_plus_logreg_speaker_norm"),
        ("logreg_pipeline_functionals_speaker_norm", "tcn_plus_logreg_pipeline_speaker_norm"),
    ):
        proba[fused] = 0.5 * (proba[tcn] + proba[lr_name])
        names.append(fused)
        train_s[fused] = train_s[tcn] + train_s[lr_name]
    mask = np.isin(ds.actor, folds)
    out: dict[str, Any] = {"classes": list(au.EMOTIONS), "actors": folds, "models": {}}
    for k in names:
        m = scores(ds.y[mask], proba[k][mask], n)
        m["uar"] = m["balanced_accuracy"]
        m["uar_ci95"] = bootstrap_balanced_accuracy_ci95(ds.y[mask], proba[k][mask], ds.actor[mask])
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


def evaluate_video_learned(labels_csv: Path, seed: int = 0) -> dict[str, Any]:
    """Leave-one-subject-out scores of the learned AU model on the user's labelled OpenFace clips."""
    from models import video as vd

    vs = vd.load_video_set(vd.read_labels(labels_csv))
    proba = vd.loso_video(vs, seed)
    codes = {s: i for i, s in enumerate(sorted(set(vs.subject.tolist())))}
    groups = np.array([codes[s] for s in vs.subject], dtype=np.int64)
    m = scores(vs.y, proba, len(vs.classes))
    m["balanced_accuracy_ci95"] = bootstrap_balanced_accuracy_ci95(vs.y, proba, groups)
    per = per_group_balanced_accuracy(vs.y, proba, groups)
    m["per_subject_balanced_accuracy"] = {s: per[i] for s, i in codes.items()}
    m["evaluation"] = f"leave-one-subject-out, {len(codes)} subjects, {len(vs.y)} windows, pooled"
    m["classes"] = list(vs.classes)
    return m
