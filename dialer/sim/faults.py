"""``simulate --faults SPEC``: the failures the simulator injects, all drawn from the seed.

A SPEC is ``all`` or comma-separated ``key=value`` parts (``all`` may be followed by parts
that override it: ``all,crash=0``). Rates are probabilities in [0, 1]; durations are
seconds, or a number with ``s``, ``m`` or ``h``:

=================  ====================================================================
``crm-outage=P``   each virtual minute the CRM goes down with chance P, for
                   ``crm-outage-s`` (default 120 s): status reads fail and outcome
                   deliveries wait
``slow-read=D``    each status read takes a uniform 0..D seconds (past the service's
                   ``status_timeout_s`` it fails at the timeout)
``read-fail=P``    share of status reads that fail
``status-change=P`` share of orders cancelled in the CRM («Отменён») at a random
                   moment of the run, while they wait
``lost-report=P``  share of calls whose telephony report is lost: the attempt ends
                   ``failed`` with the tracker's "... outcome lost" detail
``agent-miss=P``   share of offers the agent does not take (``agent_missed``)
``device-down=P``  after each call, the chance that the agent's device goes
                   unavailable for ``device-down-s`` (default 300 s)
``no-result=P``    share of answered calls whose agent gives no result in time: the
                   agent is paused «нет результата», gives it ``late-result-s``
                   (default 300 s) after that pause and resumes
``crash=P``        each step of the node (a round, a report, a result) crashes it with
                   chance P, at one of its first four store writes (claim, attempt,
                   state, outcome), just before or just after that write lands; the
                   node restarts at once from the store
``db-outage=P``    each virtual minute the database goes down with chance P, for
                   ``db-outage-s`` (default 60 s): store calls raise the service's
                   ``DatabaseUnavailableError``
=================  ====================================================================
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta

from campaigns.orders import Order
from dialer.sim.crm import CANCELLED, StatusChange
from dialer.sim.phones import SimCallee
from dialer.storage.errors import DatabaseUnavailableError


class FaultSpecError(ValueError):
    """A ``--faults`` SPEC part is malformed; the message names it."""


class NodeCrash(Exception):
    """The simulated node died at this store call; the simulator restarts it from the store."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """What fails and how often (see the module docstring); all zero: nothing fails."""

    crm_outage: float = 0.0
    crm_outage_s: float = 120.0
    slow_read: float = 0.0
    read_fail: float = 0.0
    status_change: float = 0.0
    lost_report: float = 0.0
    agent_miss: float = 0.0
    device_down: float = 0.0
    device_down_s: float = 300.0
    no_result: float = 0.0
    late_result_s: float = 300.0
    crash: float = 0.0
    db_outage: float = 0.0
    db_outage_s: float = 60.0

    @property
    def any(self) -> bool:
        return self.slow_read > 0 or any(getattr(self, name) > 0 for name in _RATES)

    @property
    def touches_crm(self) -> bool:
        return bool(self.crm_outage or self.slow_read or self.read_fail or self.status_change)


DAY_S = 86_400.0  # the longest duration a SPEC takes
_RATES = ("crm_outage", "read_fail", "status_change", "lost_report", "agent_miss",
          "device_down", "no_result", "crash", "db_outage")  # fmt: skip
_DURATIONS = ("crm_outage_s", "slow_read", "device_down_s", "late_result_s", "db_outage_s")

ALL = FaultSpec(
    crm_outage=0.002,
    slow_read=2.0,
    read_fail=0.02,
    status_change=0.05,
    lost_report=0.01,
    agent_miss=0.05,
    device_down=0.01,
    no_result=0.02,
    crash=0.001,
    db_outage=0.002,
)


def parse_faults(text: str) -> FaultSpec:
    """The SPEC as a ``FaultSpec``; FaultSpecError names the first bad part."""
    spec = FaultSpec()
    known = {f.name.replace("_", "-"): f.name for f in fields(FaultSpec)}
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise FaultSpecError("empty SPEC: give 'all' or key=value parts")
    for part in parts:
        if part == "all":
            spec = replace(ALL, **{k: getattr(spec, k) for k in _changed(spec)})
            continue
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in known:
            raise FaultSpecError(
                f"{part!r}: expected 'all' or KEY=VALUE with KEY one of {', '.join(known)}"
            )
        name = known[key.strip()]
        spec = replace(spec, **{name: _value(name, part, value.strip())})
    return spec


def _changed(spec: FaultSpec) -> list[str]:
    default = FaultSpec()
    return [f.name for f in fields(FaultSpec) if getattr(spec, f.name) != getattr(default, f.name)]


def _value(name: str, part: str, text: str) -> float:
    if name in _DURATIONS:
        try:
            value = parse_duration(text)
        except ValueError:
            raise FaultSpecError(f"{part!r}: expected a duration like 30, 30s, 2m or 1h") from None
        if not 0 <= value <= DAY_S:
            raise FaultSpecError(f"{part!r}: a duration between 0 and 24h")
        return value
    try:
        value = float(text)
    except ValueError:
        raise FaultSpecError(f"{part!r}: expected a probability between 0 and 1") from None
    top = 0.5 if name == "crash" else 1.0  # a node that always crashes never gets anywhere
    if not 0 <= value <= top:
        raise FaultSpecError(f"{part!r}: expected a probability between 0 and {top:g}")
    return value


def parse_duration(text: str) -> float:
    """Seconds in ``30``, ``30s``, ``2m`` or ``1h``; ValueError otherwise."""
    scale = {"s": 1.0, "m": 60.0, "h": 3600.0}.get(text[-1:])
    return float(text[:-1] if scale is not None else text) * (scale or 1.0)


def outage_spans(
    rng: random.Random, start: datetime, end: datetime, per_minute: float, seconds: float
) -> list[tuple[datetime, datetime]]:
    """Outages over ``[start, end]``: each minute one starts with chance ``per_minute``."""
    spans: list[tuple[datetime, datetime]] = []
    if per_minute <= 0 or seconds <= 0:
        return spans
    at = start
    while at < end:
        if rng.random() < per_minute:
            begin = at + timedelta(seconds=rng.randrange(60))
            if not spans or begin >= spans[-1][1]:
                spans.append((begin, begin + timedelta(seconds=seconds)))
        at += timedelta(minutes=1)
    return spans


class Outages:
    """Whether something is down at an instant (spans sorted and not overlapping)."""

    def __init__(self, spans: list[tuple[datetime, datetime]]) -> None:
        self.spans = spans
        self._begins = [begin for begin, _ in spans]

    def down_at(self, at: datetime) -> datetime | None:
        """When the outage covering ``at`` ends, or None when up."""
        i = bisect.bisect_right(self._begins, at) - 1
        if i >= 0 and self.spans[i][1] > at:
            return self.spans[i][1]
        return None


def outage_error(back_at: datetime) -> DatabaseUnavailableError:
    return DatabaseUnavailableError(f"simulated database outage until {back_at.isoformat()}")


def chance(rng: random.Random, p: float) -> Callable[[], bool]:
    """A coin that comes up True with probability ``p`` (never drawn when ``p`` is 0)."""
    if p <= 0:
        return _never
    return lambda: rng.random() < p


def _never() -> bool:
    return False


def with_status_changes(
    pending: list[tuple[Order, SimCallee]],
    share: float,
    rng: random.Random,
    start: datetime,
    end: datetime,
) -> list[tuple[Order, SimCallee]]:
    """``status-change``: a share of the orders (with no change of their own) is cancelled
    in the CRM at a uniform moment between its arrival and the end of the run."""
    if share <= 0:
        return pending
    changed = []
    for order, callee in pending:
        new = callee
        if callee.status_change is None and rng.random() < share:
            begin = max(start, order.created_at)
            span = max(0.0, (end - begin).total_seconds())
            at = begin + timedelta(seconds=round(rng.uniform(0, span)))
            new = replace(callee, status_change=StatusChange(at, CANCELLED))
        changed.append((order, new))
    return changed
