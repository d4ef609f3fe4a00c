"""A real Asterisk for the integration tests: one instance per session on a free AMI port."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asterisk_factory
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))  # the AMI fault proxy

from asterisk_fixtures import AsteriskInstance, RawAmi, Reports, ami_settings_for

from dialer.ami.telephony import AmiSettings, AmiTelephony


@pytest.fixture(scope="session")
def asterisk() -> Iterator[AsteriskInstance]:
    """Start a private instance for the session and stop it at the end."""
    with asterisk_factory.running("pytest") as instance:
        yield instance


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
    return ami_settings_for(asterisk)


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
