"""The capacity planner: the smallest agent count whose simulated run meets every target.

Each candidate count runs the whole simulation (``run_simulation``, the service's dispatch
round) on the same orders with the same seed, so rows differ only in the number of agents.
The run's JSON Lines are read back as they are written (``_Tap``), and the screener is
wrapped to learn each order's zones; nothing inside the simulator changes for the planner.

Definitions (docs/simulate.md, "Capacity planner"):

- *Measured orders*: orders the screener lets through whose calling window opens before the
  run ends; an order that leaves the queue before any dial (a duplicate, a CRM status
  change) is not measured.
- *First-call delay*: from ``max(arrival, the window's next opening in the order's zones)``
  to the first dial. A measured order not dialled by the end counts with the wait it has had
  so far (a lower bound; the table counts them as *waiting*).
- *In-window first-call delay*: the same over the orders that arrive while their window is
  open (from arrival), leaving out the backlog that builds overnight.
- *Contact rate*: measured orders answered at least once / measured orders.
- *Confirmed share*: measured orders confirmed / measured orders.
- *Occupancy*: the simulator's ``agent_occupancy`` (busy time / agents x run length).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from campaigns.orders import Order
from campaigns.screening import Screening, Verdict
from campaigns.window import next_window_open
from dialer.clock_text import parse_utc
from dialer.dispatch.dispatcher import Screen
from dialer.sim.phones import SimCallee
from dialer.sim.simulate import SimConfig, run_simulation

ROWS_BELOW = 3
ROWS_ABOVE = 2
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600}
_TARGET = re.compile(r"^\s*([a-z0-9-]+)\s*(<=|>=|<|>)\s*(\S+)\s*$", re.IGNORECASE)
_PERCENTILE = re.compile(r"^(?:first-call|in-window)-p([0-9]{1,2}|100)$")
_SHARES = {"contact": ">", "confirmed": ">", "occupancy": "<"}  # metric: the direction allowed


class PlanError(ValueError):
    """A target or planner option is malformed; the message names the bad part."""


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One simulated agent count; ``delays`` are sorted seconds over the measured orders."""

    agents: int
    delays: tuple[float, ...]
    waiting: int
    in_window: tuple[float, ...]  # the delays of orders that arrived with the window open
    contact: float | None
    confirmed: float | None
    occupancy: float
    dials_per_confirmed: float | None

    def percentile(self, p: int, *, in_window: bool = False) -> float | None:
        """Nearest-rank percentile of the first-call delay (of all measured orders, or of
        those that arrived with the window open); None when there are none."""
        delays = self.in_window if in_window else self.delays
        if not delays:
            return None
        return delays[max(1, math.ceil(p / 100 * len(delays))) - 1]


@dataclass(frozen=True, slots=True)
class Target:
    """``metric op value``: a first-call percentile in seconds or a share in 0..1."""

    text: str
    metric: str
    op: str
    value: float
    percentile: int | None = None

    def measure(self, row: PlanRow) -> float | None:
        if self.percentile is not None:
            return row.percentile(self.percentile, in_window=self.metric.startswith("in-window"))
        return {"contact": row.contact, "confirmed": row.confirmed,
                "occupancy": row.occupancy}[self.metric]  # fmt: skip

    def holds(self, row: PlanRow) -> bool:
        got = self.measure(row)
        if got is None:
            return False
        return {"<=": got <= self.value, "<": got < self.value,
                ">=": got >= self.value, ">": got > self.value}[self.op]  # fmt: skip


def parse_target(text: str) -> Target:
    """``first-call-p95<=5m``, ``contact>=0.7``, ``confirmed>=40%``, ``occupancy<=0.85``."""
    match = _TARGET.match(text)
    if match is None:
        raise PlanError(f"--target {text!r}: expected METRIC OP VALUE, e.g. first-call-p95<=5m")
    metric, op, value = match.group(1).lower(), match.group(2), match.group(3)
    percentile = _PERCENTILE.match(metric)
    if percentile is not None:
        _direction(text, metric, op, "<")
        return Target(text, metric, op, _duration(text, value), int(percentile.group(1)))
    if metric not in _SHARES:
        raise PlanError(
            f"--target {text!r}: unknown metric {metric!r}; expected first-call-pNN, "
            f"in-window-pNN (NN 1-100), {', '.join(sorted(_SHARES))}"
        )
    _direction(text, metric, op, _SHARES[metric])
    return Target(text, metric, op, _share(text, value))


def _direction(text: str, metric: str, op: str, allowed: str) -> None:
    """The planner looks for the smallest count, so a target must get easier with agents."""
    if op[0] != allowed:
        better = "lower" if allowed == "<" else "higher"
        raise PlanError(
            f"--target {text!r}: {op!r}: {metric} only takes {allowed}= or {allowed} "
            f"(more agents make it {better})"
        )


