"""`callback-dialer reports` (issue 19): the report of local days FROM..TO as text, JSON,
CSV or XLSX (``--out``), the range checked with errors naming the option, each run audited."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_run import run
from sqlalchemy import insert

from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.audit import SqlAuditLog
from dialer.storage.migrate import open_database
from dialer.storage.models import AttemptRow, OrderRow

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 in Moscow


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = open_database(url)
    SqlAgentRegistry(engine).configure("shop", ["101"], T0)
    with engine.begin() as c:
        c.execute(
            insert(OrderRow).values(
                id="НФ-00123",
                campaign="shop",
                phone_raw="+79161234567",
                e164="+79161234567",
                name="Иван",
                product="Мака",
                created_at=T0 - timedelta(minutes=3),
                crm_status="new",
                crm_state="new",
                updated_at=T0,
                phase="done",
            )
        )
        c.execute(insert(AttemptRow).values(
            id="a-1", order_id="НФ-00123", e164="+79161234567", agent="101", started_at=T0,
            answered_at=T0 + timedelta(seconds=15), ended_at=T0 + timedelta(seconds=75),
            result="answered", customer_attempt=True))  # fmt: skip
    engine.dispose()
    return url


def test_json_report_of_a_day(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(capsys, "--db", url, "reports", "--from", "2026-03-10", "--to",
                       "2026-03-10", "--format", "json")  # fmt: skip
    assert code == 0
    body = json.loads(out)
    assert body["totals"]["answered"] == 1
    assert body["speed_to_lead"]["p50_s"] == 180
    assert body["agents"][0]["agent"] == "101" and body["agents"][0]["talk_s"] == 60
    [view] = SqlAuditLog(open_database(url)).entries()
    assert view.action == "view_report" and view.actor.startswith("cli:")
    assert view.detail == "2026-03-10..2026-03-10"


def test_csv_and_xlsx_are_written_to_the_file(
    capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path
) -> None:
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"report.{fmt}"
        code, _, err = run(capsys, "--db", url, "reports", "--from", "2026-03-01", "--to",
                           "2026-03-31", "--format", fmt, "--out", str(out))  # fmt: skip
        assert code == 0 and str(out) in err
    assert (tmp_path / "report.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with zipfile.ZipFile(tmp_path / "report.xlsx") as book:
        assert "2026-03-10" in book.read("xl/worksheets/sheet2.xml").decode()


def test_text_report_lists_the_tables(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, out, _ = run(capsys, "--db", url, "reports", "--from", "2026-03-10", "--to",
                       "2026-03-10")  # fmt: skip
    assert code == 0
    assert "== Итоги" in out and "== Операторы" in out and "Дозвонов\t1" in out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--from", "2026-03-11", "--to", "2026-03-10"), "--from"),
        (("--from", "2025-01-01", "--to", "2026-03-10"), "--to"),
        (("--from", "10.03.2026", "--to", "2026-03-10"), "--from"),
        (("--from", "2026-03-10", "--to", "2026-03-10", "--timezone", "Марс/Олимп"),
         "--timezone"),
        (("--from", "2026-03-10", "--to", "2026-03-10", "--format", "xlsx"), "--out"),
    ],
)  # fmt: skip
def test_a_bad_option_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], url: str, args: tuple[str, ...], named: str
) -> None:
    code, _, err = run(capsys, "--db", url, "reports", *args)
    assert code == 2 and named in err, err
    assert SqlAuditLog(open_database(url)).entries() == []
