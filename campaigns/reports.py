"""Supervisors' reports (issue 19): figures computed from a history given as data, no I/O.

Days and hours are local to the report's zone (the campaign's ``default_tz``, the zone its
supervisors work in); the range is whole local days ``first..last`` inclusive. ``now``
closes the interval an agent is still in. Definitions (docs/supervisors.md, «Отчёты»):

- calls: agent-first attempts started in the range, by local day and hour and result;
- dialled: the attempts that reached the customer's number (all but ``agent_missed`` and
  ``failed``, where no customer was dialled); contact rate = answered / dialled;
- confirmed share = confirmed / final outcomes written in the range (final: every kind but
  no_answer, callback; skipped orders were never called and are left out);
- dials per confirmed order = dialled / confirmed;
- speed to lead: for orders created in the range, first dialled attempt's start minus the
  order's creation, p50 and p95 (nearest rank); orders not dialled yet are counted apart;
- per agent: talk = answered_at..ended_at of answered calls; wrap-up and pause = time in
  those states; signed in = time not logged out; occupancy = (talk + wrap-up) / (signed
  in - pause); missed = attempts ending ``agent_missed``. State time is clipped to the range.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 366
NOT_DIALLED = frozenset({"agent_missed", "failed"})
NOT_FINAL = frozenset({"no_answer", "callback", "skipped"})


@dataclass(frozen=True, slots=True)
class ReportRange:
    """Local days ``first..last`` (inclusive) in ``zone``."""

    first: date
    last: date
    zone: str

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise ValueError("from is after to")
        if self.days > MAX_DAYS:
            raise ValueError(f"the range is longer than {MAX_DAYS} days")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), ZoneInfo(self.zone))

    @property
    def end(self) -> datetime:
        """The instant after the last day (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(), ZoneInfo(self.zone))

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(ZoneInfo(self.zone))


@dataclass(frozen=True, slots=True)
class AttemptFact:
    agent: str
    started_at: datetime
    result: str | None  # None: still live
    answered_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutcomeFact:
    kind: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrderFact:
    """An order created in the range and the start of its first dialled attempt (if any)."""

    created_at: datetime
    first_dialled_at: datetime | None


@dataclass(frozen=True, slots=True)
class StateFact:
    """An agent entered ``state`` at ``at`` (the row in force at the range's start too)."""

    agent: str
    state: str
    at: datetime


@dataclass(frozen=True, slots=True)
class History:
    attempts: Sequence[AttemptFact] = ()
    outcomes: Sequence[OutcomeFact] = ()
    orders: Sequence[OrderFact] = ()
    states: Sequence[StateFact] = ()


@dataclass(slots=True)
class AgentFigures:
    agent: str
    calls: int = 0
    answered: int = 0
    missed: int = 0
    talk_s: float = 0.0
    wrap_s: float = 0.0
    pause_s: float = 0.0
    signed_in_s: float = 0.0

    @property
    def occupancy(self) -> float | None:
        available = self.signed_in_s - self.pause_s
        return None if available <= 0 else (self.talk_s + self.wrap_s) / available


@dataclass(frozen=True, slots=True)
class SpeedToLead:
    orders: int
    dialled: int
    p50_s: float | None
    p95_s: float | None


@dataclass(frozen=True, slots=True)
class Report:
    range: ReportRange
    calls_by_day: dict[date, Counter[str]]
    calls_by_hour: dict[int, Counter[str]]
    outcomes_by_day: dict[date, Counter[str]]
    calls: int
    dialled: int
    answered: int
    confirmed: int
    final: int
    speed: SpeedToLead
    agents: list[AgentFigures] = field(default_factory=list)

    @property
    def contact_rate(self) -> float | None:
        return _ratio(self.answered, self.dialled)

    @property
    def confirmed_share(self) -> float | None:
        return _ratio(self.confirmed, self.final)

    @property
    def dials_per_confirmed(self) -> float | None:
        return _ratio(self.dialled, self.confirmed)


