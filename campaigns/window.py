"""The calling window (business-rules §4): open in every candidate zone now, and when next.

A zone is open at instant ``t`` when, in its local time, the weekday is allowed, the date
is not a holiday and the wall-clock time is in ``[start, end)``. A set of zones is open
when every zone is. All instants are timezone-aware; results are UTC.

Nothing scans minute by minute. Within one zone the answer can only change where the
wall clock reaches ``start`` or ``end`` (once, twice in a repeated hour, or never in a
skipped hour) or where the UTC offset jumps (a DST or legal change) across one of them;
those instants are computed per local day. Across zones, the earliest common opening is
found by moving to the latest of the zones' next openings until all agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache

import pytz

from campaigns.settings import CallingWindow

DEFAULT_HORIZON = timedelta(days=30)
_DAY = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Zone = pytz.BaseTzInfo


def window_open(at: datetime, zones: Sequence[str], window: CallingWindow) -> bool:
    """True when the window is open at ``at`` in every zone of ``zones``."""
    instant = _utc(at, zones)
    for name in zones:  # noqa: SIM110 - all(<generator>) costs more; asked for every dial
        if not _open_in(instant, zone(name), window):
            return False
    return True


def next_window_open(
    at: datetime,
    zones: Sequence[str],
    window: CallingWindow,
    horizon: timedelta = DEFAULT_HORIZON,
) -> datetime | None:
    """The earliest instant ``>= at`` when the window is open in every zone (``at``
    itself when open now); None when there is none before ``at + horizon``."""
    instant = _utc(at, zones)
    if window_open(instant, zones, window):  # the common answer, before any search
        return instant
    limit = instant + horizon
    tzs = [zone(name) for name in zones]
    if len(tzs) == 1:
        return _next_open_in(instant, tzs[0], window, limit)
    while True:
        latest = instant
        for tz in tzs:
            opening = _next_open_in(instant, tz, window, limit)
            if opening is None:
                return None
            latest = max(latest, opening)
        if latest == instant:
            return instant
        instant = latest


def window_close(at: datetime, zones: Sequence[str], window: CallingWindow) -> datetime:
    """When the open interval around ``at`` ends (the first zone to close); ``at`` itself
    when the window is not open at ``at``."""
    instant = _utc(at, zones)
    tzs = [zone(name) for name in zones]
    if not all(_open_in(instant, tz, window) for tz in tzs):
        return instant
    return min(_close_in(instant, tz, window) for tz in tzs)


def _utc(at: datetime, zones: Sequence[str]) -> datetime:
    tz = at.tzinfo
    if tz is not UTC and tz is not pytz.utc and (tz is None or at.utcoffset() is None):
        raise ValueError(f"instant must be timezone-aware: {at!r}")
    if not zones:
        raise ValueError("at least one time zone is needed")
    if tz is UTC:
        return at
    if tz is pytz.utc:  # what parse_utc gives: the same instant, no conversion needed
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)


@lru_cache(maxsize=1024)
def zone(name: str) -> Zone:
    """The pytz zone for an IANA name, cached: the simulator asks millions of times."""
    return pytz.timezone(name)


def local_wall(at: datetime, name: str) -> datetime:
    """The naive wall-clock time of the aware instant ``at`` in zone ``name``."""
    return _local(_utc(at, (name,)), zone(name)).replace(tzinfo=None)


def local_date(at: datetime, name: str) -> date:
    """The calendar date of the aware instant ``at`` in zone ``name``."""
    return _local(_utc(at, (name,)), zone(name)).date()


def local_isoformat(at: datetime, name: str) -> str:
    """``at.astimezone(zone(name)).isoformat()``, the same text, without pytz's ``fromutc``
    past the zone's last transition (the simulator prints it for every dial)."""
    instant = _utc(at, (name,))
    tz = zone(name)
    steady = _steady_offset(tz)
    if steady is None or instant < steady[0]:
        return instant.astimezone(tz).isoformat()
    shifted = instant + steady[1]  # the wall clock, still labelled UTC ("+00:00" at the end)
    return shifted.isoformat()[:-6] + _offset_text(steady[1])


@lru_cache(maxsize=256)
def _offset_text(offset: timedelta) -> str:
    """``+HH:MM`` (``:SS`` when it has seconds) as ``datetime.isoformat`` writes an offset."""
    return datetime(2000, 1, 1, tzinfo=timezone(offset)).isoformat()[19:]


