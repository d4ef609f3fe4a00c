"""Issue 19, «Почему не звоним?», in headless Chromium against the real service and Asterisk:
a supervisor made by the CLI signs in and asks about a queued order (no answer, waiting for
its quick retry), a held one (the CRM answers 503 to its pre-dial status read, so the
service's ``StatusRecheck`` holds it; the campaign is not paused) and a finished one (an
obviously fake number: Невалид at once); each look-up is in the audit log; an agent's
session gets 403.

The panel marks a finished look-up (``data-state`` "answered" or "refused"), so the page
object waits for that and asks again while the service has not reached the awaited state
(an order not admitted yet is a 404 "не найден", not a hang)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from asterisk_fixtures import AsteriskInstance
from chromium import Browser
from crm_servers import SECRET, HttpJsonCrm
from fault_harness import http_crm_section
from service_harness import DialerDb, ServiceProcess, cli, wait_for, write_config
from test_dashboard_browser import NO_ANSWER, browser, page_text
from test_supervise_browser import AGENT_PASSWORD, agent_cookie

pytestmark = pytest.mark.asterisk
__all__ = ["browser"]  # the Chromium fixture, shared with the dashboard's own test
PASSWORD = "наблюдатель-1"  # noqa: S105 - a test password
QUEUED, HELD, FINISHED = "НФ-7100", "НФ-7101", "НФ-7102"
FAKE = "700000000000"  # business-rules §3: obviously fake, never dialled
UNANSWERED = "+79165830522"  # a second number of the ringing-out double (NO_ANSWER's kind)


class FeedCrm(HttpJsonCrm):
    """The HTTP/JSON CRM double as a feed: each order is listed by one pull only (as
    RetailCRM's history lists a change once), so the dialer re-reads its status right before
    each dial; the status read of the orders in ``unreadable`` answers 503."""

    def __init__(self) -> None:
        super().__init__(SECRET)
        self.unreadable: set[str] = set()
        self.listed: set[str] = set()

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        wanted = urllib.parse.unquote(urllib.parse.urlsplit(path).path).removeprefix("/orders/")
        if method == "GET" and wanted in self.unreadable:
            return 503, {}, {"error": "status service unavailable"}
        return super()._handle(method, path, headers, body)

    def _page(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        status, extra, page = super()._page(query)
        page["orders"] = [o for o in page["orders"] if o["id"] not in self.listed]
        self.listed.update(o["id"] for o in page["orders"])
        return status, extra, page

    def add(self, order_id: str, phone: str, name: str, minutes_ago: int) -> None:
        with self.server.lock:
            self.orders[order_id] = {
                "id": order_id, "phone": phone, "name": name, "product": "Перуанская мака",
                "created_at": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
                "status": "Ожидает подтверждения", "state": "Новый",
            }  # fmt: skip


class WhyPanel:
    """The dashboard's «Почему не звоним?» panel (page object)."""

    def __init__(self, browser: Browser, service: ServiceProcess) -> None:
        self.browser, self.service = browser, service

    def ask(self, order_id: str) -> str:
        """Ask about ``order_id`` once; the panel's text when the answer (or refusal) is in."""
        self.browser.script("document.getElementById('why-id').value = arguments[0];"
                            "document.getElementById('why-button').click();", order_id)  # fmt: skip
        wait_for(lambda: self.browser.script(
            "return ['answered', 'refused'].includes("
            "document.getElementById('why-panel').dataset.state);"), 20, self.service)  # fmt: skip
        return page_text(self.browser, "why-panel")

    def explain(self, order_id: str, expect: str) -> str:
        """Ask about ``order_id`` until the explanation of it says ``expect``; the panel's text."""

        def answered() -> str | bool:
            said = self.ask(order_id)
            ours = page_text(self.browser, "why-state") == f"Заказ {order_id}"
            return said if ours and expect in said else False

        return str(wait_for(answered, 60, self.service))


def status_of(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def sign_in(browser: Browser, base: str, service: ServiceProcess) -> None:
    browser.get(base + "/")
    wait_for(lambda: browser.script("return !document.getElementById('login').hidden;"), 20)
    browser.type("#login-name", "anna")
    browser.type("#login-password", PASSWORD)
    browser.click("#login-button")
    wait_for(lambda: page_text(browser, "campaign-state") == "идёт обзвон", 20, service)


def test_a_supervisor_is_told_why_a_queued_a_held_and_a_finished_order_is_not_called(
    asterisk: AsteriskInstance, browser: Browser, tmp_path: Path
) -> None:
    crm = FeedCrm()
    crm.server.start()
    dialer = DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, None, crm=http_crm_section(crm, tmp_path),
                          service={"status_max_age_s": 0.5},
                          campaign={"agents": ["1001"]},
                          retry={"quick_retry_min_s": 600, "quick_retry_max_s": 900})  # fmt: skip
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        service.wait_log(r"started; healthz")
        base = service.base_url()
        cli(dialer.url, "supervisors", "add", "anna", "--name", "Анна", "--extension", "9008")
        cli(dialer.url, "supervisors", "password", "anna", "--stdin", stdin=PASSWORD + "\n")
        cli(dialer.url, "agents", "password", "1001", "--stdin", stdin=AGENT_PASSWORD + "\n")
        sign_in(browser, base, service)

        crm.unreadable.add(HELD)
        crm.add(QUEUED, NO_ANSWER, "Николай", minutes_ago=5)  # the oldest: dialled first
        crm.add(HELD, UNANSWERED, "Алия", minutes_ago=1)  # its reading is stale by then
        crm.add(FINISHED, FAKE, "Павел", minutes_ago=1)
        panel = WhyPanel(browser, service)

        queued = panel.explain(QUEUED, "«Быстрый перезвон» через 10–15 мин")
        assert "Не дозвонились 1 раз(а)" in queued
        assert "Попыток дозвона1" in queued  # the facts table: label, value

        held = panel.explain(HELD, "CRM не ответила, спросим снова")  # not "asked": failed
        assert "Заказ ждёт проверки статуса в CRM перед звонком" in held
        assert "Окно звонков сейчасоткрыто" in held  # the window is not what holds it
        assert "приостановлен" not in held  # nor a pause: the campaign runs
        assert dialer.attempts(HELD) == []  # never dialled unchecked

        finished = panel.explain(FINISHED, "Обзвон закончен")
        assert "невалид («Невалид»)" in finished
        assert dialer.attempts(FINISHED) == []
        browser.screenshot(tmp_path / "dashboard-why.png")

        refused = panel.ask("НФ-нет-такого")
        assert "Заказ НФ-нет-такого не найден" in refused

        why = f"{base}/api/v1/orders/{quote(HELD, safe='')}/why"
        assert status_of(why, {"Cookie": agent_cookie(base)}) == 403
        audit = [json.loads(row) for row in cli(dialer.url, "audit", "--json").splitlines()]
        asked = {(a["actor"], a["order_id"], a["detail"]) for a in audit if a["action"] == "why"}
        assert {
            ("anna", QUEUED, "retry_quick"),
            ("anna", HELD, "held_recheck"),
            ("anna", FINISHED, "invalid"),
        } <= asked  # the detail: the answer's state
        assert service.stop() == 0
    finally:
        service.ensure_gone()
        crm.server.stop()
