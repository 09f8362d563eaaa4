"""Lint is part of the test command: ruff (rules in pyproject.toml) and mypy strict on pipeline/ and models/.

A violation fails the run with the tool's own output. Both run from the repository root with the
interpreter running the tests, so they check this checkout with the configuration it carries.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from deploy.settings import REPO_ROOT


def _run(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except FileNotFoundError as exc:  # pragma: no cover - the interpreter itself is missing
        pytest.fail(f"cannot run {args[0]}: {exc}")


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed in {sys.executable}: pip install -e '.[dev]'")


def test_ruff_check_passes() -> None:
    _require("ruff")
    res = _run("ruff", "check", ".", timeout_s=300)
    assert res.returncode == 0, f"ruff check . found violations:\n{res.stdout}\n{res.stderr}"


def test_mypy_strict_passes_on_pipeline_and_models() -> None:
    _require("mypy")
    res = _run("mypy", "pipeline", "models", timeout_s=600)
    assert res.returncode == 0, f"mypy pipeline models (strict, see pyproject.toml) failed:\n{res.stdout}\n{res.stderr}"
