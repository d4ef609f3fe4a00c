"""Issue 19 reports in headless Chromium against the real service and Asterisk: a supervisor
made by the CLI signs in, a real call is answered by the customer double, and the «Отчёты»
panel draws it: SVG bars per day and per hour from that attempt, the speed-to-lead bars, the
agent's row with a talk time measured from the stored answer instant, and the CSV link."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from asterisk_fixtures import AsteriskInstance
from chromium import Browser
from service_harness import DialerDb, ServiceProcess, ShopDb, ShopOrder, cli, wait_for, write_config
from sqlalchemy import create_engine, select
from test_dashboard_browser import LONG_CALL, browser, page_text

from dialer.storage.models import AttemptRow

pytestmark = pytest.mark.asterisk
__all__ = ["browser"]  # the Chromium fixture, shared with the dashboard's own test
PASSWORD = "наблюдатель-1"  # noqa: S105 - a test password


def bars(browser: Browser, chart: str) -> list[tuple[str, int]]:
    """(result, count) of every bar of the SVG chart in ``#chart`` (each drawn, height > 0)."""
    found = browser.script(
        "return [...document.querySelectorAll(`#${arguments[0]} svg rect[data-result]`)]"
        ".map((r) => [r.dataset.result, Number(r.dataset.count),"
        " Number(r.getAttribute('height'))]);",
        chart,
    )
    assert all(height > 0 for _, _, height in found), found
    return [(result, count) for result, count, _ in found]


def answered_attempt(url: str) -> tuple[datetime, datetime]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(AttemptRow.answered_at, AttemptRow.ended_at).where(
                    AttemptRow.result == "answered"
                )
            ).one()
        return row.answered_at, row.ended_at
    finally:
        engine.dispose()


def test_the_report_panel_draws_bars_from_real_attempts(
    asterisk: AsteriskInstance, browser: Browser, tmp_path: Path
) -> None:
    shop, dialer = ShopDb(tmp_path / "shop.db"), DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, shop, campaign={"agents": ["1001"]})
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        service.wait_log(r"started; healthz")
        base = service.base_url()
        cli(dialer.url, "supervisors", "add", "anna", "--name", "Анна", "--extension", "9008")
        cli(dialer.url, "supervisors", "password", "anna", "--stdin", stdin=PASSWORD + "\n")

        shop.seed([ShopOrder("НФ-7001", LONG_CALL, "Татьяна", "Перуанская мака")],
                  datetime.now(UTC))  # fmt: skip
        wait_for(lambda: any(a.result == "answered" for a in dialer.attempts("НФ-7001")),
                 60, service)  # fmt: skip
        answered_at, ended_at = answered_attempt(dialer.url)
        assert answered_at is not None and ended_at > answered_at  # talk time is measurable

        browser.get(base + "/")
        wait_for(lambda: browser.script("return !document.getElementById('login').hidden;"), 20)
        browser.type("#login-name", "anna")
        browser.type("#login-password", PASSWORD)
        browser.click("#login-button")
        wait_for(lambda: page_text(browser, "campaign-state") == "идёт обзвон", 20, service)

        today = datetime.now(ZoneInfo("Europe/Moscow")).date()  # the campaign's zone
        browser.script(
            "document.getElementById('report-from').value = arguments[0];"
            "document.getElementById('report-to').value = arguments[1];"
            "document.getElementById('report-show').click();",
            (today - timedelta(days=1)).isoformat(), today.isoformat(),
        )  # fmt: skip
        wait_for(lambda: bars(browser, "report-days"), 20, service)
        assert bars(browser, "report-days") == [("answered", 1)]
        assert bars(browser, "report-hours") == [("answered", 1)]
        assert browser.script(
            "return document.querySelectorAll('#report-days svg rect').length;") == 1  # fmt: skip
        speed = browser.script("return [...document.querySelectorAll('#report-speed rect')]"
                               ".map((r) => Number(r.dataset.seconds));")  # fmt: skip
        assert len(speed) == 2 and all(s >= 0 for s in speed)
        assert "Дозвонов1" in page_text(browser, "report-totals").replace(" ", "")
        agents = browser.script(
            "return [...document.querySelectorAll('#report-agents tr')]"
            ".map((tr) => [...tr.cells].map((c) => c.textContent));")  # fmt: skip
        [row] = [r for r in agents if r[0] == "1001"]
        assert row[1:3] == ["1", "1"]
        talk_s = round((ended_at - answered_at).total_seconds())
        assert talk_s > 0 and row[4] != "0 с", row  # talk time from answered_at, not 0
        browser.screenshot(tmp_path / "dashboard-reports.png")

        csv_link = str(browser.script("return document.getElementById('report-csv').href;"))
        assert csv_link.startswith(base + "/api/v1/reports?") and "format=csv" in csv_link
        request = urllib.request.Request(csv_link)  # noqa: S310 - loopback; no session: 401
        try:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
            status = 200
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status == 401
        audit = cli(dialer.url, "audit", "--json")
        assert '"view_report"' in audit and '"anna"' in audit
        assert service.stop() == 0
    finally:
        service.ensure_gone()
