"""`callback-dialer simulate`: the dispatcher on a virtual clock, as JSON Lines."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from campaigns.orders import Order
from campaigns.settings import CampaignSettings
from dialer.app.screener import make_screen
from dialer.cli import UsageError
from dialer.clock_text import parse_utc
from dialer.commands import simulate_plan
from dialer.config.campaign import ConfigError, load_campaign
from dialer.dispatch.dispatcher import Screen
from dialer.sim.crm import SimCrmOptions
from dialer.sim.faults import DAY_S, FaultSpec, FaultSpecError, parse_duration, parse_faults
from dialer.sim.input import SimInputError, read_orders
from dialer.sim.phones import SimCallee
from dialer.sim.simulate import SimConfig, SimService, run_simulation
from dialer.sim.soak import VIOLATED, soak

MAX_DAYS = 366
MAX_AGENTS = 10_000


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="run the dispatcher on a virtual clock against simulated phones",
        description="Runs the live dispatcher and policy on a virtual clock and prints "
        "JSON Lines: dial, result and outcome events, then a summary.",
    )
    p.add_argument("--orders", type=Path, metavar="FILE.jsonl", help="required without --per-day")
    p.add_argument("--start", required=True, metavar="ISO8601", help="virtual start (UTC)")
    p.add_argument("--days", required=True, type=float, metavar="N")
    p.add_argument("--agents", type=int, default=5, metavar="K", help="default %(default)s")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="default %(default)s")
    p.add_argument("--campaign", type=Path, metavar="FILE.toml")
    p.add_argument("--service-config", type=Path, metavar="FILE.toml",
                   help="the service's config file: its pacing (service.cps), line caps "
                   "(service.campaign_lines, service.trunk_lines, ami.lines) and status "
                   "re-check (service.status_*) apply as in the service")  # fmt: skip
    p.add_argument("--status-read-s", type=float, default=0.0, metavar="S",
                   help="seconds a simulated CRM status read takes (default 0)")  # fmt: skip
    p.add_argument("--status-fail-rate", type=float, default=0.0, metavar="P",
                   help="share of simulated status reads that fail (default 0)")  # fmt: skip
    p.add_argument("--faults", metavar="SPEC", default="",
                   help="inject failures drawn from the seed: 'all' or key=value parts, e.g. "
                   "crm-outage=0.01,slow-read=2s,lost-report=0.01,crash=0.001 "
                   "(docs/simulate.md, Faults)")  # fmt: skip
    p.add_argument("--result-delay", type=float, default=0.0, metavar="S",
                   help="agents give an answered call's result a uniform 0..2S seconds after "
                   "it (default 0: at once); past the campaign's wrap_up_max_s the agent is "
                   "paused «нет результата»")  # fmt: skip
    p.add_argument("--soak", metavar="DURATION",
                   help="run seeds --seed, --seed+1, ... until DURATION (30s, 10m, 2h) has "
                   "passed or Ctrl-C, printing only each failing seed's violations")  # fmt: skip
    simulate_plan.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    simulate_plan.check_flags(args)
    config = _config(args)
    if args.plan and args.soak is not None:
        raise UsageError("--soak: not with --plan (the planner runs one seed per count)")
    if args.plan:
        return simulate_plan.run_plan(args, config, _read_orders)
    if args.orders is None:
        raise UsageError("--orders: required (or --plan with --per-day)")
    orders = _read_orders(args.orders)
    screen = make_screen(config.settings, db_url=args.db, snapshot=True)
    with _quiet(config.faults.any):
        return _simulate(args, orders, config, screen)


@contextlib.contextmanager
def _quiet(faults: bool) -> Iterator[None]:
    """Injected faults make the service's warnings (a result kept while the database is
    down, ...) by the thousand; the invariants judge the run, so they are not printed."""
    logger = logging.getLogger("dialer")
    level = logger.level
    if faults:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _simulate(
    args: argparse.Namespace, orders: list[tuple[Order, SimCallee]], config: SimConfig,
    screen: Screen,
) -> int:  # fmt: skip
    if args.soak is not None:
        return soak(orders, config, screen, _duration(args.soak), out=sys.stdout, err=sys.stderr)
    sys.stdout.flush()
    with _few_collections():
        try:
            fd = sys.stdout.fileno()
        except (OSError, ValueError):  # captured output (tests): write to it as it is
            summary = run_simulation(orders, config, screen, sys.stdout, sys.stderr)
            return VIOLATED if summary["violations"] else 0
        # A buffer of our own: with PYTHONUNBUFFERED a million lines are a million syscalls.
        with open(fd, "w", encoding="utf-8", buffering=1 << 16, closefd=False) as out:
            summary = run_simulation(orders, config, screen, out, sys.stderr)
    return VIOLATED if summary["violations"] else 0


def _duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise UsageError(f"--soak: expected a duration like 30s, 10m or 2h, got {text!r}")
    return seconds


def _read_orders(path: Path) -> list[tuple[Order, SimCallee]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--orders: cannot read {path}: {exc}") from exc
    try:
        return list(read_orders(lines))
    except SimInputError as exc:
        raise UsageError(f"--orders {path}: {exc}") from exc


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """A run allocates millions of short-lived objects and keeps every order to the end:
    the cyclic garbage collector ran ~1 400 times on 20 000 orders for a tenth of the run.
    During it, the objects alive now (the orders read) are not scanned again and young
    objects are collected 14× less often; both are restored afterwards. PyPy's collector
    has neither knob (no ``gc.get_threshold``); there the run goes with its own settings."""
    if not hasattr(gc, "get_threshold"):
        yield
        return
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _config(args: argparse.Namespace) -> SimConfig:
    try:
        start = parse_utc(args.start)
    except ValueError:
        raise UsageError(f"--start: not an ISO 8601 time with a zone: {args.start!r}") from None
    if not 0 < args.days <= MAX_DAYS:
        raise UsageError(f"--days: must be between 0 and 366, got {args.days}")
    if not 1 <= args.agents <= MAX_AGENTS:
        raise UsageError(f"--agents: must be between 1 and 10000, got {args.agents}")
    settings = CampaignSettings()
    if args.campaign is not None:
        try:
            settings = load_campaign(args.campaign)
        except ConfigError as exc:
            raise UsageError(f"--campaign: {exc}") from exc
    try:
        faults = parse_faults(args.faults) if args.faults else FaultSpec()
    except FaultSpecError as exc:
        raise UsageError(f"--faults: {exc}") from None
    if not 0 <= args.result_delay <= DAY_S:
        raise UsageError(f"--result-delay: must be between 0 and 86400, got {args.result_delay}")
    return SimConfig(start, args.days, args.agents, args.seed, settings, _service(args),
                     faults, args.result_delay)  # fmt: skip


_SERVICE_KEYS = ("cps", "campaign_lines", "trunk_lines", "status_max_age_s",
                 "status_timeout_s", "status_retry_s")  # fmt: skip


def _service(args: argparse.Namespace) -> SimService | None:
    """``--service-config``'s pacing, line caps and re-check timings (the service's keys and
    defaults), with the simulated CRM's read options."""
    if not 0 <= args.status_fail_rate <= 1:
        raise UsageError(
            f"--status-fail-rate: must be between 0 and 1, got {args.status_fail_rate}"
        )
    if args.status_read_s < 0:
        raise UsageError(f"--status-read-s: must not be negative, got {args.status_read_s}")
    path: Path | None = args.service_config
    if path is None:
        options = SimCrmOptions(read_s=args.status_read_s, fail_rate=args.status_fail_rate)
        return None if options == SimCrmOptions() else SimService(crm=options)
    from dialer.config.service import asterisk_server, service_settings  # noqa: PLC0415 - AMI

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        table = data.get("service", {})
        picked = {k: v for k, v in table.items() if k in _SERVICE_KEYS}
        service = service_settings(picked, {}, {}, path.parent)
        lines = asterisk_server({k: v for k, v in data.get("ami", {}).items() if k == "lines"}, {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ConfigError) as exc:
        raise UsageError(f"--service-config: {path}: {exc}") from exc
    crm = SimCrmOptions(args.status_read_s, args.status_fail_rate, service.status_timeout_s,
                        service.status_retry_s)  # fmt: skip
    return SimService(service.cps, service.campaign_lines, lines.line_cap(service),
                      service.status_max_age_s, crm)  # fmt: skip
