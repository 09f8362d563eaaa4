"""Robustness of the default stress model to a missing modality (run by hand, ~1 min on 2 cores).

Usage::

    .venv/bin/python bench/stress_missing_modalities.py

9 subject-grouped folds over the 27 labelled Stress-Predict subjects; in each fold the default
early-fusion MLP (models.defaults.STRESS_DEFAULT, trained with modality dropout) is scored on the
test subjects with all modalities and with one modality's input block zeroed (= absent).
Writes bench/results/stress_missing_modalities.json and appends a row to BENCHMARKS.md.
"""

from __future__ import annotations

import copy
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import RESULTS_DIR, append_row, write_results  # noqa: E402
from deploy.settings import Settings  # noqa: E402
from models import defaults  # noqa: E402
from models import stress as st  # noqa: E402
from models import stress_data as sd  # noqa: E402
from models.fusion import modality_groups  # noqa: E402
from models.metrics import scores  # noqa: E402


def main() -> None:
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    torch.set_num_threads(1)
    d = Settings().data_dir
    subs = sd.labelled_subjects(d)
    windows = sd.load_all_windows(d, subs, ROOT / ".run" / "cache", progress=False)
    labels = sd.load_labels(d)
    spec = st.default_spec()
    data = {s: st.subject_arrays(windows[s], labels[s], spec) for s in subs}
    groups = modality_groups(spec.input_names)
    out: dict[str, tuple[list, list]] = {k: ([], []) for k in ["none", *groups]}
    for test in st.subject_folds(subs, 9):
        tr = st.concat([data[k] for k in subs if k not in test])
        pred, _ = st.train_candidate(defaults.STRESS_DEFAULT, tr, "stress_binary", spec)
        for s in test:
            a = data[s]
            out["none"][0].append(a.y["stress_binary"])
            out["none"][1].append(pred(a))
            for m, cols in groups.items():
                b = copy.copy(a)
                b.x_feat = a.x_feat.copy()
                b.x_feat[:, cols] = 0.0
                out[m][0].append(a.y["stress_binary"])
                out[m][1].append(pred(b))
    res = {
        f"missing_{k}": scores(np.concatenate(y), np.concatenate(p), 2)["balanced_accuracy"]
        for k, (y, p) in out.items()
    }
    write_results(res, RESULTS_DIR / "stress_missing_modalities.json")
    c = defaults.STRESS_DEFAULT
    figs = "; ".join(f"{k.removeprefix('missing_').upper()} missing {v:.3f}" for k, v in res.items())
    figs = figs.replace("NONE missing", "none missing")
    bench = (
        f"stress model {c.name} {dict(c.params)}, one modality missing (9 grouped folds, 27 subjects, balanced acc.)"
    )
    append_row(bench, figs, ".venv/bin/python bench/stress_missing_modalities.py")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
