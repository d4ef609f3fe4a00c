"""The doctor's judgements: facts seen (on the PBX, the host, the database) → ``Finding``.

Pure: no I/O, time is an argument. Each function names its check as ``--skip`` takes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from dialer.doctor.findings import Finding, fail, ok, skipped, warn

MANAGER_FIX = (
    "in manager.conf give the dialer's user read = system,call,user and "
    "write = originate,call,reporting, then 'manager reload'"
)
NEEDED_ACTIONS: Mapping[str, str] = {
    "Originate": "originate (write = originate)",
    "CoreShowChannels": "list channels after a reconnect (write = reporting)",
    "DBGet": "read outcomes kept in AstDB (write = reporting)",
    "DeviceStateList": "read the agents' device states (write = call or reporting)",
    "Redirect": "voice accept (write = call)",
}
# One action that needs exactly this class (and "all"), present in every Asterisk with AMI.
TOO_MUCH: Mapping[str, str] = {
    "system": "ModuleCheck",
    "command": "Command",
    "config": "UpdateConfig",
    "agi": "AGI",
}
CHANNELVARS = (
    "DIALER_ATTEMPT",
    "DIALER_STAGE",
    "DIALER_DIALSTATUS",
    "DIALER_CAUSE",
    "DIALER_ANSWERED_MS",
    "DIALER_RECORDING",
    "DIALER_SIP_CODE",
)
KAZAKHSTAN_OFFSET = timedelta(hours=5)


def privileges(allowed: Iterable[str]) -> Finding:
    """``allowed``: the actions ``ListCommands`` lists for the user (those it may send)."""
    actions = set(allowed)
    missing = [f"{name} ({why})" for name, why in NEEDED_ACTIONS.items() if name not in actions]
    if missing:
        return fail("ami-privileges", "the user may not send " + "; ".join(missing), MANAGER_FIX)
    extra = [cls for cls, action in TOO_MUCH.items() if action in actions]
    if extra:
        return warn(
            "ami-privileges",
            f"the user may do more than the dialer needs: write {', '.join(extra)} "
            "(each can run shell commands or rewrite the PBX's configuration)",
            "remove them: write = originate,call,reporting in manager.conf, then 'manager reload'",
        )
    return ok(
        "ami-privileges",
        "may originate, list channels, read AstDB and device states; "
        "no system, command, config or agi",
    )


def events(seen: Sequence[Mapping[str, str]], wait_s: float, *, probed: bool) -> Finding:
    """``seen``: the events that arrived within ``wait_s`` of login; ``probed``: a probe
    Originate was sent, so call-class events were due."""
    if not seen:
        return fail("ami-events", f"no event arrived within {wait_s:g} s of login", MANAGER_FIX)
    classes = {c.strip() for e in seen for c in e.get("Privilege", "").split(",")}
    names = sorted({e.get("Event", "?") for e in seen})
    if probed and "call" not in classes:
        return fail(
            "ami-events",
            "no call event (channels, OriginateResponse) arrived: the user cannot read call",
            MANAGER_FIX,
        )
    if "system" not in classes:
        return warn(
            "ami-events",
            "no system event (FullyBooted) arrived: the dialer will not hear a restart",
            MANAGER_FIX,
        )
    return ok("ami-events", f"{len(seen)} event(s) within {wait_s:g} s: {', '.join(names[:6])}")


def channelvars(channel_events: Sequence[Sequence[tuple[str, str]]]) -> Finding:
    """``channel_events``: the probe channel's events, each as its header pairs."""
    if not channel_events:
        return skipped("channelvars", "not checkable: no channel event of the probe arrived")
    shown = {
        value.partition("=")[0]
        for headers in channel_events
        for key, value in headers
        if key == "ChanVariable"
    }
    missing = [name for name in CHANNELVARS if name not in shown]
    if missing:
        return fail(
            "channelvars",
            "channel events lack the variables " + ", ".join(missing),
            "in manager.conf [general]: channelvars = "
            + ",".join(CHANNELVARS)
            + ", then 'manager reload'",
        )
    return ok("channelvars", "channel events carry " + ", ".join(CHANNELVARS))


def dialplan_context(context: str, applications: Sequence[str] | None) -> Finding:
    """``applications``: the context's priorities' applications; None: no such context."""
    fix = (
        f"include the dialer's dialplan (context [{context}], 'callback-dialer "
        "asterisk-config' writes it) in extensions.conf, then 'dialplan reload'"
    )
    if applications is None:
        return fail("dialplan-context", f"no context {context!r} on the server", fix)
    if "Read" not in applications or "Dial" not in applications:
        return warn(
            "dialplan-context",
            f"context {context!r} has no Read() and Dial(): not the dialer's dialplan",
            fix,
        )
    return ok("dialplan-context", f"context {context!r}: {len(applications)} priorities")


