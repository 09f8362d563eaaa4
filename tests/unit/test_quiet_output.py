"""Quiet by default: no torch.jit FutureWarning on model load, third-party INFO logs only with --verbose."""

from __future__ import annotations

import logging
import subprocess
import sys
import warnings

import pytest

from agents.cli import NOISY_LOGGERS, build_parser, configure_logging


def test_model_load_emits_no_warning():
    from models.registry import load_default

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (FutureWarning of torch.jit.load included) fails
        load_default("stress_binary")


@pytest.fixture
def restore_levels():
    names = (*NOISY_LOGGERS, "faust.worker")
    before = {n: logging.getLogger(n).level for n in names}
    yield
    for n, lvl in before.items():
        logging.getLogger(n).setLevel(lvl)


def test_third_party_info_off_unless_verbose(restore_levels):
    configure_logging("INFO")
    for name in NOISY_LOGGERS:
        assert not logging.getLogger(f"{name}.conn").isEnabledFor(logging.INFO), name
        assert logging.getLogger(name).isEnabledFor(logging.WARNING)
    assert logging.getLogger("faust.worker").isEnabledFor(logging.INFO)  # the worker's "Ready" line stays
    assert logging.getLogger("emopipe.anything").isEnabledFor(logging.INFO)
    configure_logging("INFO", verbose=True)
    for name in NOISY_LOGGERS:
        assert logging.getLogger(f"{name}.conn").isEnabledFor(logging.INFO), name
    configure_logging("DEBUG", verbose=True)
    assert logging.getLogger("kafka.conn").isEnabledFor(logging.DEBUG)


def test_verbose_flag_and_data_dir_rule_in_help():
    args = build_parser().parse_args(["--verbose", "topics"])
    assert args.verbose
    out = subprocess.run([sys.executable, "-m", "agents.cli", "--help"], capture_output=True, text=True, check=True)
    text = " ".join(out.stdout.split())
    assert "--verbose" in text and "EMOPIPE_DATA_DIR, the folder that holds stress-" in text
