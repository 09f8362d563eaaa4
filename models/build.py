"""Train the default models on all data and export them with their cards (``emopipe train``)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models import defaults
from models.export import export_torchscript, read_card, write_card
from pipeline.features import FEATURE_VERSION

log = logging.getLogger(__name__)

CARD_FILES = {
    "stress_binary": "stress_binary.json",
    "phase": "stress_phase.json",
    "audio_emotion": "ravdess_emotion.json",
    "video_emotion": "emfacs_video.json",
    "eeg_synthetic": "eeg_synthetic.json",
}
MODEL_VERSION = "1.0.0"
#: 1.1.0 (stop 8): one personal baseline instead of two and a (16,) MLP; see models/defaults.py
STRESS_MODEL_VERSION = "1.1.0"
#: 1.1.0 (stop 8): TCN + logistic regression on the LLD stream's functionals, equal-weight late fusion
AUDIO_MODEL_VERSION = "1.1.0"


#: BVP cardiac features and the ECG features that measure the same quantity (preferred when ECG is present)
CARDIAC_SUBSTITUTES = {
    f"BVP_{k}": f"ECG_{k}"
    for k in ("HR_Mean", "HR_Std", "HRV_MeanNN", "HRV_SDNN", "HRV_RMSSD", "HRV_pNN50", "HRV_LF", "HRV_HF", "HRV_LFHF")
}


def _keep_metrics(path: Path, card: dict[str, Any]) -> dict[str, Any]:
    """Keep metrics of an existing card only if they describe the same configuration."""
    if path.is_file():
        old = read_card(path)
        keys = ("architecture", "fit", "input")
        new = json.loads(json.dumps({k: card.get(k) for k in keys}, default=list))
        same = all(old.get(k) == new[k] for k in keys)
        if same and old.get("metrics"):
            card["metrics"] = old["metrics"]
    card.setdefault("metrics", None)
    return card


def stress_arrays(
    data_dir: Path, cache_dir: Path | None, subjects: list[int] | None = None, progress: bool = True
) -> tuple[Any, dict[int, Any], dict[int, Any]]:
    """Spec, windows and labels of the labelled subjects (windows from pipeline.stream)."""
    from models import stress as st
    from models import stress_data as sd

    subs = subjects or sd.labelled_subjects(data_dir)
    windows = sd.load_all_windows(data_dir, subs, cache_dir, progress)
    return st.default_spec(), windows, sd.load_labels(data_dir)


def train_stress(
    task: str,
    data_dir: Path,
    out_dir: Path,
    cache_dir: Path | None,
    seed: int = 0,
    progress: bool = True,
    subjects: list[int] | None = None,
    epochs: int | None = None,
) -> Path:
    """Fit the default stress model for ``task`` on all subjects; export ``.pt`` + card."""
    from models import stress as st

    spec, windows, labels = stress_arrays(data_dir, cache_dir, subjects, progress)
    data = st.concat([st.subject_arrays(windows[s], labels[s], spec) for s in windows])
    cand = defaults.with_fit(defaults.STRESS_DEFAULT, seed=seed, epochs=epochs)
    path = _train_stress_model(cand, CARD_FILES[task].removesuffix(".json"), task, spec, windows, data, out_dir)
    if task == "stress_binary":
        write_ecg_card(path)
    return path


def write_ecg_card(stress_card: Path) -> Path:
    """The ECG head's card: the stress model and its baseline, with ECG heart rate and HRV in place of BVP's.

    Same artifact; modalities ``["ecg"]``; every other input is missing (baseline z = 0, as under the
    modality dropout the model was trained with). Not evaluated: no labelled ECG recording here.
    """
    card = {k: v for k, v in read_card(stress_card).items() if k != "schema"}
    card.update(
        name="stress_ecg", modalities=["ecg"], channels={"ecg": ["ecg"]}, rates_hz={"ecg": None},
        derived_from="stress_binary (same artifact and personal baseline; ECG heart rate and HRV in place of "
        "the BVP ones, every other input missing)",
        metrics_note="not evaluated: no labelled ECG recording here. The metrics below are those of stress_binary "
        "on E4 data; the stress_bvp head of bench/results/fusion.json shows what cardiac features alone give",
        metrics_of="stress_binary",
    )  # fmt: skip
    card["input"] = {**card["input"], "substitutes": CARDIAC_SUBSTITUTES}
    return write_card(card, stress_card.parent / "stress_ecg.json")


#: card (and artifact stem) of the respiration head and its version
RESP_CARD = "stress_resp"
RESP_MODEL_VERSION = "1.0.0"
#: what its card says about the live input and what was (not) evaluated
RESP_NOTE = (
    "trained and evaluated on PPG-derived respiration (E4 BVP, Stress-Predict); live it reads the RESP stream "
    "(a respiration belt or any respiration channel) through the same features. The belt path is NOT evaluated "
    "on labelled data: no labelled respiration-belt recording is available here"
)


def train_resp(
    data_dir: Path,
    out_dir: Path,
    cache_dir: Path | None,
    seed: int = 0,
    progress: bool = True,
    subjects: list[int] | None = None,
    epochs: int | None = None,
) -> Path:
    """Fit the respiration head (:data:`models.defaults.STRESS_RESP_HEAD`) on all subjects' PPG-derived
    respiration windows (:mod:`models.resp`); export ``stress_resp.pt`` + card."""
    from dataclasses import asdict

    from models import resp
    from models import stress as st
    from pipeline.stream import default_config

    spec, windows, labels = resp.resp_arrays(data_dir, cache_dir, subjects, progress)
    data = st.concat([st.subject_arrays(windows[s], labels[s], spec) for s in windows])
    cand = defaults.with_fit(defaults.STRESS_RESP_HEAD, seed=seed, epochs=epochs)
    t0 = time.perf_counter()
    _, net = st.train_candidate(cand, data, "stress_binary", spec, progress)
    train_s = time.perf_counter() - t0
    export_torchscript(net, torch.zeros(2, len(spec.input_names)), out_dir / f"{RESP_CARD}.pt")
    cfg = default_config("resp", resp.RESP_FS_HZ)
    card: dict[str, Any] = {
        "name": RESP_CARD,
        "version": RESP_MODEL_VERSION,
        "task": "stress_binary",
        "classes": list(st.TASKS["stress_binary"]),
        "artifact": f"{RESP_CARD}.pt",
        "format": "torchscript",
        "synthetic": False,
        "modalities": ["resp"],
        "channels": {"resp": ["resp"]},
        "rates_hz": {"resp": None},
        "window": {"window_s": cfg.window_s, "hop_s": cfg.hop_s, "source": "pipeline.stream.default_config('resp')"},
        "input": {
            "kind": "features",
            "shape": ["B", len(spec.input_names)],
            "feature_version": FEATURE_VERSION,
            "dtype": "float32",
            **spec.to_dict(),
            "live_stream": "resp: the RESP stream's window features (pipeline.features.resp), any rate >= 5 Hz",
            "training_stream": resp.DERIVATION,
        },
        "evaluated_on": RESP_NOTE,
        "normalisation": (
            "per subject, causal: each RESP feature is z-scored against the exponentially weighted mean/sd of that "
            "subject's PAST windows (pipeline.baseline, input.baselines); 0.0 before min_windows or when missing. "
            "The z-score removes the amplitude's units (derived waveform in training, belt units live)"
        ),
        "output": "class probabilities (B, 2), softmax applied",
        "architecture": {"kind": cand.kind, "params": net.get_params()},
        "fit": asdict(cand.fit_cfg),
        "training_data": {
            "dataset": "Stress-Predict (Iqbal et al. 2022), Empatica E4 wrist BVP, real; respiration DERIVED from it",
            "subjects": sorted(int(s) for s in windows),
            "n_windows": len(data.subject),
            "labels": "per-second labels, window = majority",
            "derived_windows": resp.window_summary(windows),
        },
        "training_time_s": round(train_s, 1),
        "training_hardware": "CPU, torch.set_num_threads(1)",
        "quality_rule": "head quality = the RESP window's quality (pipeline.quality: breaths found, flat segments, "
        "breath amplitude stability), 0 when missing (pipeline.heads.head_quality)",
        "leak_policy": "no absolute time, window position or counts as input; see metrics.start_cut",
    }
    path = out_dir / f"{RESP_CARD}.json"
    write_card(_keep_metrics(path, card), path)
    return path


#: stress_binary sequence models and physiology heads: card name -> candidate (models/defaults.py)
STRESS_EXTRA_CARDS: dict[str, str] = {
    "stress_binary_lstm": "lstm",
    "stress_binary_tcn": "tcn",
    "stress_eda": "head_eda",
    "stress_bvp": "head_bvp",
    "stress_tempacc": "head_tempacc",
}
#: version of the sequence models and heads (new in stop 9)
STRESS_EXTRA_VERSION = "1.0.0"


def stress_extra_candidates() -> dict[str, Any]:
    """Card name -> candidate of :data:`STRESS_EXTRA_CARDS`."""
    by_name = {c.name: c for c in (*defaults.STRESS_SEQUENCE, *defaults.STRESS_HEADS)}
    return {card: by_name[c] for card, c in STRESS_EXTRA_CARDS.items()}


def train_stress_extra(
    which: str,
    data_dir: Path,
    out_dir: Path,
    cache_dir: Path | None,
    seed: int = 0,
    progress: bool = True,
    subjects: list[int] | None = None,
    epochs: int | None = None,
) -> list[Path]:
    """Fit the stress_binary sequence models (``which="stress_seq"``) or heads (``"stress_heads"``) on all
    subjects; export ``.pt`` + card each."""
    from models import stress as st

    cands = {
        k: c
        for k, c in stress_extra_candidates().items()
        if (c.kind in ("lstm_seq", "tcn_seq")) == (which == "stress_seq")
    }
    spec, windows, labels = stress_arrays(data_dir, cache_dir, subjects, progress)
    k = max(c.context_windows for c in cands.values())
    data = st.concat([st.subject_arrays(windows[s], labels[s], spec, context_windows=k) for s in windows])
    return [
        _train_stress_model(defaults.with_fit(c, seed, epochs), name, "stress_binary", spec, windows, data, out_dir)
        for name, c in cands.items()
    ]


def _train_stress_model(
    cand: Any, name: str, task: str, spec: Any, windows: dict[int, Any], data: Any, out_dir: Path
) -> Path:
    """Fit ``cand`` on ``data`` (all subjects), export ``<name>.pt`` and write ``<name>.json``."""
    from dataclasses import asdict

    from models import stress as st
    from models import stress_data as sd
    from models.preprocess import PreprocessSpec
    from pipeline.features import FEATURE_VERSION
    from pipeline.stream import default_config

    t0 = time.perf_counter()
    _, net = st.train_candidate(cand, data, task, spec, True)
    train_s = time.perf_counter() - t0
    modalities = list(cand.modalities or sd.STRESS_MODALITIES)
    if cand.modalities:  # a head: its own spec over its modalities' features (one baseline block)
        cols = st.head_columns(spec, cand.modalities)
        spec = PreprocessSpec(tuple(spec.feature_names[i] for i in cols), spec.baselines)
    k = cand.context_windows
    n_in = len(spec.input_names)
    example = torch.zeros(2, k, n_in) if k else torch.zeros(2, n_in)
    export_torchscript(net, example, out_dir / f"{name}.pt")
    input_kind = (
        {"kind": "window_sequence", "context_windows": k, "shape": ["B", k, n_in]}
        if k
        else {"kind": "features", "shape": ["B", n_in]}
    )
    cfgs = {m: default_config(m, fs) for m, fs in (("eda", 4.0), ("bvp", 64.0), ("temp", 4.0), ("acc", 32.0))}
    cfgs = {m: c for m, c in cfgs.items() if m in modalities}
    card: dict[str, Any] = {
        "name": name,
        "version": STRESS_EXTRA_VERSION if name in STRESS_EXTRA_CARDS else STRESS_MODEL_VERSION,
        "task": task,
        "classes": list(st.TASKS[task]),
        "artifact": f"{name}.pt",
        "format": "torchscript",
        "synthetic": False,
        "modalities": modalities,
        "channels": {m: list(c.channels) or [m] for m, c in cfgs.items()},
        "rates_hz": {m: c.fs_hz for m, c in cfgs.items()},
        "window": {
            "window_s": cfgs[modalities[0]].window_s,
            "hop_s": cfgs[modalities[0]].hop_s,
            "source": "pipeline.stream.default_config + stream_step/stream_offline",
        },
        "input": {
            **input_kind,
            "feature_version": FEATURE_VERSION,
            "dtype": "float32",
            **spec.to_dict(),
        },
        "normalisation": (
            "per subject, causal: each feature is z-scored against the exponentially weighted mean/sd of that "
            "subject's PAST windows (pipeline.baseline; one block per entry of input.baselines, halflife in "
            "windows of hop_s); 0.0 before min_windows or when the feature is missing; clipped to +-clip_z. "
            "Use LoadedModel.new_state() per subject and LoadedModel.prepare(state, features) per window."
            + (
                f" window_sequence: the input is the subject's last {k} normalised vectors, oldest first, zero rows "
                "before the subject has that many windows (models.sequence.sequence_step)"
                if k
                else ""
            )
        ),
        "output": "class probabilities (B, n_classes), softmax applied",
        "architecture": {"kind": cand.kind, "params": net.get_params()},
        "fit": asdict(cand.fit_cfg),
        "training_data": {
            "dataset": "Stress-Predict (Iqbal et al. 2022), Empatica E4 wrist, real",
            "subjects": sorted(int(s) for s in windows),
            "n_windows": len(data.subject),
            "labels": "per-second labels, window = majority; phase = order of stress runs",
        },
        "training_time_s": round(train_s, 1),
        "training_hardware": "CPU, torch.set_num_threads(1)",
        "modality_dropout": "modality blocks zeroed with p=fit.modality_dropout during training",
        "leak_policy": "no absolute time, window position or counts as input; see metrics.start_cut",
    }
    if k:
        card["fit"]["train_every_kth_window"] = cand.seq_stride
    if cand.modalities:
        card["quality_rule"] = (
            "head quality = mean window quality over its modalities, 0 when missing (pipeline.heads.head_quality)"
        )
    path = out_dir / f"{name}.json"
    write_card(_keep_metrics(path, card), path)
    return path


def fit_functionals_logreg(f: np.ndarray, y: np.ndarray) -> Any:
    """StandardScaler + multinomial logistic regression on speaker-normalised functionals (fixed C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=defaults.AUDIO_LOGREG_C, max_iter=3000))
    return model.fit(f, y)