def prompts(sounds: str, missing: Sequence[str] | None) -> Finding:
    """``missing``: the prompts not found under ``sounds``; None: that directory is not on
    this host (Asterisk refuses STAT over AMI, so it cannot be asked)."""
    if missing is None:
        return warn(
            "prompts-ru",
            f"cannot tell: {sounds} is not on this host and Asterisk does not let AMI test "
            "files (STAT is a dangerous function)",
            f"on the PBX: ls {sounds}/ru/digits (or give --asterisk-root for a chroot)",
        )
    if missing:
        return fail(
            "prompts-ru",
            f"missing in {sounds}: " + ", ".join(missing),
            "install the Russian sound set (Debian: asterisk-core-sounds-ru-gsm) and make "
            f"{sounds}/ru point at it",
        )
    return ok("prompts-ru", f"digits 0-9 and beep in {sounds}/ru")


def devices(states: Mapping[str, str]) -> Finding:
    """``states``: device → ``DEVICE_STATE()`` as Asterisk reports it."""
    if not states:
        return warn("agent-devices", "no agents in [campaign] agents", "list the agents' ids")
    unknown = [d for d, s in states.items() if s in {"INVALID", "UNKNOWN", ""}]
    if unknown:
        return fail(
            "agent-devices",
            "unknown to Asterisk: " + ", ".join(unknown),
            "define these endpoints (pjsip.conf) or correct agent_channel_template "
            "or [campaign] agents",
        )
    offline = [d for d, s in states.items() if s == "UNAVAILABLE"]
    if offline:
        return warn(
            "agent-devices",
            "known but not reachable now (not registered?): " + ", ".join(offline),
            "register the agents' phones",
        )
    return ok("agent-devices", ", ".join(f"{d} {s}" for d, s in states.items()))


def migration(current: str | None, head: str) -> Finding:
    fix = "callback-dialer --db URL db upgrade"
    if current is None:
        return fail("database", f"reachable but empty (no schema); newest is {head}", fix)
    if current != head:
        return fail("database", f"schema at {current}; newest is {head}", fix)
    return ok("database", f"reachable, schema at {head} (newest)")


def numbering_age(imported_at: datetime | None, rows: int, now: datetime, max_days: int) -> Finding:
    fix = "import the regulator's current extract: callback-dialer numbering import FILE.csv"
    if imported_at is None:
        return warn("numbering-age", "no numbering table imported", fix)
    age = now - imported_at
    if age > timedelta(days=max_days):
        return warn(
            "numbering-age",
            f"{rows} ranges imported {age.days} days ago (more than {max_days})",
            fix,
        )
    return ok("numbering-age", f"{rows} ranges imported {age.days} day(s) ago")


def clock(ntp_synchronized: str | None) -> Finding:
    """``ntp_synchronized``: ``timedatectl show -p NTPSynchronized --value``; None: no
    timedatectl (or it failed)."""
    fix = "turn NTP on: timedatectl set-ntp true (systemd-timesyncd or chrony)"
    if ntp_synchronized is None:
        return warn("clock-sync", "cannot tell (no timedatectl here)", "make sure NTP runs")
    if ntp_synchronized.strip() != "yes":
        return fail(
            "clock-sync",
            "the host clock is not synchronised (NTPSynchronized="
            f"{ntp_synchronized.strip() or '?'}): calling windows depend on it",
            fix,
        )
    return ok("clock-sync", "synchronised (NTP)")


def tzdata(almaty_offset: timedelta | None, problem: str = "") -> Finding:
    """``almaty_offset``: Asia/Almaty's UTC offset on 2024-06-01 as zoneinfo gives it."""
    fix = (
        "update the time-zone data (Debian: apt-get install tzdata; or pip install -U "
        "tzdata): Kazakhstan is UTC+5 since 2024-03-01"
    )
    if almaty_offset is None:
        return fail("tzdata", f"no Asia/Almaty zone: {problem}", fix)
    if almaty_offset != KAZAKHSTAN_OFFSET:
        hours = almaty_offset.total_seconds() / 3600
        return fail(
            "tzdata", f"Asia/Almaty is UTC{hours:+g} on 2024-06-01: the data predates 2024", fix
        )
    return ok("tzdata", "Asia/Almaty is UTC+5 on 2024-06-01")
