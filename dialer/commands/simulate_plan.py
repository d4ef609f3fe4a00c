"""`callback-dialer simulate --plan`: the capacity planner's flags, profile and output.

Exit codes: 0 when some agent count up to ``--agents-max`` meets every ``--target``,
``NO_COUNT`` (3) when none does, 2 for bad arguments (as every command).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from campaigns.orders import Order
from dialer.app.screener import make_screen
from dialer.cli import UsageError
from dialer.clock_text import iso_z
from dialer.sim.arrivals import CURVES, Behaviour, Profile, ProfileError, generate, parse_curve
from dialer.sim.phones import SimCallee
from dialer.sim.plan import Plan, PlanError, PlanRow, Target, parse_target, search, simulate_row
from dialer.sim.plan_html import render
from dialer.sim.plan_report import agents_text, measured_text, plan_json, table_text
from dialer.sim.simulate import SimConfig

NO_COUNT = 3
MAX_PER_DAY = 1_000_000
MAX_AGENTS = 10_000
Orders = list[tuple[Order, SimCallee]]
_PLAN_ONLY = ("target", "agents_max", "per_day", "hourly", "answer_share", "pickup",
              "confirm_share", "html", "json")  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "capacity planner",
        "--plan finds the fewest agents meeting every --target and prints a table "
        "(docs/simulate.md, 'Capacity planner'); exit 3 when no count up to --agents-max does",
    )
    g.add_argument("--plan", action="store_true", help="run the capacity planner")
    g.add_argument("--target", action="append", metavar="EXPR",
                   help="first-call-pNN<=DURATION (5m, 90s, 1h), in-window-pNN<=DURATION, "
                   "contact>=SHARE, confirmed>=SHARE, occupancy<=SHARE (0.4 or 40%%); "
                   "repeat it: all must hold")  # fmt: skip
    g.add_argument("--agents-max", type=int, metavar="K", help="largest count tried (default 100)")
    g.add_argument("--per-day", type=int, metavar="N",
                   help="generate N orders a day instead of --orders")  # fmt: skip
    g.add_argument("--hourly", metavar="CURVE",
                   help=f"arrival curve in local time: {', '.join(CURVES)} (default ecommerce) "
                   "or 24 comma-separated weights")  # fmt: skip
    g.add_argument("--answer-share", type=float, metavar="P",
                   help="generated customers who ever answer (default 0.8)")  # fmt: skip
    g.add_argument("--pickup", type=float, metavar="P",
                   help="chance a call to such a customer is answered (default 0.5)")  # fmt: skip
    g.add_argument("--confirm-share", type=float, metavar="P",
                   help="answering customers who confirm, the rest refuse "
                   "(default 0.7)")  # fmt: skip
    g.add_argument("--html", type=Path, metavar="FILE", help="also write the plan as a page")
    g.add_argument("--json", action="store_true", help="print the plan as JSON, not a table")


def check_flags(args: argparse.Namespace) -> None:
    """Planner flags without ``--plan`` (or ``--per-day`` without it) are mistakes."""
    if args.plan:
        return
    given = [k for k in _PLAN_ONLY if getattr(args, k) not in (None, False)]
    if given:
        raise UsageError(f"--{given[0].replace('_', '-')}: only with --plan")


def run_plan(
    args: argparse.Namespace, config: SimConfig, read_orders: Callable[[Path], Orders]
) -> int:
    """``read_orders(path)`` reads an ``--orders`` file as ``simulate`` does."""
    targets = _targets(args.target)
    agents_max = 100 if args.agents_max is None else args.agents_max
    if not 1 <= agents_max <= MAX_AGENTS:
        raise UsageError(f"--agents-max: must be between 1 and {MAX_AGENTS}, got {agents_max}")
    if args.html is not None and not args.html.parent.is_dir():
        raise UsageError(f"--html: no such directory: {args.html.parent}")
    orders, profile = _orders(args, config, read_orders)
    screen = make_screen(config.settings, db_url=args.db, snapshot=True)

    def evaluate(agents: int) -> PlanRow:
        row = simulate_row(orders, config, screen, agents)
        got = ", ".join(f"{t.metric} {measured_text(t, row)}" for t in targets)
        met = "met" if all(t.holds(row) for t in targets) else "not met"
        print(f"plan: {agents_text(agents)}: {got}: {met}", file=sys.stderr, flush=True)
        return row

    plan = search(evaluate, targets, agents_max)
    _write(args, plan, profile, config)
    return 0 if plan.answer is not None else NO_COUNT


def _targets(texts: list[str] | None) -> list[Target]:
    if not texts:
        raise UsageError("--target: --plan needs at least one, e.g. --target 'first-call-p95<=5m'")
    try:
        return [parse_target(t) for t in texts]
    except PlanError as exc:
        raise UsageError(str(exc)) from None


def _orders(
    args: argparse.Namespace, config: SimConfig, read_orders: Callable[[Path], Orders]
) -> tuple[Orders, dict[str, Any]]:
    if (args.orders is None) == (args.per_day is None):
        raise UsageError("--plan: give either --orders FILE.jsonl or --per-day N")
    if args.orders is not None:
        orders = read_orders(args.orders)
        return orders, {"orders_file": str(args.orders), "orders": len(orders)}
    if not 1 <= args.per_day <= MAX_PER_DAY:
        raise UsageError(f"--per-day: must be between 1 and {MAX_PER_DAY}, got {args.per_day}")
    try:
        hourly = parse_curve("ecommerce" if args.hourly is None else args.hourly)
        behaviour = Behaviour(*(d if v is None else v for v, d in (
            (args.answer_share, 0.8), (args.pickup, 0.5), (args.confirm_share, 0.7))))  # fmt: skip
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    orders = generate(Profile(args.per_day, hourly, behaviour), config.start, config.days,
                      config.seed)  # fmt: skip
    profile = {"per_day": args.per_day, "hourly": args.hourly or "ecommerce",
               "answer_share": behaviour.answer_share, "pickup": behaviour.pickup,
               "confirm_share": behaviour.confirm_share, "orders": len(orders)}  # fmt: skip
    return orders, profile


def _write(
    args: argparse.Namespace, plan: Plan, profile: dict[str, Any], config: SimConfig
) -> None:
    run = {"start": iso_z(config.start), "days": config.days, "seed": config.seed}
    details = [f"{k}: {v}" for k, v in {**profile, **run}.items()]
    if args.html is not None:
        try:
            args.html.write_text(render(plan, "Capacity plan", details), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--html: cannot write {args.html}: {exc}") from exc
    if args.json:
        print(json.dumps({**plan_json(plan, profile), **run}, ensure_ascii=False))
    else:
        print(table_text(plan, "Capacity plan: " + "; ".join(details)))
