"""Static checks of the container image, the compose file and the Helm chart (no Docker engine, no cluster).

The tools come from deploy/tools.sh (bootstrap.sh runs it): helm, kubeconform, hadolint, composecheck in
``$EMOPIPE_CACHE/bin`` (default ~/.cache/emopipe/bin), kubernetes-validate in its tools venv, Strimzi's Java
API jars. A missing tool fails the test with the command that installs it, never skips.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from deploy.settings import REPO_ROOT, Settings

_XDG = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
CACHE = Path(os.environ.get("EMOPIPE_CACHE", _XDG / "emopipe"))
BIN = CACHE / "bin"
TOOLS_PY = CACHE / "tools-venv" / "bin" / "python"
STRIMZI_JARS = CACHE / "strimzi-api"
DEPLOY = REPO_ROOT / "deploy"
CHART = DEPLOY / "helm" / "emopipe"


def tool(name: str) -> str:
    """Path of a deploy tool; fails with the install command when it is missing."""
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(f"{name} not found in {BIN} or PATH: run `bash deploy/tools.sh` (bootstrap.sh does)", pytrace=False)


@pytest.fixture(scope="session")
def settings_fields() -> set[str]:
    """EMOPIPE_* names of every deploy/settings.py field."""
    return {f"EMOPIPE_{name.upper()}" for name in Settings.model_fields}
