"""/api/v1/stats and /api/v1/outcomes.csv: a day's counts and the outcomes export."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialer.app.operations import Operations
from dialer.storage.views import OrderViews
from dialer.web.api import fields
from dialer.web.api.errors import ApiError
from dialer.web.api.router import READ, ApiRequest, Reply, Router

_MAX_DAYS = 366


class StatsApi:
    """Reports over the campaign's attempts and outcomes, by the campaign's local dates."""

    router = Router()

    def __init__(self, ops: Operations, views: OrderViews) -> None:
        self._ops = ops
        self._views = views

    @router.route(
        "GET",
        "/stats",
        READ,
        "Calls by result, local hour and agent, and outcomes by kind, for one day",
        query=(("date", "YYYY-MM-DD in the campaign's default_tz; default today"),),
    )
    def day(self, request: ApiRequest) -> Reply:
        zone = self._ops.settings.default_tz
        today = self._ops.now().astimezone(ZoneInfo(zone)).date()
        return Reply(self._views.day_stats(fields.day(request.query, "date", today), zone))

    @router.route(
        "GET",
        "/outcomes.csv",
        READ,
        "Outcomes from one date to another (inclusive) as CSV",
        query=(("from", "YYYY-MM-DD, default today"), ("to", "YYYY-MM-DD, default = from")),
    )
    def export(self, request: ApiRequest) -> Reply:
        tz = ZoneInfo(self._ops.settings.default_tz)
        today = self._ops.now().astimezone(tz).date()
        first = fields.day(request.query, "from", today)
        last = fields.day(request.query, "to", first)
        if last < first or (last - first).days >= _MAX_DAYS:
            raise ApiError(400, f"to: on or after from, at most {_MAX_DAYS} days", "to")
        start = datetime.combine(first, time(0), tz)
        end = datetime.combine(last + timedelta(days=1), time(0), tz)
        text = self._views.outcomes_csv(start, end)
        return Reply(text.encode("utf-8"), content_type="text/csv; charset=utf-8")
