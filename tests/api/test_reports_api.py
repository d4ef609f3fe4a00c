"""GET /api/v1/reports (issue 19): the range validated with errors naming the field, only
SUPERVISE callers (ops tokens, signed-in supervisors), CSV for Russian Excel and XLSX
written with the standard library, both guarded against formula injection, each view
audited as view_report."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from agent_web import OWN, PASSWORD
from agent_web import Browser as AgentBrowser
from api_harness import Dialer, Response
from test_supervisor_web import SUPERVISOR_PASSWORD, Site

from dialer.app.report_files import csv_bytes, safe_text, xlsx_bytes
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.audit import SqlAuditLog
from dialer.storage.supervisors import SqlSupervisors

DAY = "2026-03-10"  # NOW is 12:00 in Moscow, the campaign's zone
QUERY = {"from": DAY, "to": DAY}


def report(dialer: Dialer, role: str = "ops", **query: str) -> Response:
    return dialer.call("GET", "/api/v1/reports", role=role, query={**QUERY, **query})


def refused(reply: Response, field: str) -> str:
    assert reply.status == 400, reply.body
    assert reply.json["field"] == field, reply.json
    return str(reply.json["error"])


def a_day_of_calls(dialer: Dialer) -> None:
    """НФ-00123 answered by an agent (talk 60 s), НФ-00124 left ringing out."""
    dialer.admit("НФ-00123")
    dialer.answer("НФ-00123")
    dialer.admit("НФ-00124", phone="+79165830422")


def test_the_json_report_counts_the_days_calls(dialer: Dialer) -> None:
    a_day_of_calls(dialer)
    reply = report(dialer)
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.json
    assert (body["from"], body["to"], body["zone"]) == (DAY, DAY, "Europe/Moscow")
    assert body["totals"]["calls"] == 1 and body["totals"]["answered"] == 1
    assert body["calls_by_day"] == [{"day": DAY, "results": {"answered": 1}}]
    assert body["calls_by_hour"][12]["results"] == {"answered": 1}
    assert body["speed_to_lead"]["orders"] == 2 and body["speed_to_lead"]["dialled"] == 1
    assert body["agent_ids"] == ["1001", "1002"]
    assert [a["agent"] for a in body["agents"] if a["calls"]] == ["1001"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": ""}, "from"),
        ({"to": "10.03.2026"}, "to"),
        ({"from": "2026-02-30"}, "from"),
        ({"from": "20260310"}, "from"),
        ({"from": "2026-03-11", "to": "2026-03-10"}, "from"),
        ({"from": "2025-03-09", "to": "2026-03-10"}, "to"),  # 367 days
        ({"format": "pdf"}, "format"),
        ({"agent": "оператор 1"}, "agent"),
        ({"campaign": "x" * 101}, "campaign"),
    ],
)
def test_a_bad_parameter_is_400_naming_it(
    dialer: Dialer, query: dict[str, str], field: str
) -> None:
    refused(report(dialer, **query), field)
    assert SqlAuditLog(dialer.engine).entries() == []  # a refused view is no view


def test_from_and_to_are_required(dialer: Dialer) -> None:
    assert "required" in refused(dialer.call("GET", "/api/v1/reports", query={"to": DAY}), "from")
    assert "required" in refused(dialer.call("GET", "/api/v1/reports", query={"from": DAY}), "to")


def test_a_range_of_366_days_is_served(dialer: Dialer) -> None:
    assert report(dialer, **{"from": "2025-03-10"}).status == 200


@pytest.mark.parametrize("role", ["viewer", "crm"])
def test_viewer_and_crm_tokens_get_403(dialer: Dialer, role: str) -> None:
    reply = report(dialer, role=role)
    assert reply.status == 403 and reply.json["error"]
    assert report(dialer, role=role, format="csv").status == 403


def test_an_agents_session_gets_403(dialer: Dialer) -> None:
    dialer.agent_auth.set_password("1001", PASSWORD)
    agent = AgentBrowser(dialer)
    assert agent.login("1001", PASSWORD).status == 200
    site = Site(dialer)
    reply = site.send("GET", f"/api/v1/reports?from={DAY}&to={DAY}",
                      Cookie=f"cbd_agent={agent.cookie}", Origin=OWN)  # fmt: skip
    assert reply.status == 403 and reply.json()["field"] == "cbd_agent"


def test_a_signed_in_supervisor_sees_the_report_and_the_view_is_audited(dialer: Dialer) -> None:
    SqlSupervisors(dialer.engine).add("anna", dialer.now, name="Анна", extension="201")
    site = Site(dialer)
    site.parts.auth.set_password("anna", SUPERVISOR_PASSWORD)
    assert site.login().status == 200
    reply = site.send("GET", f"/api/v1/reports?from=2026-03-01&to={DAY}&campaign=shop")
    assert reply.status == 200, reply.body
    [view] = [e for e in SqlAuditLog(dialer.engine).entries() if e.action == "view_report"]
    assert (view.actor, view.actor_kind, view.result) == ("anna", "supervisor", "accepted")
    assert view.detail == f"2026-03-01..{DAY} campaign=shop"


def test_a_token_view_is_audited_with_the_agent_asked_for(dialer: Dialer) -> None:
    report(dialer, agent="1001", format="csv")
    [view] = SqlAuditLog(dialer.engine).entries()
    assert (view.actor, view.actor_kind, view.action, view.agent_id) == (
        "ops", "token", "view_report", "1001")  # fmt: skip


def test_the_csv_has_a_bom_semicolons_and_russian_headers(dialer: Dialer) -> None:
    a_day_of_calls(dialer)
    reply = report(dialer, format="csv")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(reply.body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Итоги"]
    assert ["Дозвонов", "1"] in rows
    assert ["День", "Дозвон", "Не отвечает", "Занято", "Перегрузка", "Невалидный номер",
            "Оператор не принял", "Сбой", "Идёт"] in rows  # fmt: skip
    assert [DAY, "1", "0", "0", "0", "0", "0", "0", "0"] in rows


def xlsx_sheets(body: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        assert book.testzip() is None
        workbook = book.read("xl/workbook.xml").decode()
        names = re.findall(r'<sheet name="([^"]+)" sheetId="(\d+)"', workbook)
        return {name: book.read(f"xl/worksheets/sheet{n}.xml").decode() for name, n in names}


def test_the_xlsx_is_a_workbook_with_one_sheet_per_table(dialer: Dialer) -> None:
    a_day_of_calls(dialer)
    reply = report(dialer, format="xlsx")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheets = xlsx_sheets(reply.body)
    assert list(sheets) == ["Итоги", "По дням", "По часам", "Операторы"]
    days = sheets["По дням"]
    assert '<c r="A2" t="inlineStr"><is><t xml:space="preserve">2026-03-10</t></is></c>' in days
    assert '<c r="B2"><v>1</v></c>' in days  # one answered call, as a number
    assert '<t xml:space="preserve">1001</t>' in sheets["Операторы"]


def test_cells_starting_like_a_formula_are_written_as_text(dialer: Dialer) -> None:
    """Formula injection: an agent id may start with "-" (``-2``); Excel must show it, not
    compute it. Numbers stay numbers."""
    registry = SqlAgentRegistry(dialer.engine)
    registry.configure("shop", ["-2"], dialer.now)
    registry.login("-2", dialer.now - timedelta(hours=1))
    rows = list(csv.reader(io.StringIO(report(dialer, format="csv").body.decode("utf-8-sig")),
                           delimiter=";"))  # fmt: skip
    [agent] = [row for row in rows if row and row[0].endswith("-2")]
    assert agent[:2] == ["'-2", "0"]
    sheet = xlsx_sheets(report(dialer, format="xlsx").body)["Операторы"]
    assert '<t xml:space="preserve">\'-2</t>' in sheet
    assert '<t xml:space="preserve">-2</t>' not in sheet
    for text in ("=1+2", "+1", "-1", "@SUM(A1)", "\t=1"):
        assert safe_text(text) == "'" + text
    assert safe_text("Иван") == "Иван"
    table = [("Лист", [["=cmd|'/c calc'!A1"], [-5]])]
    assert csv_bytes(table).decode("utf-8-sig").splitlines()[1:] == ["'=cmd|'/c calc'!A1", "-5"]
    assert "<v>-5</v>" in xlsx_sheets(xlsx_bytes(table))["Лист"]


def test_the_openapi_document_lists_the_report_route(dialer: Dialer) -> None:
    paths = dialer.call("GET", "/api/v1/openapi.json").json["paths"]
    assert "/api/v1/reports" in paths and "get" in paths["/api/v1/reports"]
