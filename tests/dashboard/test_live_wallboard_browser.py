"""Issue 19 in headless Chromium against the real service and Asterisk: the dashboard's live
state is pushed (GET /api/v1/events) and it polls only while that stream is down; its panels
never overlap nor spill their tables at 1366, 1400 and 1920 px with long Cyrillic rows; the
wallboard (/wallboard) shows the live figures with a viewer token in the URL's fragment and
with a supervisor's session.

Screenshots for the README and docs/supervisors.md: set ``CALLBACK_DIALER_SCREENSHOTS`` to a
folder (``docs/img``) and the layout test writes ``dashboard-1366.png``,
``dashboard-1920.png`` and ``wallboard.png`` there."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from chromium import Browser
from service_harness import DialerDb, ServiceProcess, ShopDb, ShopOrder, cli, wait_for, write_config
from test_dashboard_browser import NO_ANSWER, browser, page_text

pytestmark = pytest.mark.asterisk
__all__ = ["browser"]  # the Chromium fixture, shared with the dashboard's own test
PASSWORD = "табло-и-панель-1"  # noqa: S105 - a test password
NAME = "Анастасия-Виктория Владимировна Преображенская-Колокольцева"
PRODUCT = "Перуанская мака желатинизированная органическая, 500 г, курс на три месяца"
POLLED = ("/campaign", "/agents", "/calls/live", "/queue", "/stats", "/calls/awaiting-result")
COUNT_POLLS = """
window.__polls = 0;
const polled = POLLED;
const fetch_ = window.fetch.bind(window);
window.fetch = (url, ...rest) => {
  const path = new URL(String(url), location.href).pathname;
  if (polled.some((p) => path === "/api/v1" + p)) window.__polls += 1;
  return fetch_(url, ...rest);
};
""".replace("POLLED", json.dumps(POLLED))
OVERLAPS = """
const panels = [...document.querySelectorAll("#board .grid > section, #board > section")];
const box = (el) => el.getBoundingClientRect();
const faults = [];
panels.forEach((a, i) => panels.slice(i + 1).forEach((b) => {
  const p = box(a), q = box(b);
  const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
  const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
  if (w > 0.5 && h > 0.5) faults.push(`${a.id || a.querySelector("h2").textContent} overlaps ${b.id || b.querySelector("h2").textContent}`);
}));
for (const panel of panels) {
  const p = box(panel);
  if (panel.scrollWidth > panel.clientWidth + 1) faults.push(`${panel.querySelector("h2").textContent} scrolls sideways`);
  for (const table of panel.querySelectorAll("table")) {
    const t = box(table);
    if (t.left < p.left - 0.5 || t.right > p.right + 0.5) faults.push(`a table spills out of ${panel.querySelector("h2").textContent}`);
  }
}
if (document.documentElement.scrollWidth > window.innerWidth + 1) faults.push("the page scrolls sideways");
return [panels.length, faults];
"""  # noqa: E501 - a script


def order(n: int) -> ShopOrder:
    """An order with a Cyrillic id, long name and product; its customer answers for 10 s."""
    return ShopOrder(f"НФ-{n:05d}", f"+7916583{n:02d}01", NAME, PRODUCT)


def sign_in(browser: Browser, base: str) -> None:
    browser.get(base + "/")
    wait_for(lambda: browser.script("return !document.getElementById('login').hidden;"), 20)
    browser.type("#login-name", "olga")
    browser.type("#login-password", PASSWORD)
    browser.click("#login-button")


def start(tmp_path: Path, asterisk: AsteriskInstance) -> tuple[ShopDb, DialerDb, ServiceProcess]:
    shop, dialer = ShopDb(tmp_path / "shop.db"), DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, shop)  # agents 1001 and 1011
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    service.wait_log(r"started; healthz")
    cli(dialer.url, "supervisors", "add", "olga", "--name", "Ольга Сергеевна Белозёрова")
    cli(dialer.url, "supervisors", "password", "olga", "--stdin", stdin=PASSWORD + "\n")
    return shop, dialer, service


def test_the_dashboard_is_pushed_and_polls_only_while_the_stream_is_down(
    asterisk: AsteriskInstance, browser: Browser, tmp_path: Path
) -> None:
    shop, _, service = start(tmp_path, asterisk)
    try:
        browser.before_each_page(COUNT_POLLS)
        browser.block("*/api/v1/events*")  # Chromium refuses the stream: the page must poll
        sign_in(browser, service.base_url())
        wait_for(lambda: page_text(browser, "campaign-state") == "идёт обзвон", 20, service)
        assert page_text(browser, "stream-state") == "опрос каждые 2 с"
        wait_for(lambda: browser.script("return window.__polls;") >= 2 * len(POLLED), 20, service)

        browser.block()  # the stream comes back: the page reconnects and stops polling
        wait_for(lambda: page_text(browser, "stream-state") == "онлайн", 30, service)
        polls = browser.script("return window.__polls;")
        shop.seed([order(1)], datetime.now(UTC))
        wait_for(lambda: "НФ-00001" in page_text(browser, "calls"), 30, service)
        assert NAME in page_text(browser, "calls")
        assert page_text(browser, "stream-state") == "онлайн"
        assert browser.script("return window.__polls;") == polls  # pushed, not polled
        assert service.stop() == 0
    finally:
        service.ensure_gone()


def test_panels_never_overlap_and_the_wallboard_shows_the_live_figures(
    asterisk: AsteriskInstance, browser: Browser, tmp_path: Path
) -> None:
    shots = os.environ.get("CALLBACK_DIALER_SCREENSHOTS")
    folder = Path(shots) if shots else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    shop, dialer, service = start(tmp_path, asterisk)
    try:
        base = service.base_url()
        made = cli(dialer.url, "tokens", "create", "hall-screen", "--role", "viewer")
        viewer = made.splitlines()[0]
        browser.get(base + "/wallboard")  # nobody signed in, no token: it says what to do
        wait_for(lambda: "Нужно войти" in page_text(browser, "wall-error"), 20, service)
        browser.get(base + "/wallboard#token=not-a-token")
        wait_for(lambda: "Токен не принят" in page_text(browser, "wall-error"), 20, service)

        now = datetime.now(UTC)
        shop.seed([order(n) for n in range(1, 9)], now)
        shop.seed([ShopOrder("НФ-00100", NO_ANSWER, NAME, PRODUCT)], now)
        browser.get("about:blank")
        browser.get(f"{base}/wallboard#token={viewer}")
        wait_for(lambda: page_text(browser, "wall-calls") == "2", 40, service)
        assert page_text(browser, "link-state") == "онлайн"
        agents = "[...document.querySelectorAll('#wall-agents b')].map((b) => +b.textContent)"
        assert browser.script(f"return {agents}.reduce((a, b) => a + b, 0);") == 2  # 1001, 1011
        assert int(page_text(browser, "wall-queue")) >= 1

        sign_in(browser, base)
        wait_for(lambda: page_text(browser, "calls-count") == "2", 30, service)
        assert NAME in page_text(browser, "calls")
        assert browser.script("return document.querySelectorAll('#agents tr').length;") == 2
        for width, height in ((1366, 768), (1400, 900), (1920, 1080)):
            browser.resize(width, height)
            wait_for(lambda: page_text(browser, "calls-count") != "0", 30, service)
            count, faults = browser.script(OVERLAPS)
            assert count >= 8, count  # the grid's five panels and the ones below it
            assert faults == [], (width, faults)
            if width in (1366, 1920):
                browser.screenshot(folder / f"dashboard-{width}.png", width=width)

        browser.get(base + "/wallboard")  # the supervisor's session, no token
        wait_for(lambda: page_text(browser, "link-state") == "онлайн", 20, service)
        assert page_text(browser, "campaign-name") == "it"
        assert page_text(browser, "wall-error") == ""
        wait_for(lambda: page_text(browser, "wall-contact") != "—", 40, service)  # a call ended
        browser.screenshot(folder / "wallboard.png", width=1920)
        assert service.stop() == 0
    finally:
        service.ensure_gone()
