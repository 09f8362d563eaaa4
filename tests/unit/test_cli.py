"""The CLI: every command's --help works, and a missing service gives a clear message, not a traceback."""

from __future__ import annotations

import socket

import pytest

from agents.cli import COMMANDS, main


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert len(capsys.readouterr().out) > 100


def test_unreachable_redis_gives_a_clear_error(capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = main(["--redis", f"redis://127.0.0.1:{port}/0", "subscribe", "--latest"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "cannot reach Redis" in err and "bash run.sh up" in err
