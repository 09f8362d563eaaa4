"""EMFACS prototype rules."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.emfacs import AU_ORDER, EMFACS_CLASSES, EMFACS_PROTOTYPES, au_vector, emfacs_proba, emfacs_scores
from pipeline.exceptions import ContractError


def _face(aus: dict[str, float]) -> np.ndarray:
    x = np.zeros((1, len(AU_ORDER)))
    for k, v in aus.items():
        x[0, AU_ORDER.index(k)] = v
    return x


@pytest.mark.parametrize("emotion", list(EMFACS_PROTOTYPES))
def test_full_prototype_wins(emotion):
    x = _face(dict.fromkeys(EMFACS_PROTOTYPES[emotion], 5.0))
    s = emfacs_scores(x)[0]
    assert s[EMFACS_CLASSES.index(emotion)] == pytest.approx(1.0, abs=1e-3)
    # fear contains surprise's AUs: a full fear face must still score fear >= surprise
    assert EMFACS_CLASSES[int(np.argmax(s))] == emotion


def test_blank_face_is_neutral_and_rows_sum_to_one():
    p = emfacs_proba(np.zeros((3, len(AU_ORDER))))
    assert (p.argmax(1) == 0).all()
    np.testing.assert_allclose(p.sum(1), 1.0)


def test_partial_smile_is_scored_by_completeness():
    s = emfacs_scores(_face({"AU12": 5.0}))[0]
    assert s[EMFACS_CLASSES.index("happy")] == pytest.approx(0.5, abs=1e-3)
    assert s[0] == pytest.approx(0.5, abs=1e-3)


def test_au_vector_from_openface_keys_and_shape_check():
    v = au_vector({"AU06_r": 2.0, "AU12": 3.0, "AU45_r": float("nan")})
    assert v[AU_ORDER.index("AU06")] == 2.0 and v[AU_ORDER.index("AU12")] == 3.0 and v[AU_ORDER.index("AU45")] == 0
    with pytest.raises(ContractError):
        emfacs_scores(np.zeros((1, 3)))
