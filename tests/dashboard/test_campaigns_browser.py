"""Issue 21, editing campaigns in the browser, in headless Chromium against the real service
and Asterisk: a supervisor made by the CLI signs in at /campaigns, creates a campaign (a bad
window start is refused beside its field and nothing is created), pauses the running one,
sees «Предпросмотр» of a window that closes on the queued order, saves it (version 2, in the
history with what changed), resumes, and the running service takes the new window at its
next round: the order is not dialled but moved to the window's next opening. A rollback from
the history writes version 3 with version 1's window.

Screenshot for docs/campaigns.md: set ``CALLBACK_DIALER_SCREENSHOTS`` to a folder
(``docs/img``) and the test writes ``campaigns.png`` there."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from chromium import Browser
from service_harness import DialerDb, ServiceProcess, ShopDb, ShopOrder, cli, wait_for, write_config
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session
from test_dashboard_browser import NO_ANSWER, browser, page_text

from campaigns.window import local_wall
from dialer.storage.catalog import SqlCampaignCatalog
from dialer.storage.models import OrderRow

pytestmark = pytest.mark.asterisk
__all__ = ["browser"]  # the Chromium fixture, shared with the dashboard's own test
PASSWORD = "редактор-кампаний-1"  # noqa: S105 - a test password
NEW = "Кампания НФ-2"  # a Cyrillic name
ORDER = "НФ-00123"
START, END = "campaign.window.start", "campaign.window.end"


class CampaignsPage:
    """The /campaigns editor (page object)."""

    def __init__(self, browser: Browser, service: ServiceProcess) -> None:
        self.browser, self.service = browser, service

    def wait(self, script: str, timeout_s: float = 20) -> object:
        return wait_for(lambda: self.browser.script(script), timeout_s, self.service)

    def sign_in(self, base: str) -> None:
        self.browser.get(base + "/campaigns")
        self.wait("return !document.getElementById('login').hidden;")
        self.browser.type("#login-name", "olga")
        self.browser.type("#login-password", PASSWORD)
        self.browser.click("#login-button")
        self.wait("return !document.getElementById('editor').hidden;")

    def listed(self, name: str) -> str:
        """The list's row of ``name`` (its text), once it is there."""
        found = self.wait(f"const r = [...document.querySelectorAll('#campaigns tr')]"
                          f".find((tr) => tr.dataset.name === {name!r});"
                          "return r && r.innerText;")  # fmt: skip
        return str(found)

    def open(self, name: str) -> None:
        self.listed(name)
        self.browser.script("[...document.querySelectorAll('#campaigns tr')].find((tr) => "
                            "tr.dataset.name === arguments[0]).querySelector('button').click();",
                            name)  # fmt: skip
        self.wait(f"return document.getElementById('form-title').textContent"
                  f".includes('«{name}»');")  # fmt: skip

    def start_new(self) -> None:
        self.browser.click("#new-campaign")
        self.wait("return document.getElementById('form-title').textContent === 'Новая кампания';")

    def fill(self, field: str, value: str) -> None:
        """Type ``value`` into the field as a user does (what was there is cleared first)."""
        css = f'.field[data-field="{field}"] input'
        self.browser.script(f"document.querySelector('{css}').value = '';")
        self.browser.type(css, value)

    def save(self, expect: str) -> None:
        self.browser.click("#save-button")
        self.wait(f"return document.getElementById('saved').textContent.startsWith({expect!r});")

    def error_beside(self, field: str) -> str:
        css = f'.field[data-field="{field}"] .field-error'
        return str(self.wait(f"return document.querySelector('{css}').textContent;"))

    def preview(self) -> str:
        self.browser.click("#preview-button")
        self.wait("return document.getElementById('preview').dataset.state === 'shown';")
        return page_text(self.browser, "preview-text")

    def state(self, expect: str) -> None:
        self.wait(f"return document.getElementById('campaign-state').dataset.state === {expect!r};")

    def history(self, version: int) -> str:
        return str(self.wait(f"const r = document.querySelector('#history tr[data-version="
                             f"\"{version}\"]'); return r && r.innerText;"))  # fmt: skip


def closed_window(zone: str, now: datetime) -> tuple[str, str]:
    """Two hours of ``zone``'s day at least four hours away from its time ``now``."""
    hour = local_wall(now, zone).hour
    start = (hour + 8) % 24
    if start == 0 or start > 20:  # not 00:00 (the old start); ends the same day
        start = (start + 12) % 24
    return f"{start:02d}:00", f"{start + 2:02d}:00"


