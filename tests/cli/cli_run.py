"""Runs `callback-dialer` in-process for the CLI tests: exit code, stdout and stderr."""

from __future__ import annotations

import pytest

from dialer import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The whole command table, as a user gets it; SystemExit (argparse's exit 2) is a code."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