def train_audio(data_dir: Path, out_dir: Path, seed: int = 0, progress: bool = True, epochs: int | None = None) -> Path:
    """Fit the RAVDESS model on all 24 actors: TCN on speaker-normalised LLDs + logistic regression on
    the live path's speaker-normalised functionals, fused with equal weights; export ``.pt`` + card."""
    from dataclasses import asdict, replace

    from models import audio as au
    from models.networks import AudioFusionNet, TCNClassifier
    from models.training import fit
    from pipeline.features.audio import audio_names

    ds = au.load_ravdess(data_dir)
    x = au.build_inputs(ds, speaker_norm=True)
    fz = au.speaker_z(au.pipeline_functionals(ds), ds.actor)
    cfg = replace(defaults.AUDIO_FIT, seed=seed, epochs=epochs or defaults.AUDIO_FIT.epochs)
    n_cls = len(au.EMOTIONS)
    tcn = TCNClassifier(x.shape[1], n_cls, **defaults.AUDIO_PARAMS)
    t0 = time.perf_counter()
    fit(tcn, x, ds.y, n_cls, cfg, (), progress, "audio")
    lr = fit_functionals_logreg(fz, ds.y)
    train_s = time.perf_counter() - t0
    tcn_params = {k: v for k, v in tcn.get_params().items() if k != "n_classes"}
    net = AudioFusionNet(fz.shape[1], n_cls, tcn_params)
    net.tcn.load_state_dict(tcn.state_dict())
    scaler, logreg = lr[0], lr[-1]
    net.set_logreg(scaler.mean_, scaler.scale_, logreg.coef_, logreg.intercept_)
    name = "ravdess_emotion"
    example = (torch.zeros(2, x.shape[1], au.T_STEPS), torch.zeros(2, fz.shape[1]))
    export_torchscript(net, example, out_dir / f"{name}.pt")
    card = {
        "name": name,
        "version": AUDIO_MODEL_VERSION,
        "task": "audio_emotion",
        "classes": list(au.EMOTIONS),
        "artifact": f"{name}.pt",
        "format": "torchscript",
        "synthetic": False,
        "modalities": ["audio_features"],
        "channels": {"audio_features": [*ds.columns, "voiced"]},
        "rates_hz": {"audio_features": au.FRAME_RATE_HZ},
        "window": {
            "window_s": au.LIVE_WINDOW_S,
            "hop_s": au.LIVE_WINDOW_S,
            "model_window_s": au.T_STEPS * au.POOL / au.FRAME_RATE_HZ,
            "pool_frames": au.POOL,
            "steps": au.T_STEPS,
            "pad": "zeros at the end; longer input centre-cropped",
        },
        "input": {
            "kind": "lld+functionals",
            "shape": ["B", x.shape[1], au.T_STEPS],
            "functionals_shape": ["B", fz.shape[1]],
            "functional_names": list(audio_names(ds.columns)),
            "feature_version": FEATURE_VERSION,
            "dtype": "float32",
            "frames": "openSMILE 2.6 eGeMAPSv02 LLDs, 10 ms hop",
            "builder": "models.audio.clip_tensor (LLD tensor); pipeline.features.audio.audio_features over the "
            "clip, z-scored with models.audio.functional_stats of the speaker's calibration clips (functionals)",
        },
        "normalisation": (
            "per speaker, from unlabelled calibration speech: LLD z-score with the speaker's mean/sd over the "
            "calibration frames (voiced-only LLDs over voiced frames, 0 when unvoiced), and functionals z-scored "
            "with the mean/sd of the calibration clips' functionals; see models.audio"
        ),
        "output": "class probabilities (B, 8), softmax applied: mean of the TCN's and the logistic regression's",
        "architecture": {"kind": "audio_fusion", "params": net.get_params()},
        "fit": {**asdict(cfg), "functionals_logreg_C": defaults.AUDIO_LOGREG_C},
        "training_data": {
            "dataset": "RAVDESS speech eGeMAPS LLD frames (CC BY-NC-SA 4.0), 24 actors, real",
            "n_clips": len(ds.y),
        },
        "licence": "CC BY-NC-SA 4.0 (derived from RAVDESS)",
        "training_time_s": round(train_s, 1),
        "training_hardware": "CPU, torch.set_num_threads(1)",
    }
    path = out_dir / "ravdess_emotion.json"
    write_card(_keep_metrics(path, card), path)
    return path