def test_a_supervisor_creates_and_edits_campaigns_and_the_service_takes_the_new_window(
    asterisk: AsteriskInstance, browser: Browser, tmp_path: Path
) -> None:
    folder = Path(os.environ.get("CALLBACK_DIALER_SCREENSHOTS") or tmp_path)
    shop = ShopDb(tmp_path / "shop.db")
    dialer = DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, shop, campaign={"agents": ["1001"]})
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    engine = create_engine(dialer.url)
    catalog = SqlCampaignCatalog(engine)
    try:
        service.wait_log(r"started; healthz")
        base = service.base_url()
        cli(dialer.url, "supervisors", "add", "olga", "--name", "Ольга")
        cli(dialer.url, "supervisors", "password", "olga", "--stdin", stdin=PASSWORD + "\n")
        page = CampaignsPage(browser, service)
        page.sign_in(base)
        assert "идёт обзвон" in page.listed("it")  # the file's campaign, imported at start

        create_with_a_refused_start(page, catalog)

        # the running campaign, paused from the page, takes an order that waits
        page.open("it")
        page.browser.script("document.getElementById('pause-reason').value = 'обучение';")
        page.browser.click("#pause")
        page.state("paused")
        shop.seed([ShopOrder(ORDER, NO_ANSWER, "Ирина", minutes_ago=0)], datetime.now(UTC))
        zones = wait_for(lambda: order_zones(engine), 30, service)

        # a window closed now for the order: the preview says so, the save is version 2
        start, end = closed_window(zones[0], datetime.now(UTC))
        page.fill(START, start)
        page.fill(END, end)
        said = page.preview()
        assert "1 заказ из звонимых сейчас подождёт открытия окна." in said
        assert "К звонку сейчас: 0 из 1 (было 1)." in said
        assert catalog.get("it").version == 1  # a preview writes nothing
        browser.screenshot(folder / "campaigns.png")
        page.save("Сохранено: версия 2")
        assert f"Окно звонков: с (время клиента): 00:00 → {start}" in page.history(2)
        assert "supervisor:olga" in page.history(2)

        # resumed: the next round uses version 2's window, so the order waits for it
        page.browser.click("#resume")
        page.state("active")
        due = wait_for(lambda: deferred_to(engine, datetime.now(UTC) + timedelta(hours=1)),
                       60, service)  # fmt: skip
        assert local_wall(due, zones[0]).strftime("%H:%M") == start
        assert dialer.attempts(ORDER) == []

        roll_back_to_version_1(page, catalog)
        faults = page_faults(browser)
        assert faults == [], "\n".join(faults)
        assert service.stop() == 0
    finally:
        service.ensure_gone()
        engine.dispose()


def create_with_a_refused_start(page: CampaignsPage, catalog: SqlCampaignCatalog) -> None:
    """A bad window start is refused beside its field and nothing is created; fixed, saved."""
    page.start_new()
    page.fill("campaign.name", NEW)
    page.fill(START, "25:00")
    page.browser.click("#save-button")
    assert page.error_beside(START) == "нужно время ЧЧ:ММ, например 09:30"
    assert [e.name for e in catalog.entries(include_archived=True)] == ["it"]
    page.fill(START, "09:00")
    page.save("Сохранено: версия 1")
    assert "supervisor:olga" in page.history(1)  # read at /campaigns/<URL-encoded name>/history
    assert "идёт обзвон" in page.listed(NEW)
    assert catalog.get(NEW).updated_by == "supervisor:olga"


def roll_back_to_version_1(page: CampaignsPage, catalog: SqlCampaignCatalog) -> None:
    """From the history: version 3 holds version 1's window."""
    page.browser.click("#rollback-1")
    page.wait("return document.getElementById('saved').textContent === "
              "'Откат к версии 1: сохранено как версия 3';")  # fmt: skip
    assert "откат к версии 1" in page.history(3)
    assert '"start": "00:00"' in catalog.get("it").settings_json


def page_faults(browser: Browser) -> list[str]:
    """The console's errors but HTTP answers (the 401 of «who is signed in?» before the
    sign-in, the 400 of «25:00», the favicon's 404): a script error or a
    Content-Security-Policy violation ("Refused to …") would be here."""
    return [line["message"] for line in browser.console() if line["level"] == "SEVERE"
            and "Failed to load resource" not in line["message"]]  # fmt: skip


def order_zones(engine: Engine) -> tuple[str, ...] | None:
    """The order's zones once the service has admitted it (queued), else None."""
    with Session(engine) as session:
        row = session.get(OrderRow, ORDER)
        return None if row is None or row.phase != "queued" else tuple(row.zones.split(","))


def deferred_to(engine: Engine, later_than: datetime) -> datetime | None:
    """The order's due time once a round has moved it past ``later_than``, else None."""
    with Session(engine) as session:
        row = session.get(OrderRow, ORDER)
        due = None if row is None else row.next_due_at
        if due is None:
            return None
        due = due if due.tzinfo else due.replace(tzinfo=UTC)
        return due if due > later_than else None
