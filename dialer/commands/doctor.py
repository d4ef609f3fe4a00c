"""`callback-dialer doctor --config FILE`: is everything the dialer depends on set up?

One line per check (OK / WARN / FAIL / SKIP, what was found, the fix); ``--json`` prints
the same as a list for monitoring. Exit 0 when nothing failed (warnings allowed), 1 when a
check failed, 2 for bad arguments or a configuration that does not load. The checks live
in ``dialer.doctor``; this module only wires them to the loaded configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dialer.cli import UsageError
from dialer.config.campaign import ConfigError
from dialer.config.service import DemoCrmConfig, ServiceConfig, load_service_config
from dialer.doctor import host, verdicts
from dialer.doctor.ami_probe import AmiFacts, examine
from dialer.doctor.findings import Finding, as_json, exit_code, fail, line, ok, skipped, warn

AMI_CHECKS = (
    "ami-reachable",
    "ami-login",
    "ami-privileges",
    "ami-events",
    "dialplan-context",
    "prompts-ru",
    "channelvars",
    "agent-devices",
)
CHECKS = (
    *AMI_CHECKS,
    "recordings-dir",
    "database",
    "crm",
    "numbering-age",
    "clock-sync",
    "tzdata",
)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "doctor",
        help="check the PBX, database, CRM and host the dialer depends on",
        description="Run every check against the configuration's PBX (AMI), database and CRM "
        "and this host; one line each with the fix. Exit 0: all pass (warnings allowed); 1: "
        "a check failed; 2: bad arguments or configuration. Checks: " + ", ".join(CHECKS),
    )
    parser.add_argument("--config", required=True, type=Path, metavar="FILE.toml")
    parser.add_argument("--json", action="store_true", help="print a JSON list for monitoring")
    parser.add_argument(
        "--skip", action="append", default=[], metavar="NAME", help="leave a check out (repeatable)"
    )
    parser.add_argument(
        "--asterisk-root",
        type=Path,
        default=Path("/"),
        metavar="DIR",
        help="where this host sees the PBX's file system (a chroot or container root; "
        "default /): for the prompts and the recordings directory",
    )
    parser.add_argument(
        "--events-wait",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long to wait for AMI events after login (default 5)",
    )
    parser.add_argument(
        "--numbering-max-age",
        type=int,
        default=45,
        metavar="DAYS",
        help="warn when the numbering table is older (default 45)",
    )
    parser.set_defaults(func=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    unknown = [name for name in args.skip if name not in CHECKS]
    if unknown:
        raise UsageError(f"--skip {unknown[0]}: no such check (checks: {', '.join(CHECKS)})")
    if args.events_wait <= 0 or args.numbering_max_age <= 0:
        raise UsageError("--events-wait and --numbering-max-age must be positive")
    try:
        config = load_service_config(args.config, os.environ, _db_override(args))
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    findings = Doctor(config, args).findings()
    if args.json:
        print(json.dumps([as_json(f) for f in findings], ensure_ascii=False, indent=1))
    else:
        for finding in findings:
            print(line(finding))
    return exit_code(findings)


def _db_override(args: argparse.Namespace) -> dict[str, Any]:
    """``--db`` given on the command line wins over ``[service] db_url`` (as in ``run``)."""
    from dialer.cli import DEFAULT_DB_URL  # noqa: PLC0415

    default = os.environ.get("CALLBACK_DIALER_DB", DEFAULT_DB_URL)
    return {"db_url": args.db} if getattr(args, "db", default) != default else {}


class Doctor:
    """Runs the checks not skipped, in ``CHECKS`` order."""

    def __init__(self, config: ServiceConfig, args: argparse.Namespace) -> None:
        self._config = config
        self._args = args
        self._skip = set(args.skip)
        self._facts: AmiFacts | None = None

    def findings(self) -> list[Finding]:
        if not set(AMI_CHECKS) <= self._skip:
            self._facts = asyncio.run(self._examine())
        ami = self._ami_findings()
        return [self._run(name, ami.get(name)) for name in CHECKS]

    def _run(self, name: str, ami: Callable[[], Finding] | None) -> Finding:
        if name in self._skip:
            return skipped(name, "skipped (--skip)")
        if ami is not None:
            return ami()
        now = datetime.now(UTC)
        local: dict[str, Callable[[], Finding]] = {
            "recordings-dir": self._recordings,
            "database": lambda: host.database(self._config.service.db_url),
            "crm": self._crm,
            "numbering-age": lambda: host.numbering(
                self._config.service.db_url, now, self._args.numbering_max_age
            ),
            "clock-sync": host.clock,
            "tzdata": host.tzdata,
        }
        return local[name]()

    async def _examine(self) -> AmiFacts:
        campaign = self._config.campaign
        devices = [campaign.agent_channel_template.replace("{agent}", a) for a in self._agents()]
        return await examine(
            self._config.ami, self._config.ami.context, devices, self._args.events_wait
        )

    def _agents(self) -> Sequence[str]:
        served = self._config.server.agents
        return served if served is not None else self._config.campaign.agents

    def _ami_findings(self) -> dict[str, Callable[[], Finding]]:
        facts = self._facts
        if facts is None:
            return {}
        where = f"{self._config.ami.host}:{self._config.ami.port}"
        if facts.unreachable:
            first = fail(
                "ami-reachable",
                facts.unreachable,
                "start Asterisk with manager.conf enabled, or correct [ami] host/port",
            )
            return self._after(first, "AMI not reachable")
        reached = ok("ami-reachable", f"{where}: {facts.banner}")
        if facts.login_error is not None:
            refused = fail(
                "ami-login",
                f"user {self._config.ami.username!r} refused: {facts.login_error}",
                "give the dialer the secret of the manager.conf user ([ami] secret_env / "
                "secret_file), and permit this host's address in that user's section",
            )
            return {"ami-reachable": lambda: reached, **self._after(refused, "AMI login refused")}
        return {
            "ami-reachable": lambda: reached,
            "ami-login": lambda: ok("ami-login", f"user {self._config.ami.username!r} accepted"),
            "ami-privileges": lambda: verdicts.privileges(facts.allowed),
            "ami-events": lambda: verdicts.events(
                facts.events, self._args.events_wait, probed=facts.probed
            ),
            "dialplan-context": lambda: self._context(facts),
            "prompts-ru": lambda: self._prompts(facts),
            "channelvars": lambda: verdicts.channelvars(facts.probe_events),
            "agent-devices": lambda: self._devices(facts),
        }

    def _after(self, first: Finding, why: str) -> dict[str, Callable[[], Finding]]:
        """``first`` for its own check; every later AMI check is not checkable."""
        later = AMI_CHECKS[AMI_CHECKS.index(first.check) + 1 :]
        found: dict[str, Callable[[], Finding]] = {first.check: lambda: first}
        for name in later:
            found[name] = lambda name=name: skipped(name, f"not checked: {why}")  # type: ignore[misc]
        return found

    def _context(self, facts: AmiFacts) -> Finding:
        if "ShowDialPlan" not in facts.allowed:
            return warn(
                "dialplan-context",
                "cannot tell: the user may not send ShowDialPlan",
                "write = reporting for the dialer's user",
            )
        return verdicts.dialplan_context(self._config.ami.context, facts.context_apps)

    def _prompts(self, facts: AmiFacts) -> Finding:
        if not facts.datadir:
            return warn(
                "prompts-ru",
                "cannot tell: Asterisk did not say its data directory",
                "write = reporting for the dialer's user (Getvar)",
            )
        sounds = f"{facts.datadir.rstrip('/')}/sounds"
        local = host.on_host(self._args.asterisk_root, sounds)
        return verdicts.prompts(sounds, host.missing_prompts(local))

    def _devices(self, facts: AmiFacts) -> Finding:
        if "Getvar" not in facts.allowed:
            return warn(
                "agent-devices",
                "cannot tell: the user may not send Getvar",
                "write = call or reporting for the dialer's user",
            )
        return verdicts.devices(facts.device_states)

    def _recordings(self) -> Finding:
        telephony = self._config.telephony
        if telephony is not None:
            return host.recordings(telephony.recordings_dir, "[crm.telephony] recordings_dir")
        spool = self._facts.spooldir if self._facts is not None else ""
        if not spool:
            return warn(
                "recordings-dir",
                "cannot tell: no [crm.telephony] recordings_dir and "
                "Asterisk did not say its spool directory",
                "",
            )
        inner = f"{spool.rstrip('/')}/monitor/dialer"
        local = host.on_host(self._args.asterisk_root, inner)
        if not host.on_host(self._args.asterisk_root, spool).is_dir():
            return warn(
                "recordings-dir",
                f"cannot tell: Asterisk's {inner} is not on this host",
                "check it on the PBX (or give --asterisk-root)",
            )
        while not local.exists():  # MixMonitor creates the missing directories itself
            local = local.parent
        return host.recordings(local, "Asterisk's MixMonitor")

    def _crm(self) -> Finding:
        crm = self._config.crm
        if isinstance(crm, DemoCrmConfig):
            if crm.orders.is_file():
                return ok("crm", f"demo CRM: {crm.orders}")
            return fail("crm", f"demo CRM: no orders file {crm.orders}", "correct [crm] orders")
        source = self._config.source
        if source is None:  # pragma: no cover - a loaded file always has its path
            return warn("crm", "cannot tell: no configuration file")
        return host.crm(source)
