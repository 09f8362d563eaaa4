"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.settings import Settings


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Directory of the real data sets (``../shared/data`` next to the repo, or ``EMOPIPE_DATA_DIR``).

    Fails, never skips, when the data is absent: accuracy and signal tests must run on real data.
    """
    data_dir = Settings().data_dir
    if not (data_dir / "stress-predict").is_dir():
        pytest.fail(
            f"real data not found at {data_dir} (expected stress-predict/, ravdess/, systole-ecg/, openface/). "
            "Place the shared data next to the repository or set EMOPIPE_DATA_DIR.",
            pytrace=False,
        )
    return data_dir
