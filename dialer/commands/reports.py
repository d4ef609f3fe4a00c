"""`callback-dialer reports`: the supervisors' report (issue 19) for local days FROM..TO,
printed or written as JSON, CSV (UTF-8 with BOM, ';') or XLSX, the same as
``GET /api/v1/reports``. Each run is written to the audit log as ``view_report`` by
``cli:<user>``.

The days are local to ``--timezone``; by default the campaign's ``default_tz`` as the running
service stored it (``--campaign``), else Europe/Moscow.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.report_tables import as_json, tables
from campaigns.settings import CampaignSettings
from dialer.app.report_files import csv_bytes, xlsx_bytes
from dialer.app.reports import ReportRangeError, Reports, report_range
from dialer.app.supervision import Actor
from dialer.cli import UsageError
from dialer.commands.db import database, storage_command
from dialer.storage.audit import SqlAuditLog
from dialer.storage.campaigns import SqlCampaignStore
from dialer.storage.engine import Database
from dialer.storage.reports import SqlReportReads

FORMATS = ("text", "json", "csv", "xlsx")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "reports",
        help="print or save the supervisors' report for local days FROM..TO",
        description="Calls per day and hour by result, contact rate, confirmed share, dials "
        "per confirmed order, speed to lead, per agent talk, wrap-up, pause, occupancy and "
        "missed accepts (docs/supervisors.md, «Отчёты»). At most 366 days.",
    )
    parser.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD")
    parser.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD")
    parser.add_argument("--campaign", help="only this campaign's orders and agents")
    parser.add_argument("--agent", help="only this agent's calls and states")
    parser.add_argument("--timezone", help="zone of the days (default: the campaign's)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    parser.set_defaults(func=run_reports)


@storage_command
def run_reports(args: argparse.Namespace) -> int:
    if args.format == "xlsx" and args.out is None:
        raise UsageError("--out: an XLSX workbook needs a file (--out report.xlsx)")
    engine = database(args)
    zone = args.timezone or _campaign_zone(engine, args.campaign)
    try:
        ZoneInfo(zone)
        span = report_range(_day(args.first, "--from"), _day(args.last, "--to"), zone)
    except ReportRangeError as exc:
        raise UsageError(f"--{exc.field}: {exc}") from exc
    except (ValueError, KeyError):
        raise UsageError(f"--timezone: unknown time zone {zone!r}") from None
    reports = Reports(SqlReportReads(engine), SqlAuditLog(engine), lambda: datetime.now(UTC), zone)
    viewer = Actor(f"cli:{getpass.getuser()}", "token")
    report = reports.report(span, campaign=args.campaign, agent=args.agent, viewer=viewer)
    _emit(args, _render(args.format, report))
    return 0


def _render(fmt: str, report: Any) -> bytes:
    if fmt == "csv":
        return csv_bytes(tables(report))
    if fmt == "xlsx":
        return xlsx_bytes(tables(report))
    if fmt == "json":
        return (json.dumps(as_json(report), ensure_ascii=False, indent=1) + "\n").encode()
    lines = []
    for title, rows in tables(report):
        lines.append(f"== {title}")
        lines += ["\t".join("" if c is None else str(c) for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _emit(args: argparse.Namespace, data: bytes) -> None:
    if args.out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        args.out.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"--out: cannot write {args.out}: {exc.strerror}") from None
    print(f"report written to {args.out}", file=sys.stderr)


def _day(text: str, option: str) -> date:
    try:
        if len(text) != len("YYYY-MM-DD"):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: expected a date YYYY-MM-DD, got {text!r}") from None


def _campaign_zone(engine: Database, campaign: str | None) -> str:
    default = CampaignSettings().default_tz
    record = None if campaign is None else SqlCampaignStore(engine).get(campaign)
    if record is None:
        return default
    try:
        zone = json.loads(record.settings_json or "{}").get("default_tz")
    except ValueError:
        return default
    return zone if isinstance(zone, str) and zone else default