def train_eeg(out_dir: Path, seed: int = 0, progress: bool = True, n_subjects: int = 12) -> Path:
    """Fit the EEG TCN on SYNTHETIC subjects; export ``.pt`` + card labelled synthetic."""
    from dataclasses import asdict, replace

    from models import eeg_synth as es
    from models.networks import TCNClassifier
    from models.training import fit

    parts = [es.simulate_subject(1000 + seed * 100 + i, 40) for i in range(n_subjects)]
    x = es.normalise_windows(np.concatenate([p[0] for p in parts]))
    y = np.concatenate([p[1] for p in parts])
    cfg = replace(defaults.EEG_FIT, seed=seed)
    net = TCNClassifier(len(es.EEG_CHANNELS), len(es.EEG_CLASSES), **defaults.EEG_PARAMS)
    t0 = time.perf_counter()
    fit(net, x, y, len(es.EEG_CLASSES), cfg, [[i] for i in range(len(es.EEG_CHANNELS))], progress, "eeg")
    train_s = time.perf_counter() - t0
    n_t = int(es.EEG_FS_HZ * es.EEG_WINDOW_S)
    export_torchscript(net, torch.zeros(2, len(es.EEG_CHANNELS), n_t), out_dir / "eeg_synthetic.pt")
    card = {
        "name": "eeg_synthetic",
        "version": MODEL_VERSION,
        "task": "eeg_synthetic",
        "classes": list(es.EEG_CLASSES),
        "artifact": "eeg_synthetic.pt",
        "format": "torchscript",
        "synthetic": True,
        "warning": "SYNTHETIC training data, not for real use",
        "modalities": ["eeg"],
        "channels": {"eeg": list(es.EEG_CHANNELS)},
        "rates_hz": {"eeg": es.EEG_FS_HZ},
        "window": {"window_s": es.EEG_WINDOW_S, "hop_s": es.EEG_WINDOW_S},
        "input": {"kind": "raw", "shape": ["B", 4, n_t], "dtype": "float32", "feature_version": FEATURE_VERSION},
        "normalisation": "per window and channel z-score (models.eeg_synth.normalise_windows)",
        "output": "class probabilities (B, 3), softmax applied",
        "architecture": {"kind": "tcn", "params": net.get_params()},
        "fit": asdict(cfg),
        "training_data": {"dataset": "SYNTHETIC band-structured EEG (models.eeg_synth)", "subjects": n_subjects},
        "training_time_s": round(train_s, 1),
        "training_hardware": "CPU, torch.set_num_threads(1)",
    }
    path = out_dir / "eeg_synthetic.json"
    write_card(_keep_metrics(path, card), path)
    return path


