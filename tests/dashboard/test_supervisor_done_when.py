"""Issue 19's «Done when» as one flow in headless Chromium against the real service and
Asterisk. A supervisor made by the CLI signs in and, on the dashboard:
- while the one agent talks to a customer (a real call), asks «Почему не звоним?» for an
  order queued behind that call (no free agent), then listens to the call (Слушать): Asterisk
  shows the ChanSpy channel on that call's agent leg;
- pauses the campaign and asks about another order (held: the campaign is paused);
- after the call ends, asks about it (finished: confirmed), opens its history in «Записи
  разговоров» and plays its recording (the ``<audio>`` loads MixMonitor's file);
- opens a report (SVG bars drawn).
Then the audit log, read through the API (an ops token), has each action (listen,
play_recording, view_report, why ×3); and every route used refuses an agent's session and a
viewer token with 403, and a refusal writes nothing. The why part goes through the page's
why panel (why.js). Helpers come from each part's dashboard test (imported, not copied)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from asterisk_fixtures import AsteriskInstance
from chromium import Browser
from service_harness import DialerDb, ServiceProcess, ShopDb, ShopOrder, cli, wait_for, write_config
from test_dashboard_browser import LONG_CALL, NO_ANSWER, browser, create_token, page_text
from test_recordings_browser import add_supervisor, play_from_history, recordings_dir, sign_in
from test_reports_browser import bars
from test_supervise_browser import AGENT_PASSWORD, agent_cookie, listened, spy_on

pytestmark = pytest.mark.asterisk
__all__ = ["browser"]  # the Chromium fixture, shared with the dashboard's own test
TALKING, QUEUED, HELD = "НФ-7001", "НФ-7002", "НФ-7003"  # a CRM's ids in Cyrillic


def status(url: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> int:
    """The HTTP status of a GET (a POST with ``body``) to ``url``."""
    data = None if body is None else json.dumps(body).encode()
    method = "GET" if body is None else "POST"
    request = urllib.request.Request(  # noqa: S310 - loopback
        url, data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def audit_actions(base: str, token: str) -> list[tuple[str, str, str | None]]:
    """(action, actor, order) of each accepted use in ``GET /api/v1/audit``, oldest first:
    no sign-in or sign-out, no Слушать refused before the agent answered."""
    request = urllib.request.Request(f"{base}/api/v1/audit",  # noqa: S310 - loopback
                                     headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        entries = json.load(answer)["entries"]
    used = [e for e in reversed(entries) if e["action"] not in {"sign_in", "sign_out"}]
    return [(e["action"], e["actor"], e["order_id"]) for e in used if e["result"] == "accepted"]


def admitted(dialer: DialerDb, order_id: str) -> bool:
    try:
        return dialer.order(order_id)[0] == "queued"
    except AssertionError:  # not taken from the shop yet
        return False


def why(browser: Browser, service: ServiceProcess, order_id: str) -> str:
    """Asks the why panel about ``order_id``; its sentences once the answer is shown."""
    browser.script(
        "document.getElementById('why-id').value = arguments[0];"
        "document.getElementById('why-button').click();",
        order_id,
    )
    wait_for(lambda: page_text(browser, "why-state") == f"Заказ {order_id}"
             or page_text(browser, "why-error"), 15, service)  # fmt: skip
    assert page_text(browser, "why-error") == "", page_text(browser, "why-error")
    return page_text(browser, "why-sentences")


def open_report(browser: Browser, service: ServiceProcess) -> list[tuple[str, int]]:
    """Shows the report for yesterday and today (the campaign's zone); the day chart's bars."""
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    browser.script(
        "document.getElementById('report-from').value = arguments[0];"
        "document.getElementById('report-to').value = arguments[1];"
        "document.getElementById('report-show').click();",
        (today - timedelta(days=1)).isoformat(), today.isoformat(),
    )  # fmt: skip
    return list(wait_for(lambda: bars(browser, "report-days"), 20, service))


def test_a_supervisor_listens_plays_reports_and_asks_why_and_each_is_audited(
    asterisk: AsteriskInstance, browser: Browser, tmp_path: Path
) -> None:
    shop, dialer = ShopDb(tmp_path / "shop.db"), DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, shop, campaign={"agents": ["1001"]},
                          service={"recordings_dir": str(recordings_dir(asterisk))})  # fmt: skip
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        service.wait_log(r"started; healthz")
        base = service.base_url()
        add_supervisor(dialer.url)
        cli(dialer.url, "agents", "password", "1001", "--stdin", stdin=AGENT_PASSWORD + "\n")
        viewer = cli(dialer.url, "tokens", "create", "wall", "--role", "viewer").splitlines()[0]
        sign_in(browser, base, service)

        # a live call of the one agent; two more orders wait behind it (why: queued); listen
        shop.seed([ShopOrder(TALKING, LONG_CALL, "Татьяна", "Перуанская мака")], datetime.now(UTC))
        wait_for(lambda: browser.script("return !!document.querySelector('#calls .spy-listen');"),
                 30, service)  # fmt: skip
        attempt = str(browser.script(
            "return document.querySelector('#calls .spy-listen').dataset.attempt;"))  # fmt: skip
        shop.seed([ShopOrder(QUEUED, NO_ANSWER, "Николай", "Маска для лица"),
                   ShopOrder(HELD, NO_ANSWER, "Ольга", "Крем")], datetime.now(UTC))  # fmt: skip
        wait_for(lambda: admitted(dialer, QUEUED) and admitted(dialer, HELD), 20, service)
        assert "Нет свободного оператора" in why(browser, service, QUEUED)  # queued
        wait_for(lambda: listened(browser), 30, service)  # until the agent has answered
        spy, spied_call = asyncio.run(spy_on(asterisk, attempt))
        assert spied_call == attempt  # the ChanSpy channel is on this call's agent leg
        assert spy["ApplicationData"].endswith(",qE")

        # why: held by the pause, made while the 10-s talk still holds the one agent
        browser.script("document.getElementById('pause').click();")
        wait_for(lambda: page_text(browser, "campaign-state").startswith("пауза"), 10, service)
        assert "Обзвон кампании приостановлен: пауза с панели" in why(browser, service, HELD)

        # the call ends: why (finished), its recording, a report
        wait_for(lambda: dialer.order(TALKING) == ("done", "confirmed"), 40, service)
        assert "подтверждён" in why(browser, service, TALKING)
        assert play_from_history(browser, service, TALKING) == attempt
        assert browser.script("return document.getElementById('recording-audio').duration;") > 0
        assert ("answered", 1) in open_report(browser, service)
        browser.screenshot(tmp_path / "dashboard-done-when.png")
        assert dialer.attempts(QUEUED) == dialer.attempts(HELD) == []  # held by the pause

        ops = create_token(dialer.url)
        done = audit_actions(base, ops)
        assert done[-1] == ("view_report", "anna", None), done  # the report opened last
        # reports.js also shows a report when the board opens (a view_report at sign-in)
        assert [a for a in done if a[0] != "view_report"] == [
            ("why", "anna", QUEUED),
            ("listen", "anna", TALKING),
            ("why", "anna", HELD),
            ("why", "anna", TALKING),
            ("play_recording", "anna", TALKING),
        ], done

        today = datetime.now(UTC).date().isoformat()
        api = f"{base}/api/v1"
        routes: list[tuple[str, dict[str, Any] | None]] = [
            (f"{api}/calls/{attempt}/listen", {"mode": "listen"}),
            (f"{api}/calls/{attempt}/recording", None),
            (f"{api}/agents/1001/day", None),
            (f"{api}/reports?from={today}&to={today}", None),
            (f"{api}/orders/{quote(QUEUED)}/why", None),
            (f"{api}/audit", None),
        ]
        refused = {"Cookie": agent_cookie(base)}, {"Authorization": f"Bearer {viewer}"}
        for url, body in routes:
            assert [status(url, who, body) for who in refused] == [403, 403], url
        assert audit_actions(base, ops) == done  # a refusal uses nothing
        assert service.stop() == 0
    finally:
        service.ensure_gone()
