"""Late and early fusion with missing modalities."""

from __future__ import annotations

import numpy as np
import pytest

from models.exceptions import ModelError
from models.fusion import early_fusion_vector, late_fusion, modality_groups
from pipeline.exceptions import SignalError


def test_late_fusion_weights_by_quality_and_skips_missing():
    pa = np.array([[0.9, 0.1], [0.9, 0.1]])
    pb = np.array([[0.1, 0.9], [0.1, 0.9]])
    fused, conf = late_fusion(
        {"eda": pa, "bvp": pb, "temp": None}, {"eda": np.array([1.0, 0.0]), "bvp": 0.5, "temp": 1.0}
    )
    # row 0: (1*0.9 + 0.5*0.1) / 1.5 ; row 1: eda has quality 0 -> bvp only
    np.testing.assert_allclose(fused[0], [(0.9 + 0.05) / 1.5, (0.1 + 0.45) / 1.5])
    np.testing.assert_allclose(fused[1], [0.1, 0.9])
    np.testing.assert_allclose(conf, [1.5 / 3, 0.5 / 3])


def test_late_fusion_without_usable_modality_is_uniform():
    fused, conf = late_fusion({"eda": np.array([[0.2, 0.8]])}, {"eda": np.array([np.nan])})
    np.testing.assert_allclose(fused, [[0.5, 0.5]])
    assert conf[0] == 0.0
    with pytest.raises(SignalError):
        late_fusion({"eda": None}, {"eda": 1.0})


def test_early_fusion_zeroes_missing_blocks():
    v, mask = early_fusion_vector({"eda": np.array([1.0, 2.0], np.float32), "bvp": None}, {"eda": 2, "bvp": 3})
    np.testing.assert_array_equal(v, [1, 2, 0, 0, 0])
    np.testing.assert_array_equal(mask, [True, False])
    with pytest.raises(ModelError):
        early_fusion_vector({"eda": np.zeros(3, np.float32)}, {"eda": 2})


def test_modality_groups_from_names():
    g = modality_groups(["EDA_Mean@b0", "BVP_HR_Mean@b0", "EDA_Std@b1"])
    assert g == {"eda": [0, 2], "bvp": [1]}
