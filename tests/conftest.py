"""Session fixtures shared by every test folder: a real PostgreSQL cluster on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_services import free_port, unavailable

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "postgres-local"


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private cluster (scripts/postgres-local) started for the session, then removed."""
    if shutil.which("bash") is None or not os.access(SCRIPT, os.X_OK):
        unavailable("PostgreSQL", f"{SCRIPT} is missing or not executable")
    installed = _run("install")
    if installed.returncode != 0:
        unavailable("PostgreSQL", f"scripts/postgres-local install failed:\n{installed.stderr}")
    name = f"pytest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    started = _run("start", name, "--port", str(free_port()), timeout=120)
    if started.returncode != 0:
        _run("remove", name)
        unavailable("PostgreSQL", f"cluster did not start:\n{started.stdout}\n{started.stderr}")
    try:
        yield _run("url", name).stdout.strip()
    finally:
        _run("remove", name, timeout=60)
