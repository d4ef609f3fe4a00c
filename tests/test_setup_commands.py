"""The README's two set-up commands work as printed, as root (no sudo) and through sudo."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOT_LIB = REPO / "scripts" / "lib" / "root.bash"
FAKE_SUDO = '#!/bin/sh\necho "sudo-called: $*"\n'


def readme_setup_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set up on a fresh Debian machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^    (\S.*)$", section, flags=re.MULTILINE)


@pytest.fixture
def bin_dir() -> Iterator[Path]:
    """A PATH with the tools root.bash uses and no sudo, readable by the `nobody` user."""
    directory = Path(tempfile.mkdtemp(prefix="setup-commands-"))
    directory.chmod(0o755)
    for tool in ("id", "grep", "paste", "basename", "sh"):
        found = shutil.which(tool)
        assert found is not None, tool
        (directory / tool).symlink_to(found)
    shutil.copy(ROOT_LIB, directory / "root.bash")
    (directory / "root.bash").chmod(0o644)
    try:
        yield directory
    finally:
        shutil.rmtree(directory)


def run_as_root_lib(bin_dir: Path, *, unprivileged: bool) -> subprocess.CompletedProcess[str]:
    script = f". {bin_dir}/root.bash; as_root scripts/demo --for 5s; echo went-on-as-$(id -u)"
    env = ["env", "-i", f"PATH={bin_dir}", "CI=true", "CALLBACK_DIALER_AMI_PORT=5099"]
    command = [*env, shutil.which("bash") or "bash", "-c", script]
    if unprivileged and os.geteuid() == 0:
        command = ["runuser", "-u", "nobody", "--", *command]
    elif unprivileged or os.geteuid() != 0:
        pytest.skip("needs root to compare root with an unprivileged user")
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_readme_setup_commands_start_with_no_sudo() -> None:
    assert readme_setup_commands() == ["scripts/demo", "scripts/test"]


@pytest.mark.parametrize("script", ["demo", "test"])
def test_setup_scripts_become_root_before_anything_else(script: str) -> None:
    lines = (REPO / "scripts" / script).read_text(encoding="utf-8").splitlines()
    body = [line for line in lines if line and not line.startswith("#")]
    assert body[:3] == [
        "set -euo pipefail",
        '. "$(dirname "$0")/lib/root.bash"',
        'as_root "$0" "$@"',
    ]


def test_as_root_goes_on_as_root_where_there_is_no_sudo(bin_dir: Path) -> None:
    done = run_as_root_lib(bin_dir, unprivileged=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "went-on-as-0"


def test_as_root_restarts_an_unprivileged_caller_through_sudo(bin_dir: Path) -> None:
    (bin_dir / "sudo").write_text(FAKE_SUDO, encoding="utf-8")
    (bin_dir / "sudo").chmod(0o755)
    done = run_as_root_lib(bin_dir, unprivileged=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "sudo-called: --preserve-env=CALLBACK_DIALER_AMI_PORT,CI -- scripts/demo --for 5s"
    )


def test_as_root_without_sudo_says_what_to_do(bin_dir: Path) -> None:
    done = run_as_root_lib(bin_dir, unprivileged=True)
    assert done.returncode == 1
    assert "went-on" not in done.stdout
    assert "demo: needs root" in done.stderr
    assert "run it as root, or as a user who may use sudo" in done.stderr
