"""Issue 19 in headless Chromium against the real service and Asterisk: a supervisor made by
the CLI signs in on the dashboard, clicks Слушать on a live call, their phone (the double
9008) answers and Asterisk shows the ChanSpy channel on that call's agent leg; the audit log
has the row (on the page and in the API); an agent's session and a viewer token get 403."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asterisk_fixtures import AsteriskInstance, RawAmi
from chromium import Browser
from service_harness import DialerDb, ServiceProcess, ShopDb, ShopOrder, cli, wait_for, write_config
from test_dashboard_browser import LONG_CALL, browser, page_text

pytestmark = pytest.mark.asterisk
__all__ = ["browser"]  # the Chromium fixture, shared with the dashboard's own test
PASSWORD = "наблюдатель-1"  # noqa: S105 - a test password
AGENT_PASSWORD = "оператор-1001"  # noqa: S105


def status_of(url: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def listened(browser: Browser) -> bool:
    """Click Слушать; True once the page says the supervisor's phone rings. Before the agent
    answers, the page says so in words and the click is refused (and audited)."""
    browser.script("document.getElementById('supervise-status').textContent = '';")
    browser.click("#calls .spy-listen")  # a pointer's click: no neighbouring panel over it
    said = wait_for(lambda: page_text(browser, "supervise-status").partition("…")[2] == ""
                    and page_text(browser, "supervise-status"), 10)  # fmt: skip
    if "звонит ваш телефон 9008" in said:
        return True
    assert "Оператор ещё не ответил" in said, said
    time.sleep(0.5)
    return False


def agent_cookie(base: str) -> str:
    request = urllib.request.Request(  # noqa: S310
        f"{base}/agent/login", json.dumps({"agent": "1001", "password": AGENT_PASSWORD}).encode(),
        method="POST", headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return str(answer.headers["set-cookie"]).split(";")[0]


async def spy_on(asterisk: AsteriskInstance, attempt_id: str) -> tuple[dict[str, str], str]:
    """The ChanSpy channel on the call ``attempt_id`` and the agent leg it spies on."""
    ami = await RawAmi.login(asterisk)
    try:
        spy = await ami.spy_channel("Local/1001@dialer-test-agents-")
        legs = {c["Channel"]: c["Linkedid"] for c in await ami.channels()}
        return spy, legs[spy["ApplicationData"].split(",")[0]]
    finally:
        await ami.close()


def test_a_supervisor_listens_to_a_live_call_from_the_dashboard(
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
        cli(dialer.url, "agents", "password", "1001", "--stdin", stdin=AGENT_PASSWORD + "\n")
        viewer = cli(dialer.url, "tokens", "create", "wall", "--role", "viewer").splitlines()[0]

        browser.get(base + "/")
        wait_for(lambda: browser.script("return !document.getElementById('login').hidden;"), 20)
        browser.type("#login-name", "anna")
        browser.type("#login-password", "wrong password")
        browser.click("#login-button")
        wait_for(lambda: "Неверный" in page_text(browser, "login-error"), 10, service)
        browser.script("document.getElementById('login-password').value = '';")
        browser.type("#login-password", PASSWORD)
        browser.click("#login-button")
        wait_for(lambda: page_text(browser, "campaign-state") == "идёт обзвон", 20, service)
        assert page_text(browser, "me") == "Анна (тел. 9008)"
        assert browser.script("return sessionStorage.length + localStorage.length;") == 0
        assert browser.script("return document.cookie;") == ""  # HttpOnly: not for scripts

        shop.seed([ShopOrder("7001", LONG_CALL, "Татьяна", "Перуанская мака")], datetime.now(UTC))
        wait_for(lambda: browser.script("return !!document.querySelector('#calls .spy-listen');"),
                 30, service)  # fmt: skip
        attempt_id = str(browser.script(
            "return document.querySelector('#calls .spy-listen').dataset.attempt;"))  # fmt: skip
        wait_for(lambda: listened(browser), 30, service)  # until the agent has answered

        spy, spied_call = asyncio.run(spy_on(asterisk, attempt_id))
        assert spied_call == attempt_id  # the ChanSpy channel is on this call's agent leg
        assert spy["ApplicationData"].endswith(",qE")
        wait_for(lambda: "прослушка" in page_text(browser, "audit"), 15, service)
        assert "принято" in page_text(browser, "audit")
        browser.screenshot(tmp_path / "dashboard-listen.png")

        listen = f"{base}/api/v1/calls/{attempt_id}/listen"
        cookie = agent_cookie(base)
        assert status_of(listen, {"mode": "barge"}, {"Cookie": cookie}) == 403
        assert status_of(listen, {"mode": "barge"}, {"Authorization": f"Bearer {viewer}"}) == 403
        audit = cli(dialer.url, "audit", "--json").splitlines()
        used = [json.loads(row) for row in audit if '"accepted"' in row and '"listen"' in row]
        assert [(u["actor"], u["result"], u["agent_id"], u["order_id"], u["attempt_id"])
                for u in used] == [("anna", "accepted", "1001", "7001", attempt_id)]  # fmt: skip
        assert not any('"barge"' in row for row in audit)  # refused before any use
        assert service.stop() == 0
    finally:
        service.ensure_gone()
