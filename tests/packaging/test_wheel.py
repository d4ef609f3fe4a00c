"""The wheel as a pip user gets it (issue 20): scripts/wheel-check builds the sdist and the
wheel, installs the wheel into a clean virtual environment outside the repo and runs
phone-info, simulate on the demo orders, init and asterisk-config there. One test: it takes
about a minute (the build and the dependencies' install)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STEPS = (
    "dialer imported from ",
    "phone-info: exit 0",
    "simulate: exit 0",
    "init: exit 0",
    "asterisk-config: exit 0, 8 files written",
    "asterisk-config again: exit 2, refused",
    "passed",
)


@pytest.mark.wheel
def test_the_installed_wheel_runs_phone_info_simulate_and_asterisk_config() -> None:
    done = subprocess.run(
        [str(REPO / "scripts" / "wheel-check")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for step in STEPS:
        assert any(line.startswith(f"wheel-check: {step}") for line in lines), step
    imported = next(x for x in lines if "dialer imported from " in x)
    assert str(REPO) not in imported  # the installed copy, not the repo's