def _duration(text: str, value: str) -> float:
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(s|min|m|h)", value.lower())
    if match is None:
        raise PlanError(
            f"--target {text!r}: {value!r}: expected a duration with a unit, e.g. 90s, 5m, 1h"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def _share(text: str, value: str) -> float:
    percent = value.endswith("%")
    try:
        number = float(value.removesuffix("%")) / (100 if percent else 1)
    except ValueError:
        number = math.nan
    if not 0 <= number <= 1:
        raise PlanError(f"--target {text!r}: {value!r}: expected a share, 0..1 or 0..100%")
    return number


@dataclass(frozen=True, slots=True)
class Plan:
    """The search's answer (None: no count up to ``agents_max`` meets every target) and the
    rows around it, fewest agents first."""

    targets: tuple[Target, ...]
    agents_max: int
    answer: int | None
    rows: tuple[PlanRow, ...]

    def meets(self, row: PlanRow) -> bool:
        return all(t.holds(row) for t in self.targets)


def search(evaluate: Callable[[int], PlanRow], targets: Sequence[Target], agents_max: int) -> Plan:
    """Galloping then binary search for the smallest count meeting every target (assuming
    more agents never make a target worse), then the rows from a few below to a few above.
    ``evaluate`` runs once per count."""
    rows: dict[int, PlanRow] = {}

    def meets(n: int) -> bool:
        if n not in rows:
            rows[n] = evaluate(n)
        return all(t.holds(rows[n]) for t in targets)

    failing, passing = 0, None  # the largest count known to fail, the smallest known to pass
    n = 1
    while passing is None and failing < agents_max:
        if meets(n):
            passing = n
        else:
            failing, n = n, min(n * 2, agents_max)
    if passing is None:
        shown = range(max(1, agents_max - ROWS_BELOW - ROWS_ABOVE), agents_max + 1)
    else:
        while passing - failing > 1:
            mid = (failing + passing) // 2
            failing, passing = (failing, mid) if meets(mid) else (mid, passing)
        shown = range(max(1, passing - ROWS_BELOW), min(agents_max, passing + ROWS_ABOVE) + 1)
    for k in shown:
        meets(k)
    return Plan(tuple(targets), agents_max, passing, tuple(rows[k] for k in shown))


def simulate_row(
    orders: Sequence[tuple[Order, SimCallee]], config: SimConfig, screen: Screen, agents: int
) -> PlanRow:
    """Run the simulation with ``agents`` agents and measure it."""
    zones: dict[str, tuple[str, ...] | None] = {}

    def observed(order: Order, now: datetime) -> Screening:
        screening = screen(order, now)
        dialable = screening.verdict is Verdict.DIAL
        zones[order.id] = (screening.zones or (config.settings.default_tz,)) if dialable else None
        return screening

    tap = _Tap()
    summary = run_simulation(orders, replace(config, agents=agents), observed, tap)
    end = config.start + timedelta(days=config.days)
    return _row(agents, orders, zones, tap, summary, config, end)


def _row(  # noqa: PLR0917 - one run's parts, named by their types
    agents: int,
    orders: Iterable[tuple[Order, SimCallee]],
    zones: dict[str, tuple[str, ...] | None],
    tap: _Tap,
    summary: dict[str, Any],
    config: SimConfig,
    end: datetime,
) -> PlanRow:
    delays: list[float] = []
    in_window: list[float] = []
    waiting = contacted = confirmed = 0
    for order, _ in orders:
        order_zones = zones.get(order.id)
        opens = None if order_zones is None else _opens(order, order_zones, config)
        first = tap.first_dial.get(order.id)
        if opens is None or opens >= end or (first is None and order.id in tap.ended):
            continue
        if first is None:
            waiting += 1
        delays.append(max(0.0, ((first or end) - opens).total_seconds()))
        if opens == order.created_at:
            in_window.append(delays[-1])
        contacted += order.id in tap.answered
        confirmed += tap.ended.get(order.id) == "confirmed"
    measured = len(delays)
    return PlanRow(
        agents,
        tuple(sorted(delays)),
        waiting,
        tuple(sorted(in_window)),
        contacted / measured if measured else None,
        confirmed / measured if measured else None,
        float(summary["agent_occupancy"]),
        summary["dials_per_confirmed"],
    )


def _opens(order: Order, zones: tuple[str, ...], config: SimConfig) -> datetime | None:
    return next_window_open(order.created_at, zones, config.settings.window)


class _Tap(io.StringIO):
    """Reads the simulator's JSON Lines as they are written (keeping none of them): each
    order's first dial, whether it was ever answered, and its final outcome."""

    def __init__(self) -> None:
        super().__init__()
        self._partial = ""
        self.first_dial: dict[str, datetime] = {}
        self.answered: set[str] = set()
        self.ended: dict[str, str] = {}

    def write(self, s: str) -> int:
        lines = (self._partial + s).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._event(json.loads(line))
        return len(s)

    def _event(self, event: dict[str, Any]) -> None:
        order, kind = str(event.get("order")), event.get("event")  # other lines: ignored
        if kind == "dial" and order not in self.first_dial:
            self.first_dial[order] = parse_utc(event["t"])
        elif kind == "result" and event["result"] == "answered":
            self.answered.add(order)
        elif kind == "outcome":
            self.ended.setdefault(order, event["outcome"])
