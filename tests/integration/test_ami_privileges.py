"""The dialer's AMI user is least-privilege: it can originate, not run the CLI or edit config."""

from __future__ import annotations

import pytest
from asterisk_fixtures import AsteriskInstance, RawAmi

pytestmark = pytest.mark.asterisk


async def test_the_dialer_user_cannot_run_cli_commands(ami_lines: RawAmi) -> None:
    reply = await ami_lines.action({"Action": "Command", "Command": "core show channels"})
    assert reply["Response"] == "Error"
    assert "Permission denied" in reply["Message"]


async def test_the_dialer_user_cannot_read_or_change_config(ami_lines: RawAmi) -> None:
    reply = await ami_lines.action({"Action": "GetConfig", "Filename": "manager.conf"})
    assert reply["Response"] == "Error"
    assert "Permission denied" in reply["Message"]


async def test_the_dialer_user_can_list_channels_for_resync(ami_lines: RawAmi) -> None:
    reply = await ami_lines.action({"Action": "CoreShowChannels"})
    assert reply["Response"] == "Success"


def test_the_instance_loads_the_dialer_context(asterisk: AsteriskInstance) -> None:
    shown = asterisk.cli("dialplan show dialer-agent")
    assert "Read(DIALER_DIGIT" in shown
    assert "Dial(${DIALER_CUSTOMER_DIAL}" in shown
