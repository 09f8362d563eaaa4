"""Where every benchmark reports: ``bench/results/<name>.json`` and a row of BENCHMARKS.md."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
HEADER = "| date | benchmark | figures | command |\n|---|---|---|---|\n"


def write_results(data: Any, path: Path, indent: int = 1) -> Path:
    """Write ``data`` as JSON to ``path`` (normally ``RESULTS_DIR / "<name>.json"``); returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent) + "\n")
    return path


def append_row(benchmark: str, figures: str, command: str, date: str | None = None) -> None:
    """Append ``| date | benchmark | figures | `command` |`` to BENCHMARKS.md (header if new)."""
    if not BENCHMARKS_MD.exists():
        BENCHMARKS_MD.write_text(HEADER)
    with BENCHMARKS_MD.open("a") as fh:
        fh.write(f"| {date or dt.date.today().isoformat()} | {benchmark} | {figures} | `{command.strip()}` |\n")
