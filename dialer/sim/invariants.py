"""The invariants every simulated run must keep, checked over its recorded history.

The checker is independent of the code it checks where it can be: local times come from
``zoneinfo`` (the core uses pytz), the dense-day rule of seed 004 is counted here again.
Each check yields ``Violation`` records naming the rule, the order and the instant; the
simulator prints them with the seed (``{"event": "violation", ...}`` and on stderr).

The rules (``RULES``), precisely:

* ``window``: every dial is inside the calling window (weekday, holiday, start <= local
  time < end) in every candidate zone of the order.
* ``one-live``: an order, or a number, never has two attempts live at once (from a dial
  to its result).
* ``outbox``: every outcome written with an order is delivered to the CRM exactly once,
  and an order's outcomes in the order they were written.
* ``stuck``: at the end every order is done, or queued with a due time, or dialling with
  a call the telephony still reports, or awaiting a result an agent will still give; and
  no queued order is overdue by more than ``overdue`` while an agent sits idle.
* ``callback``: a callback (an outcome ``callback`` due at T) is not dialled before T, and
  is dialled by T + ``callback_within`` when the window stays open over that span, the run
  lasts that long and the order did not end another way meanwhile.
* ``final-no-answer``: a final Недозвон comes after at least ``final_min_calls_per_day``
  customer calls within ``final_span_hours`` on one local day of the order's zone (since
  its last callback), unless it is written on the last day the horizon allows
  (``calling_days + max_extra_days`` local days from the horizon's start).
* ``never-touch``: after an order's CRM status changed at C to one that takes it out of
  the queue, it is not dialled at or after C + ``status_max_age_s`` (the re-check may vouch
  for a dial with a reading up to that old, taken before C).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from campaigns.calls import CallResult
from campaigns.outcomes import OutcomeKind
from campaigns.settings import CallingWindow, CampaignSettings
from dialer.clock_text import iso_z

RULES = ("window", "one-live", "outbox", "stuck", "callback", "final-no-answer", "never-touch")


class Violation(NamedTuple):
    rule: str
    order: str
    at: datetime
    detail: str

    def record(self, seed: int) -> dict[str, Any]:
        return {"t": _iso(self.at), "event": "violation", "rule": self.rule,
                "order": self.order, "seed": seed, "detail": self.detail}  # fmt: skip


class Dial(NamedTuple):
    at: datetime
    order: str
    attempt: str
    e164: str
    zones: tuple[str, ...]


class Result(NamedTuple):
    at: datetime
    order: str
    attempt: str
    result: CallResult
    customer_attempt: bool
    started_at: datetime


class Written(NamedTuple):
    order: str
    n: int  # the order's n-th written outcome, from 0
    kind: OutcomeKind
    at: datetime
    callback_at: datetime | None


class End(NamedTuple):
    """An order's state when the run ended (the store's, with what will still come)."""

    phase: str  # lifecycle.Phase value
    due_at: datetime | None
    call_pending: bool  # dialling: the telephony will still report the call
    result_pending: bool  # awaiting: an agent will still give the result


@dataclass
class History:
    """What a run did, for the checker; the simulator fills it as it goes."""

    settings: CampaignSettings
    end: datetime
    status_max_age_s: float = 10.0
    callback_within: timedelta = timedelta(minutes=30)
    overdue: timedelta = timedelta(minutes=30)
    created: dict[str, datetime] = field(default_factory=dict)
    zones: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dials: list[Dial] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    written: list[Written] = field(default_factory=list)
    delivered: list[tuple[str, int]] = field(default_factory=list)
    leaves_queue: dict[str, datetime] = field(default_factory=dict)  # CRM status change
    skipped: dict[str, datetime] = field(default_factory=dict)  # left the queue unwritten
    ends: dict[str, End] = field(default_factory=dict)
    idle_agents_at_end: int = 0
    _count: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    def next_index(self, order: str) -> int:
        return self._count[order]

    def write(
        self, order: str, kind: OutcomeKind, at: datetime, callback_at: datetime | None
    ) -> None:
        self.written.append(Written(order, self._count[order], kind, at, callback_at))
        self._count[order] += 1


def check(history: History) -> list[Violation]:
    """Every violation of every rule, sorted by instant, order and rule."""
    found = [
        *_window(history),
        *_one_live(history),
        *_outbox(history),
        *_stuck(history),
        *_callbacks(history),
        *_final_no_answer(history),
        *_never_touch(history),
    ]
    return sorted(found, key=lambda v: (v.at, v.order, v.rule, v.detail))


def window_open_at(at: datetime, zones: tuple[str, ...], window: CallingWindow) -> bool:
    for name in zones:
        local = at.astimezone(ZoneInfo(name))
        day = local.date()
        if day.weekday() not in window.weekdays or day in window.holidays:
            return False
        if not window.start <= local.time().replace(tzinfo=None) < window.end:
            return False
    return True


def _window(h: History) -> Iterator[Violation]:
    for dial in h.dials:
        if not window_open_at(dial.at, dial.zones, h.settings.window):
            local = ", ".join(f"{z} {dial.at.astimezone(ZoneInfo(z)):%a %H:%M}" for z in dial.zones)
            why = f"attempt {dial.attempt} dialled outside the window ({local})"
            yield Violation("window", dial.order, dial.at, why)


def _one_live(h: History) -> Iterator[Violation]:
    ended = {r.attempt: r.at for r in h.results}
    spans = sorted((d.at, ended.get(d.attempt, h.end + timedelta(days=1)), d) for d in h.dials)
    live_by: dict[str, list[tuple[datetime, Dial]]] = defaultdict(list)
    for start, stop, dial in spans:
        for key, what in ((f"order {dial.order}", "order"), (f"number {dial.e164}", "number")):
            live = [(s, d) for s, d in live_by[key] if s > start]
            for _, other in live:
                yield Violation("one-live", dial.order, start,
                                f"attempt {dial.attempt} dialled while attempt {other.attempt} "
                                f"of the same {what} ({key}) was live")  # fmt: skip
            live_by[key] = [*live, (stop, dial)]


def _outbox(h: History) -> Iterator[Violation]:
    written = {(w.order, w.n): w for w in h.written}
    seen: set[tuple[str, int]] = set()
    last: dict[str, int] = {}
    for order, index in h.delivered:
        at = written[(order, index)].at if (order, index) in written else h.end
        if (order, index) not in written:
            yield Violation("outbox", order, at, f"outcome #{index} delivered but never written")
        elif (order, index) in seen:
            yield Violation("outbox", order, at, f"outcome #{index} delivered twice")
        elif last.get(order, -1) > index:
            yield Violation("outbox", order, at,
                            f"outcome #{index} delivered after #{last[order]}")  # fmt: skip
        seen.add((order, index))
        last[order] = max(last.get(order, -1), index)
    for key, w in written.items():
        if key not in seen:
            yield Violation("outbox", w.order, w.at,
                            f"outcome #{w.n} ({w.kind.value}) never delivered")  # fmt: skip


def _stuck(h: History) -> Iterator[Violation]:
    for order, end in sorted(h.ends.items()):
        why = None
        if end.phase == "queued" and end.due_at is None:
            why = "queued with no due time"
        elif end.phase == "queued" and end.due_at is not None and h.idle_agents_at_end > 0 \
                and end.due_at < h.end - h.overdue:  # fmt: skip
            why = f"due since {_iso(end.due_at)} while {h.idle_agents_at_end} agents sit idle"
        elif end.phase == "dialing" and not end.call_pending:
            why = "dialling a call nobody will report"
        elif end.phase == "awaiting_disposition" and not end.result_pending:
            why = "awaiting a result nobody will give"
        if why is not None:
            yield Violation("stuck", order, h.end, why)


def _callbacks(h: History) -> Iterator[Violation]:
    dials: dict[str, list[datetime]] = defaultdict(list)
    for d in h.dials:
        dials[d.order].append(d.at)
    done_at = _ended_at(h)
    for w in h.written:
        if w.kind is not OutcomeKind.CALLBACK or w.callback_at is None:
            continue
        due, later = w.callback_at, [t for t in dials[w.order] if t >= w.at]
        early = [t for t in later if t < due]
        if early:
            yield Violation("callback", w.order, early[0],
                            f"callback due {_iso(due)} dialled early")  # fmt: skip
            continue
        limit = due + h.callback_within
        if limit > h.end or done_at.get(w.order, limit + timedelta(1)) <= limit:
            continue
        if not _open_throughout(due, limit, h.zones.get(w.order, ()), h.settings.window):
            continue
        if not any(due <= t <= limit for t in later):
            yield Violation("callback", w.order, due,
                            f"callback due {_iso(due)} not dialled within "
                            f"{int(h.callback_within.total_seconds() // 60)} min")  # fmt: skip


def _ended_at(h: History) -> dict[str, datetime]:
    """When each order ended: its last written outcome when its end phase is done."""
    last: dict[str, datetime] = {}
    for w in h.written:
        if w.kind not in (OutcomeKind.NO_ANSWER, OutcomeKind.CALLBACK):
            last.setdefault(w.order, w.at)
    for order, at in h.skipped.items():  # left the queue: nothing is written
        last[order] = min(last.get(order, at), at)
    return last


def _open_throughout(start: datetime, stop: datetime, zones: tuple[str, ...],
                     window: CallingWindow) -> bool:  # fmt: skip
    at = start
    while at <= stop:
        if not window_open_at(at, zones, window):
            return False
        at += timedelta(minutes=1)
    return window_open_at(stop, zones, window)


def _final_no_answer(h: History) -> Iterator[Violation]:
    retry = h.settings.retry
    calls: dict[str, list[datetime]] = defaultdict(list)
    events = sorted(  # a call's result comes before the outcome written with it
        [(r.at, 0, r.order, r) for r in h.results if r.customer_attempt]
        + [(w.at, 1, w.order, w) for w in h.written],
        key=lambda e: (e[0], e[1]),
    )
    horizon: dict[str, date] = {}
    for _, kind, order, item in events:
        zone = h.zones.get(order, (h.settings.default_tz,))[0]
        if order not in horizon and order in h.created:
            horizon[order] = _local_day(h.created[order], zone)
        if kind == 0 and isinstance(item, Result):
            calls[order].append(item.started_at)
            continue
        if not isinstance(item, Written):
            continue
        if item.kind is OutcomeKind.CALLBACK and item.callback_at is not None:
            calls[order] = []
            horizon[order] = _local_day(item.callback_at, zone)
        elif item.kind is OutcomeKind.NO_ANSWER_FINAL:
            if _dense_day(calls[order], zone, retry.final_min_calls_per_day,
                          timedelta(hours=retry.final_span_hours)):  # fmt: skip
                continue
            start = horizon.get(order)
            last_day = retry.calling_days + retry.max_extra_days - 1
            if start is not None and (_local_day(item.at, zone) - start).days >= last_day:
                continue
            yield Violation("final-no-answer", order, item.at,
                            f"final no-answer after {len(calls[order])} calls and no day "
                            f"with {retry.final_min_calls_per_day} calls within "
                            f"{retry.final_span_hours:g} h")  # fmt: skip


def _dense_day(times: list[datetime], zone: str, need: int, span: timedelta) -> bool:
    if need <= 0:
        return True
    ordered = sorted(times)
    return any(
        ordered[i + need - 1] - ordered[i] <= span
        and _local_day(ordered[i], zone) == _local_day(ordered[i + need - 1], zone)
        for i in range(len(ordered) - need + 1)
    )


def _never_touch(h: History) -> Iterator[Violation]:
    max_age = timedelta(seconds=h.status_max_age_s)
    for dial in h.dials:
        changed = h.leaves_queue.get(dial.order)
        if changed is not None and dial.at >= changed + max_age:
            why = (f"attempt {dial.attempt} dialled after the CRM status changed at "
                   f"{_iso(changed)} (the re-check allows {h.status_max_age_s:g} s)")  # fmt: skip
            yield Violation("never-touch", dial.order, dial.at, why)


def _local_day(at: datetime, zone: str) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


def _iso(at: datetime) -> str:
    return iso_z(at)
