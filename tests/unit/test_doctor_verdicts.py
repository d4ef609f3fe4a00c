"""The doctor's judgements, from facts to a line: each check's pass, warn and fail.

The real-Asterisk tests (tests/integration/test_doctor.py) make each check fail in a broken
set-up; these pin the judgement itself, including the branches a set-up cannot easily reach.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from dialer.doctor import verdicts
from dialer.doctor.findings import Finding, Status, as_json, exit_code, line

NEEDED = ("Originate", "CoreShowChannels", "DBGet", "DeviceStateList", "Redirect", "Getvar")
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_the_judgements_import_no_io_library() -> None:
    code = (
        "import sys, dialer.doctor.verdicts, dialer.doctor.findings\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('asyncio', 'socket', 'sqlalchemy', 'subprocess', 'panoramisk', 'twisted'))\n"
        "print(bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_exit_code_is_1_only_when_a_check_failed() -> None:
    good = Finding("a", Status.OK, "fine")
    warned = Finding("b", Status.WARN, "hm", "do x")
    skipped = Finding("c", Status.SKIP, "skipped")
    assert exit_code([good, warned, skipped]) == 0
    assert exit_code([good, Finding("d", Status.FAIL, "broken", "fix it")]) == 1


def test_a_line_says_the_status_the_check_what_was_found_and_the_fix() -> None:
    finding = Finding("ami-login", Status.FAIL, "user 'dialer' refused", "give the secret")
    assert line(finding) == "FAIL  ami-login: user 'dialer' refused — fix: give the secret"
    assert line(Finding("tzdata", Status.OK, "UTC+5")) == "OK    tzdata: UTC+5"
    assert as_json(finding) == {
        "check": "ami-login",
        "status": "FAIL",
        "found": "user 'dialer' refused",
        "fix": "give the secret",
    }


def test_least_privilege_passes_and_each_extra_class_warns() -> None:
    assert verdicts.privileges(NEEDED).status is Status.OK
    for cls, action in (
        ("system", "ModuleCheck"),
        ("command", "Command"),
        ("config", "UpdateConfig"),
        ("agi", "AGI"),
    ):
        found = verdicts.privileges((*NEEDED, action))
        assert found.status is Status.WARN
        assert f"write {cls}" in found.found


@pytest.mark.parametrize("lacking", ["Originate", "CoreShowChannels", "DBGet", "DeviceStateList"])
def test_a_missing_action_the_dialer_sends_fails(lacking: str) -> None:
    found = verdicts.privileges(a for a in NEEDED if a != lacking)
    assert found.status is Status.FAIL
    assert lacking in found.found
    assert "manager reload" in found.fix


def test_events_need_call_events_after_a_probe_and_warn_without_system() -> None:
    call = {"Event": "Newchannel", "Privilege": "call,all"}
    booted = {"Event": "FullyBooted", "Privilege": "system,all"}
    assert verdicts.events([booted, call], 5, probed=True).status is Status.OK
    assert verdicts.events([booted], 5, probed=True).status is Status.FAIL
    assert verdicts.events([booted], 5, probed=False).status is Status.OK
    assert verdicts.events([call], 5, probed=True).status is Status.WARN
    assert verdicts.events([], 5, probed=False).status is Status.FAIL


def test_channelvars_lists_what_the_events_lack() -> None:
    every = tuple(("ChanVariable", f"{name}=") for name in verdicts.CHANNELVARS)
    assert verdicts.channelvars([every]).status is Status.OK
    partial = (("Channel", "Local/x"), ("ChanVariable", "DIALER_ATTEMPT=НФ-00123"))
    found = verdicts.channelvars([partial])
    assert found.status is Status.FAIL
    assert "DIALER_STAGE" in found.found
    assert "DIALER_ATTEMPT" not in found.found
    assert verdicts.channelvars([]).status is Status.SKIP


def test_a_context_without_read_and_dial_is_not_the_dialers() -> None:
    assert verdicts.dialplan_context("dialer-agent", ("Set", "Read", "Dial")).status is Status.OK
    assert verdicts.dialplan_context("dialer-agent", ("NoOp",)).status is Status.WARN
    assert verdicts.dialplan_context("dialer-agent", None).status is Status.FAIL


def test_prompts_pass_fail_or_cannot_be_told() -> None:
    assert verdicts.prompts("/usr/share/asterisk/sounds", []).status is Status.OK
    missing = verdicts.prompts("/usr/share/asterisk/sounds", ["digits/7", "beep"])
    assert missing.status is Status.FAIL
    assert "asterisk-core-sounds-ru-gsm" in missing.fix
    assert verdicts.prompts("/x/sounds", None).status is Status.WARN


def test_devices_unknown_fail_unreachable_warn() -> None:
    assert verdicts.devices({"PJSIP/101": "NOT_INUSE"}).status is Status.OK
    assert verdicts.devices({"PJSIP/101": "UNAVAILABLE"}).status is Status.WARN
    found = verdicts.devices({"PJSIP/101": "NOT_INUSE", "PJSIP/НФ": "INVALID"})
    assert found.status is Status.FAIL
    assert found.found == "unknown to Asterisk: PJSIP/НФ"
    assert verdicts.devices({}).status is Status.WARN


def test_the_schema_must_be_at_the_newest_revision() -> None:
    assert verdicts.migration("0009", "0009").status is Status.OK
    assert verdicts.migration("0008", "0009").status is Status.FAIL
    assert verdicts.migration(None, "0009").status is Status.FAIL


def test_the_numbering_table_warns_when_older_than_the_limit() -> None:
    assert verdicts.numbering_age(NOW - timedelta(days=10), 5, NOW, 45).status is Status.OK
    old = verdicts.numbering_age(NOW - timedelta(days=46), 5, NOW, 45)
    assert old.status is Status.WARN
    assert "46 days ago" in old.found
    assert verdicts.numbering_age(None, 0, NOW, 45).status is Status.WARN


def test_the_clock_fails_unsynchronised_and_warns_when_it_cannot_tell() -> None:
    assert verdicts.clock("yes\n").status is Status.OK
    assert verdicts.clock("no\n").status is Status.FAIL
    assert verdicts.clock(None).status is Status.WARN


def test_kazakhstan_must_be_utc_plus_5_in_june_2024() -> None:
    assert verdicts.tzdata(timedelta(hours=5)).status is Status.OK
    old = verdicts.tzdata(timedelta(hours=6))
    assert old.status is Status.FAIL
    assert "UTC+6" in old.found
    assert verdicts.tzdata(None, "no time zone found").status is Status.FAIL