def write_emfacs_card(out_dir: Path) -> Path:
    """Card of the rule-based EMFACS video model (no artifact, no training)."""
    from pipeline.emfacs import AU_ORDER, EMFACS_CLASSES, EMFACS_PROTOTYPES

    card = {
        "name": "emfacs_video",
        "version": MODEL_VERSION,
        "task": "video_emotion",
        "classes": list(EMFACS_CLASSES),
        "artifact": None,
        "format": "rules (pipeline.emfacs)",
        "synthetic": False,
        "modalities": ["video_features"],
        "channels": {"video_features": [f"{a}_r" for a in AU_ORDER]},
        "window": {"window_s": 5.0, "hop_s": 5.0},
        "input": {
            "kind": "action_units",
            "feature_version": FEATURE_VERSION,
            "shape": ["B", len(AU_ORDER)],
            "au_order": list(AU_ORDER),
            "units": "OpenFace AU intensity 0..5",
        },
        "rules": {k: list(v) for k, v in EMFACS_PROTOTYPES.items()},
        "normalisation": "none (AU intensities / 5, clipped to 0..1)",
        "output": "softmax of prototype completeness / 0.1",
        "training_data": None,
        "training_time_s": 0.0,
        "metrics": None,
        "metrics_note": "no labelled facial data available here; rules are not evaluated",
    }
    path = out_dir / "emfacs_video.json"
    write_card(card, path)
    return path


