"""The supervisors' reports (issue 19): reads a range's history, computes the report with
``campaigns.reports`` and writes who viewed it to the audit log (action ``view_report``).

Errors::

    ReportRangeError(ValueError)   the range is inverted or longer than 366 days; ``field``
                                   names the parameter at fault ("from" or "to")
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from campaigns.reports import MAX_DAYS, Report, ReportRange, build
from dialer.app.supervision import Actor
from dialer.storage.audit import AuditEntry, SqlAuditLog
from dialer.storage.reports import SqlReportReads


class ReportRangeError(ValueError):
    """A report range the dialer refuses; ``field`` names the parameter."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def report_range(first: date, last: date, zone: str) -> ReportRange:
    """The range ``first..last`` (local days of ``zone``), else ReportRangeError."""
    if first > last:
        raise ReportRangeError("from: must not be after to", "from")
    if (last - first).days + 1 > MAX_DAYS:
        raise ReportRangeError(f"to: the range is longer than {MAX_DAYS} days", "to")
    return ReportRange(first, last, zone)


class Reports:
    """Reports over one database; ``zone`` is the reporting zone (the campaign's default)."""

    def __init__(
        self, reads: SqlReportReads, audit: SqlAuditLog, clock: Callable[[], datetime],
        zone: str,
    ) -> None:  # fmt: skip
        self._reads, self._audit, self._clock, self.zone = reads, audit, clock, zone

    def report(
        self, span: ReportRange, *, campaign: str | None = None, agent: str | None = None,
        viewer: Actor | None = None,
    ) -> Report:  # fmt: skip
        """The report; when ``viewer`` is given, an audit row says who saw which range."""
        now = self._clock()
        history = self._reads.history(span, campaign=campaign, agent=agent)
        report = build(history, span, now)
        if viewer is not None:
            self._audit.write(AuditEntry(
                at=now, actor=viewer.name[:200], actor_kind=viewer.kind, action="view_report",
                result="accepted", agent_id=agent, detail=_detail(span, campaign),
            ))  # fmt: skip
        return report

    def agents(self, campaign: str | None = None) -> list[str]:
        return self._reads.agents(campaign)


def _detail(span: ReportRange, campaign: str | None) -> str:
    where = f" campaign={campaign}" if campaign is not None else ""
    return f"{span.first.isoformat()}..{span.last.isoformat()}{where}"
