"""Sequence models (LSTM, TCN over the last K windows): causality, state, export, streaming == offline.

Feature values here are SYNTHETIC random numbers (shapes and code paths only, no accuracy claim).
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

from models import stress as st
from models import stress_data as sd
from models.export import export_torchscript, write_card
from models.networks import LSTMSeqClassifier, TCNSeqClassifier, build_network
from models.preprocess import PreprocessSpec
from models.registry import load
from models.sequence import SequenceState, sequence_init, sequence_step, stack_context
from models.training import FitConfig, predict_proba
from pipeline.baseline import BaselineConfig

K = 6
SPEC = PreprocessSpec(("EDA_Mean", "EDA_SD", "BVP_HR_Mean", "TEMP_Mean"), (BaselineConfig(halflife_windows=20.0),))


def _windows(n: int, seed: int = 0) -> list[dict[str, float]]:
    """SYNTHETIC feature dicts of one subject, in time order (one feature missing now and then)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        row = {
            k: float(v)
            for k, v in zip(SPEC.feature_names, rng.normal([2, 0.3, 70, 33], [0.5, 0.1, 8, 0.3]), strict=True)
        }
        if i % 7 == 3:
            del row["BVP_HR_Mean"]
        out.append(row)
    return out


NETS = [
    pytest.param(lambda: LSTMSeqClassifier(4, 2, hidden=8), id="lstm"),
    pytest.param(lambda: TCNSeqClassifier(4, 2, hidden=8, levels=2), id="tcn"),
]


@pytest.mark.parametrize("make", NETS)
def test_future_windows_do_not_change_earlier_outputs(make):
    torch.manual_seed(0)
    net = make().eval()
    rows = np.random.default_rng(1).normal(size=(30, 4)).astype(np.float32)
    changed = rows.copy()
    changed[20:] += 5.0  # windows 20.. differ
    a = predict_proba(net, stack_context(rows, K))
    b = predict_proba(net, stack_context(changed, K))
    np.testing.assert_array_equal(a[:20], b[:20])
    assert not np.allclose(a[20:], b[20:])


def test_tcn_reads_only_the_given_context_and_its_receptive_field_covers_it():
    torch.manual_seed(0)
    net = TCNSeqClassifier(4, 2, hidden=8, levels=2, kernel_size=3).eval()  # receptive field 13 >= K
    x = torch.randn(1, K, 4)
    base = net(x)
    y = x.clone()
    y[0, 0] += 3.0  # the oldest window still moves the output
    assert not torch.allclose(base, net(y))


def test_streaming_state_equals_offline_stack_and_pickles():
    wins = _windows(40)
    state = sequence_init(SPEC, K)
    assert state.recent.shape == (K - 1, 4) and state.context_windows == K
    xs, vec = [], []
    for i, w in enumerate(wins):
        if i == 17:  # a worker restart: the state goes through a changelog (pickle) and on
            state = pickle.loads(pickle.dumps(state))
        state, x = sequence_step(state, w)
        assert x.shape == (K, 4) and x.dtype == np.float32
        xs.append(x)
        vec.append(x[-1])
    assert isinstance(state, SequenceState)
    np.testing.assert_array_equal(np.stack(xs), stack_context(np.stack(vec), K))
    np.testing.assert_array_equal(xs[0][:-1], 0.0)  # zero rows before the subject has K windows


def _subject_windows(feats: list[dict[str, float]]) -> sd.SubjectWindows:
    n = len(feats)
    t0 = 1_700_000_000 * 10**9
    start = t0 + np.arange(n, dtype=np.int64) * 5 * 10**9
    return sd.SubjectWindows(
        7, start + 60 * 10**9, start, feats, np.ones((n, 4)), np.full((n, 4, 240), np.nan, np.float32)
    )


