"""A real Asterisk for the integration tests: one instance per session on a free AMI port."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))  # the AMI fault proxy

from asterisk_fixtures import SCRIPT, AsteriskInstance, RawAmi, Reports
from local_services import free_port, unavailable

from dialer.ami_ import AmiSettings, AmiTelephony


def _install() -> None:
    if not os.access(SCRIPT, os.X_OK):
        unavailable("Asterisk", f"{SCRIPT} is missing or not executable")
    done = subprocess.run(
        [str(SCRIPT), "install"], capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        unavailable(
            "Asterisk", f"scripts/asterisk-local install failed:\n{done.stdout}\n{done.stderr}"
        )


@pytest.fixture(scope="session")
def asterisk() -> Iterator[AsteriskInstance]:
    """Start a private instance for the session and stop it at the end."""
    if shutil.which("bash") is None:
        unavailable("Asterisk", "bash is not available")
    _install()
    name = f"pytest-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    port = free_port()
    secret = uuid.uuid4().hex
    started = subprocess.run(
        [str(SCRIPT), "start", name, "--ami-port", str(port), "--ami-secret", secret],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if started.returncode != 0:
        unavailable("Asterisk", f"instance did not start:\n{started.stdout}\n{started.stderr}")
    directory = Path(
        subprocess.run(
            [str(SCRIPT), "dir", name], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    inner = (directory / "etc" / "asterisk.conf").read_text(encoding="utf-8")
    inner_directory = next(
        line.split("=>", 1)[1].strip().removesuffix("/etc")
        for line in inner.splitlines()
        if line.startswith("astetcdir")
    )
    instance = AsteriskInstance(name, port, "dialer", secret, directory, inner_directory)
    try:
        yield instance
    finally:
        stopped = subprocess.run(
            [str(SCRIPT), "stop", name], capture_output=True, text=True, timeout=60, check=False
        )
        if stopped.returncode != 0:
            warnings.warn(f"Asterisk instance {name} not stopped: {stopped.stderr}", stacklevel=1)
        if not os.environ.get("CALLBACK_DIALER_KEEP_ASTERISK"):
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def ami_lines(asterisk: AsteriskInstance) -> AsyncIterator[RawAmi]:
    """A bare AMI connection (no panoramisk) logged in as the dialer's user."""
    client = await RawAmi.login(asterisk)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def ami_settings(asterisk: AsteriskInstance) -> AmiSettings:
    """Settings for the test instance: Local channels into the callee doubles, short timers."""
    return AmiSettings(
        port=asterisk.ami_port,
        username=asterisk.username,
        secret=asterisk.secret,
        ping_interval_s=1.0,
        ping_timeout_s=1.0,
        reconnect_min_s=0.2,
        reconnect_max_s=1.0,
        ready_timeout_s=10.0,
        agent_ring_timeout_s=3,
        agent_channel="Local/{agent}@dialer-test-agents",
        customer_channel="Local/{number}@dialer-test-customers/n",
    )


@pytest.fixture
async def reports() -> Reports:
    return Reports()


@pytest.fixture
async def telephony(ami_settings: AmiSettings, reports: Reports) -> AsyncIterator[AmiTelephony]:
    """The real adapter, connected and resynced."""
    adapter = AmiTelephony(ami_settings, reports.sink, clock=lambda: datetime.now(UTC))
    await adapter.start()
    await adapter.wait_ready()
    try:
        yield adapter
    finally:
        await adapter.close()