def _local(instant: datetime, tz: Zone) -> datetime:
    """A datetime whose fields are the wall clock of ``instant`` in ``tz``; only the fields
    are meant. Past a zone's last listed transition (Russia's 2014 change, Kazakhstan's
    2024 one) its offset cannot change, so it is ``instant`` shifted by that offset, still
    labelled UTC: much cheaper than pytz's ``fromutc`` and than dropping the zone (a
    ``replace`` costs ~1 µs); earlier instants and DST zones go through pytz."""
    steady = _steady_offset(tz)
    if steady is not None and instant >= steady[0]:
        return instant + steady[1]
    return instant.astimezone(tz)


@lru_cache(maxsize=1024)
def _steady_offset(tz: Zone) -> tuple[datetime, timedelta] | None:
    """(UTC instant from which the offset never changes, that offset) for ``tz``."""
    transitions = getattr(tz, "_utc_transition_times", None)
    if transitions:  # pytz DstTzInfo: the last listed transition's offset holds for ever
        last = transitions[-1].replace(tzinfo=UTC)
        return last, tz._transition_info[-1][0]  # type: ignore[attr-defined]
    offset = tz.utcoffset(None)  # StaticTzInfo and UTC: one offset
    return (datetime.min.replace(tzinfo=UTC), offset) if offset is not None else None


def _open_in(instant: datetime, tz: Zone, window: CallingWindow) -> bool:
    local = _local(instant, tz)
    if local.weekday() not in window.weekdays:
        return False
    if window.holidays and local.date() in window.holidays:
        return False
    return window.start <= local.time() < window.end


def _next_open_in(
    instant: datetime, tz: Zone, window: CallingWindow, limit: datetime
) -> datetime | None:
    if _open_in(instant, tz, window):
        return instant
    day = _local(instant, tz).date()
    last_day = _local(limit, tz).date()
    while day <= last_day:
        if day.weekday() in window.weekdays and day not in window.holidays:
            for edge in _edges(day, tz, window.start, window.end):
                if instant < edge <= limit and _open_in(edge, tz, window):
                    return edge
        day += _DAY
    return None


def _close_in(instant: datetime, tz: Zone, window: CallingWindow) -> datetime:
    day = _local(instant, tz).date()
    for offset in range(2):
        for edge in _edges(day + offset * _DAY, tz, window.start, window.end):
            if edge > instant and not _open_in(edge, tz, window):
                return edge
    raise AssertionError("an open window always closes at its end the same local day")


@lru_cache(maxsize=8192)
def _edges(day: date, tz: Zone, start: time, end: time) -> tuple[datetime, ...]:
    """UTC instants of ``day`` where the window may open or close in ``tz``: the wall
    clock reaching start or end, and the offset jump when one of them is skipped or
    repeated. A pure function of its arguments, cached because simulations ask for the
    same days of the same zones very often."""
    edges: list[datetime] = []
    for wall in (start, end):
        local = datetime.combine(day, wall)  # wall-clock time in ``tz``
        instants, jump = _instants(local, tz)
        edges.extend(instants)
        if jump is not None:
            edges.append(jump)
    return tuple(sorted(edges))


def _instants(local: datetime, tz: Zone) -> tuple[list[datetime], datetime | None]:
    """The UTC instants showing wall time ``local`` in ``tz`` (none when it is skipped,
    two when repeated) and, in those two cases, the instant the offset jumps."""
    later = tz.localize(local, is_dst=False)
    earlier = tz.localize(local, is_dst=True)
    if later.utcoffset() == earlier.utcoffset():
        return [later.astimezone(UTC)], None
    shown = [
        candidate.astimezone(UTC)
        for candidate in (earlier, later)
        if candidate.astimezone(tz).replace(tzinfo=None) == local
    ]
    bounds = sorted(candidate.astimezone(UTC) for candidate in (earlier, later))
    return shown, _offset_jump(bounds[0], bounds[1], tz)


def _offset_jump(low: datetime, high: datetime, tz: Zone) -> datetime:
    """The first whole second in ``(low, high]`` whose UTC offset differs from ``low``'s."""
    before = low.astimezone(tz).utcoffset()
    lo = int((low - _EPOCH).total_seconds())
    hi = int((high - _EPOCH).total_seconds()) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (_EPOCH + timedelta(seconds=mid)).astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return _EPOCH + timedelta(seconds=hi)