#: card (and artifact stem) of a learned AU model trained on the user's labelled OpenFace data
VIDEO_LEARNED_NAME = "video_learned"


def train_video_learned(labels_csv: Path, out_dir: Path, seed: int = 0) -> Path:
    """Fit an MLP on the user's labelled OpenFace clips (:mod:`models.video`); export ``.pt`` + card."""
    from dataclasses import asdict

    from models import video as vd

    clips = vd.read_labels(labels_csv)
    vs = vd.load_video_set(clips)
    t0 = time.perf_counter()
    net = vd.fit_video_mlp(vs.x, vs.y, len(vs.classes), seed)
    train_s = time.perf_counter() - t0
    export_torchscript(net, torch.zeros(2, vs.x.shape[1]), out_dir / f"{VIDEO_LEARNED_NAME}.pt")
    card = {
        "name": VIDEO_LEARNED_NAME,
        "version": MODEL_VERSION,
        "task": "video_emotion",
        "classes": list(vs.classes),
        "artifact": f"{VIDEO_LEARNED_NAME}.pt",
        "format": "torchscript",
        "synthetic": False,
        "modalities": ["video_features"],
        "channels": {"video_features": "OpenFace AUxx_r / AUxx_c columns of the training clips"},
        "window": {"window_s": vd.WINDOW_S, "hop_s": vd.WINDOW_S, "min_frames": vd.MIN_FRAMES},
        "input": {
            "kind": "video_features",
            "shape": ["B", len(vs.feature_names)],
            "dtype": "float32",
            "feature_names": list(vs.feature_names),
            "feature_version": FEATURE_VERSION,
            "builder": "[features[k] for k in feature_names] of a pipeline.features.video window (NaN -> 0)",
        },
        "normalisation": "training-set standardisation, folded into the first layer (no per-subject baseline)",
        "output": f"class probabilities (B, {len(vs.classes)}), softmax applied",
        "architecture": {"kind": "mlp", "params": net.get_params()},
        "fit": asdict(defaults.VIDEO_FIT) | {"seed": seed},
        "training_data": {
            "labels_csv": str(Path(labels_csv).resolve()),
            "n_clips": len(clips),
            "n_windows": len(vs.y),
            "subjects": sorted(set(vs.subject.tolist())),
            "class_counts": {c: int((vs.y == i).sum()) for i, c in enumerate(vs.classes)},
        },
        "training_time_s": round(train_s, 1),
        "training_hardware": "CPU, torch.set_num_threads(1)",
        "metrics": None,
    }
    path = out_dir / f"{VIDEO_LEARNED_NAME}.json"
    write_card(card, path)
    return path
