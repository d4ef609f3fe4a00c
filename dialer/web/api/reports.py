"""/api/v1/reports (issue 19): the supervisors' report for a range of local days, as JSON,
CSV or XLSX. SUPERVISE only: ops tokens and signed-in supervisors; viewer and CRM tokens get
403, agents' sessions are no API callers. Each view is written to the audit log."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from campaigns.report_tables import as_json, tables
from dialer.app.report_files import CSV_TYPE, XLSX_TYPE, csv_bytes, xlsx_bytes
from dialer.app.reports import ReportRangeError, Reports, report_range
from dialer.app.supervision import Actor
from dialer.storage.agents import checked_agent_id
from dialer.storage.errors import InvalidValueError
from dialer.web.api.errors import ApiError
from dialer.web.api.router import SUPERVISE, ApiRequest, Reply, Router

FORMATS = ("json", "csv", "xlsx")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_NAME = 100


class ReportsApi:
    router = Router()

    def __init__(self, reports: Reports) -> None:
        self._reports = reports

    @router.route(
        "GET",
        "/reports",
        SUPERVISE,
        "The supervisors' report for local days from..to (the campaign's zone, at most 366 "
        "days): calls per day and hour by result, outcomes per day, contact rate, confirmed "
        "share, dials per confirmed order, speed to lead p50/p95, per agent talk, wrap-up, "
        "pause, occupancy and missed accepts (docs/supervisors.md «Отчёты»). Written to the "
        "audit log as view_report",
        query=(
            ("from", "YYYY-MM-DD, first local day (required)"),
            ("to", "YYYY-MM-DD, last local day, inclusive (required)"),
            ("campaign", "only this campaign's orders and agents"),
            ("agent", "only this agent's calls and states"),
            ("format", "json (default), csv (UTF-8 with BOM, ';') or xlsx"),
        ),
        responses={"400": "a parameter is missing or wrong; the field is named"},
    )
    def report(self, request: ApiRequest) -> Reply:
        q = request.query
        fmt = q.get("format", "json")
        if fmt not in FORMATS:
            raise ApiError(400, f"format: one of {', '.join(FORMATS)}", "format")
        first, last = _day(q, "from"), _day(q, "to")
        try:
            span = report_range(first, last, self._reports.zone)
        except ReportRangeError as exc:
            raise ApiError(400, str(exc), exc.field) from None
        campaign, agent = _name(q, "campaign"), _agent(q)
        caller = request.caller
        report = self._reports.report(span, campaign=campaign, agent=agent,
                                      viewer=Actor(caller.name, caller.kind))  # fmt: skip
        if fmt == "csv":
            return Reply(csv_bytes(tables(report)), content_type=CSV_TYPE)
        if fmt == "xlsx":
            return Reply(xlsx_bytes(tables(report)), content_type=XLSX_TYPE)
        body = as_json(report)
        body["agent_ids"] = self._reports.agents(campaign)
        return Reply(body)


def _day(query: Mapping[str, str], name: str) -> date:
    value = query.get(name)
    if value is None or value == "":
        raise ApiError(400, f"{name}: required, a date YYYY-MM-DD", name)
    try:
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"{name}: expected a date YYYY-MM-DD, got {value!r}", name) from None


def _name(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    if len(value) > MAX_NAME or not value.isprintable():
        raise ApiError(400, f"{name}: at most {MAX_NAME} printable characters", name)
    return value


def _agent(query: Mapping[str, str]) -> str | None:
    value = _name(query, "agent")
    if value is None:
        return None
    try:
        return checked_agent_id(value)
    except InvalidValueError as exc:
        raise ApiError(400, f"agent: {exc}", "agent") from None