def test_training_sequences_equal_what_the_loader_prepares_live(tmp_path):
    """subject_arrays(context_windows=K) (training) == LoadedModel.prepare over the same windows (live)."""
    feats = _windows(50, seed=3)
    sw = _subject_windows(feats)
    t_s = np.arange(sw.start_ns[0] // 10**9, sw.end_ns[-1] // 10**9 + 1, dtype=np.int64)
    y = (np.arange(len(t_s)) // 60 % 2).astype(np.int64)
    y[:30] = 0
    arrays = st.subject_arrays(sw, (t_s, y, y), SPEC, context_windows=K)
    torch.manual_seed(0)
    net = LSTMSeqClassifier(4, 2, hidden=8).eval()
    export_torchscript(net, torch.zeros(2, K, 4), tmp_path / "seq.pt")
    card = {
        "name": "seq",
        "version": "0",
        "task": "stress_binary",
        "classes": ["non-stress", "stress"],
        "artifact": "seq.pt",
        "input": {"kind": "window_sequence", "context_windows": K, "shape": ["B", K, 4], **SPEC.to_dict()},
    }
    write_card(card, tmp_path / "seq.json")
    m = load(tmp_path / "seq.json")
    state = m.new_state()
    live = []
    for w in feats:
        state, x = m.prepare(state, w)
        live.append(x)
    live_x = np.stack(live)
    assert arrays.x_seq is not None
    labelled = np.flatnonzero(sd.window_labels(sw.start_ns, sw.end_ns, t_s, y) >= 0)
    np.testing.assert_array_equal(arrays.x_seq, live_x[labelled])
    # TorchScript artifact == eager network, over batches of several sizes
    for b in (1, 5, len(live_x)):
        np.testing.assert_allclose(m.predict_proba(live_x[:b]), predict_proba(net, live_x[:b]), atol=1e-6)
    assert json.loads((tmp_path / "seq.json").read_text())["input"]["kind"] == "window_sequence"
    # calibration seeds the baselines only
    cal = m.calibrate(m.new_state(), feats[:10])
    assert cal.baselines[0].n_seen == 10 and not cal.recent.any()


@pytest.mark.parametrize("kind", ["lstm_seq", "tcn_seq"])
def test_sequence_candidates_train_and_rebuild_from_params(kind):
    """Train through models.stress (modality dropout over the last axis) on SYNTHETIC separable data."""
    rng = np.random.default_rng(0)
    n = 400
    yv = rng.integers(0, 2, n)
    x = rng.normal(size=(n, K, 4)).astype(np.float32)
    x[:, -1, 0] += 2.0 * yv
    arrays = st.Arrays(
        x[:, -1], np.zeros((n, 4, 1), np.float32), np.ones((n, 4)), {"stress_binary": yv}, np.zeros(n, np.int64)
    )
    arrays.x_seq = x
    cand = st.Candidate("c", kind, {"hidden": 8}, FitConfig(epochs=6, lr=1e-2, modality_dropout=0.2), context_windows=K)
    pred, net = st.train_candidate(cand, arrays, "stress_binary", SPEC)
    assert np.mean(np.argmax(pred(arrays), axis=1) == yv) > 0.8
    rebuilt = build_network(kind, net.get_params())
    assert type(rebuilt) is type(net)


def test_sequence_input_shorter_than_k_is_an_error():
    arrays = st.Arrays(
        np.zeros((3, 4), np.float32),
        np.zeros((3, 4, 1), np.float32),
        np.ones((3, 4)),
        {"stress_binary": np.zeros(3, np.int64)},
        np.zeros(3, np.int64),
    )
    cand = st.Candidate("c", "lstm_seq", {"hidden": 4}, FitConfig(epochs=1), context_windows=K)
    with pytest.raises(ValueError, match="x_seq"):
        st.train_candidate(cand, arrays, "stress_binary", SPEC)


def test_drop_groups_on_sequences_zero_a_modality_in_every_window():
    from models.training import _drop_groups

    g = torch.Generator().manual_seed(0)
    xb = torch.ones(64, K, 4)
    out = _drop_groups(xb, [[0, 1], [2, 3]], 0.5, g, last_axis=True)
    dropped = out[:, :, 0] == 0
    assert dropped.any() and (dropped.all(dim=1) | (~dropped).all(dim=1)).all()  # whole sequence or nothing
    assert torch.equal(out[:, :, 0] == 0, out[:, :, 1] == 0)


EXTRA = ["stress_binary_lstm", "stress_binary_tcn", "stress_eda", "stress_bvp", "stress_tempacc"]


@pytest.mark.parametrize("name", EXTRA)
def test_committed_sequence_and_head_cards_load_and_match_eager(name):
    """The committed artifacts: card contract, prepare -> predict, TorchScript == eager, pickled state."""
    from models.export import ARTIFACTS_DIR, read_card
    from pipeline.features import FEATURE_VERSION

    path = ARTIFACTS_DIR / f"{name}.json"
    card = read_card(path)
    assert card["input"]["feature_version"] == FEATURE_VERSION
    assert card["window"]["window_s"] == 60.0 and card["window"]["hop_s"] == 5.0
    assert card["classes"] == ["non-stress", "stress"] and card["synthetic"] is False
    assert (ARTIFACTS_DIR / card["artifact"]).stat().st_size < 200_000
    m = load(path)
    k = m.context_windows
    assert (card["input"]["kind"] == "window_sequence") == (k > 0)
    if k:
        assert k == card["input"]["context_windows"] and card["modalities"] == ["eda", "bvp", "temp", "acc"]
    else:
        prefixes = {n.split("_")[0].lower() for n in card["input"]["feature_names"]}
        assert prefixes == set(card["modalities"])
    rng = np.random.default_rng(4)
    names = card["input"]["feature_names"]
    state = m.new_state()
    xs = []
    for i in range(k + 8):
        state, x = m.prepare(state, {n: float(v) for n, v in zip(names, rng.normal(size=len(names)), strict=True)})
        xs.append(x)
        if i == 3:
            state = pickle.loads(pickle.dumps(state))
    batch = np.stack(xs)
    assert batch.shape[1:] == ((k, len(names)) if k else (len(names),))
    eager = build_network(card["architecture"]["kind"], card["architecture"]["params"]).eval()
    traced = torch.jit.load(str(ARTIFACTS_DIR / card["artifact"])).state_dict()
    eager.load_state_dict({kk.removeprefix("net."): v for kk, v in traced.items()})
    np.testing.assert_allclose(m.predict_proba(batch), predict_proba(eager, batch), rtol=1e-5, atol=1e-6)