def build(history: History, span: ReportRange, now: datetime) -> Report:
    """The report of ``history`` over ``span``; facts outside the range are ignored."""
    attempts = [a for a in history.attempts if _inside(a.started_at, span)]
    outcomes = [o for o in history.outcomes if _inside(o.created_at, span)]
    by_day: dict[date, Counter[str]] = {d: Counter() for d in _days(span)}
    by_hour: dict[int, Counter[str]] = {h: Counter() for h in range(24)}
    for a in attempts:
        local, result = span.local(a.started_at), a.result or "live"
        by_day[local.date()][result] += 1
        by_hour[local.hour][result] += 1
    out_by_day: dict[date, Counter[str]] = {d: Counter() for d in _days(span)}
    for o in outcomes:
        out_by_day[span.local(o.created_at).date()][o.kind] += 1
    kinds = Counter(o.kind for o in outcomes)
    return Report(
        range=span,
        calls_by_day=by_day,
        calls_by_hour=by_hour,
        outcomes_by_day=out_by_day,
        calls=len(attempts),
        dialled=sum(1 for a in attempts if _dialled(a)),
        answered=sum(1 for a in attempts if a.result == "answered"),
        confirmed=kinds["confirmed"],
        final=sum(n for kind, n in kinds.items() if kind not in NOT_FINAL),
        speed=speed_to_lead(history.orders, span),
        agents=agent_figures(attempts, history.states, span, now),
    )


def speed_to_lead(orders: Iterable[OrderFact], span: ReportRange) -> SpeedToLead:
    """First-call delay of the orders created in ``span``."""
    mine = [o for o in orders if _inside(o.created_at, span)]
    delays = sorted(
        max(0.0, (o.first_dialled_at - o.created_at).total_seconds())
        for o in mine
        if o.first_dialled_at is not None
    )
    return SpeedToLead(len(mine), len(delays), percentile(delays, 50), percentile(delays, 95))


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The nearest-rank percentile of an ascending sequence (None when empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def agent_figures(
    attempts: Iterable[AttemptFact], states: Iterable[StateFact], span: ReportRange,
    now: datetime,
) -> list[AgentFigures]:  # fmt: skip
    """Per agent figures, by agent id."""
    figures: dict[str, AgentFigures] = {}
    for a in attempts:
        f = figures.setdefault(a.agent, AgentFigures(a.agent))
        f.calls += 1
        f.missed += a.result == "agent_missed"
        if a.result == "answered":
            f.answered += 1
            if a.answered_at is not None and a.ended_at is not None:
                f.talk_s += max(0.0, (a.ended_at - a.answered_at).total_seconds())
    end = min(span.end, now)
    for agent, state, begin, finish in _intervals(states, end):
        seconds = (min(finish, end) - max(begin, span.start)).total_seconds()
        if seconds <= 0:
            continue
        f = figures.setdefault(agent, AgentFigures(agent))
        f.signed_in_s += seconds if state != "logged_out" else 0.0
        f.wrap_s += seconds if state == "wrap_up" else 0.0
        f.pause_s += seconds if state == "paused" else 0.0
    return [figures[k] for k in sorted(figures)]


def _intervals(
    states: Iterable[StateFact], end: datetime
) -> Iterable[tuple[str, str, datetime, datetime]]:
    """(agent, state, from, to) for each state row: it lasts until the agent's next row."""
    by_agent: dict[str, list[StateFact]] = {}
    for s in states:
        by_agent.setdefault(s.agent, []).append(s)
    for agent, rows in by_agent.items():
        rows.sort(key=lambda s: s.at)
        for row, following in zip(rows, [*rows[1:], None], strict=True):
            yield agent, row.state, row.at, end if following is None else following.at


def _dialled(a: AttemptFact) -> bool:
    return a.result is not None and a.result not in NOT_DIALLED


def _inside(instant: datetime, span: ReportRange) -> bool:
    return span.start <= instant < span.end


def _days(span: ReportRange) -> list[date]:
    return [span.first + timedelta(days=n) for n in range(span.days)]


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole
