"""Issue 19 recordings in headless Chromium against the real service and Asterisk: a real call
is answered by the customer double and bridged to the agent double, MixMonitor writes it into
the test Asterisk's spool (inside the chroot Asterisk reports ``/…/spool/monitor/dialer/
<attempt>.wav``; the service's ``[service] recordings_dir`` is the same directory as the host
sees it); a supervisor signs in, opens the order's history in «Записи разговоров», clicks ▶
and the page's ``<audio>`` loads the file (readyState >= 2, duration > 0); the audit log has
the ``play_recording`` row for that call, and the agent's day lists the same call. With the
file gone, ▶ says why in the server's words, and nothing more is audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asterisk_fixtures import AsteriskInstance
from chromium import Browser
from service_harness import (
    DialerDb,
    ServiceProcess,
    ShopDb,
    ShopOrder,
    cli,
    wait_for,
    write_config,
)
from sqlalchemy import create_engine, select
from test_dashboard_browser import browser, page_text

from dialer.storage.models import AttemptRow

pytestmark = pytest.mark.asterisk
__all__ = ["browser"]  # the Chromium fixture, shared with the dashboard's own test
PASSWORD = "наблюдатель-1"  # noqa: S105 - a test password
TALKS_3S = "+79165830431"  # customer double: answers, stays 3 s (config/asterisk/README.md)
ORDER = "НФ-00123"  # a CRM's id in Cyrillic


def recordings_dir(asterisk: AsteriskInstance) -> Path:
    """Where the dialplan's MixMonitor writes (``${ASTSPOOLDIR}/monitor/dialer``), as the host
    sees it: the test Asterisk's spool lives under its instance directory."""
    return asterisk.directory / "spool" / "monitor" / "dialer"


def sign_in(browser: Browser, base: str, service: ServiceProcess) -> None:
    """The supervisor ``anna`` (made by ``add_supervisor``) signs in on the dashboard."""
    browser.get(base + "/")
    wait_for(lambda: browser.script("return !document.getElementById('login').hidden;"), 20)
    browser.type("#login-name", "anna")
    browser.type("#login-password", PASSWORD)
    browser.click("#login-button")
    wait_for(lambda: page_text(browser, "campaign-state") == "идёт обзвон", 20, service)


def add_supervisor(db_url: str) -> None:
    cli(db_url, "supervisors", "add", "anna", "--name", "Анна", "--extension", "9008")
    cli(db_url, "supervisors", "password", "anna", "--stdin", stdin=PASSWORD + "\n")


PLAY = "#recordings button[data-attempt]"  # ▶ of a recorded call


def open_history(browser: Browser, service: ServiceProcess, order_id: str) -> None:
    """Opens ``order_id``'s history in the recordings panel, until a ▶ shows."""
    browser.script("document.getElementById('recordings-order').value = '';")
    browser.type("#recordings-order", order_id)
    browser.script("document.querySelector('#recordings-order-form button').click();")
    wait_for(lambda: browser.script("return !!document.querySelector(arguments[0]);", PLAY),
             15, service)  # fmt: skip


def play_from_history(browser: Browser, service: ServiceProcess, order_id: str) -> str:
    """Opens ``order_id``'s history in the recordings panel and clicks ▶ on its recorded
    call; returns that call's attempt id once the ``<audio>`` has data to play."""
    open_history(browser, service, order_id)
    attempt = str(browser.script("return document.querySelector(arguments[0]).dataset.attempt;",
                                 PLAY))  # fmt: skip
    browser.script("document.querySelector(arguments[0]).scrollIntoView();", PLAY)
    browser.click(PLAY)  # a pointer's click: the user gesture play() needs
    wait_for(lambda: audio(browser)["readyState"] >= 2, 20, service)
    return attempt


def audio(browser: Browser) -> dict[str, Any]:
    """The recordings panel's ``<audio>``: readyState, duration, src, error, status line."""
    return dict(browser.script(
        "const a = document.getElementById('recording-audio');"
        "return {readyState: a.readyState, duration: a.duration, src: a.currentSrc,"
        " error: a.error && a.error.code,"
        " status: document.getElementById('recordings-status').textContent};"))  # fmt: skip


def recording_of(db_url: str, attempt_id: str) -> str | None:
    """What the dialer stored as the attempt's recording: the path Asterisk reported."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            query = select(AttemptRow.recording).where(AttemptRow.id == attempt_id)
            return connection.execute(query).scalar_one()
    finally:
        engine.dispose()


def plays(db_url: str) -> list[dict[str, Any]]:
    """The audit log's ``play_recording`` rows (``callback-dialer audit --json``)."""
    rows = [json.loads(line) for line in cli(db_url, "audit", "--json").splitlines() if line]
    return [row for row in rows if row["action"] == "play_recording"]


def test_a_supervisor_plays_a_real_calls_recording_from_the_orders_history(
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
        shop.seed([ShopOrder(ORDER, TALKS_3S, "Татьяна", "Перуанская мака")], datetime.now(UTC))
        wait_for(lambda: any(a.result == "answered" and a.ended_at is not None
                             for a in dialer.attempts(ORDER)), 60, service)  # fmt: skip
        [call] = [a for a in dialer.attempts(ORDER) if a.result == "answered"]
        reported = recording_of(dialer.url, call.id)
        assert reported is not None  # the path inside the chroot, as Asterisk reported it
        assert asterisk.host_path(reported) == recordings_dir(asterisk) / f"{call.id}.wav"

        sign_in(browser, base, service)
        attempt = play_from_history(browser, service, ORDER)
        assert attempt == call.id
        played = audio(browser)
        assert 0 < played["duration"] <= 4, played  # MixMonitor's file of the 3-s talk
        assert played["error"] is None, played
        assert played["src"] == f"{base}/api/v1/calls/{call.id}/recording"
        [row] = plays(dialer.url)  # one play, one row (Chromium's Range: bytes=0- included)
        assert "Дозвон" in page_text(browser, "recordings")  # the result in the manuals' words
        assert (row["actor"], row["result"], row["attempt_id"], row["order_id"], row["agent_id"]) \
            == ("anna", "accepted", call.id, ORDER, "1001")  # fmt: skip
        browser.screenshot(tmp_path / "dashboard-recording.png")

        browser.script("document.getElementById('recordings').replaceChildren();")
        browser.type("#recordings-agent", "1001")  # the agent's day lists the same call
        browser.script("document.querySelector('#recordings-agent-form button').click();")
        listed = "return document.querySelector(arguments[0])?.dataset.attempt;"
        wait_for(lambda: browser.script(listed, PLAY) == call.id, 15, service)
        assert ORDER in page_text(browser, "recordings")

        recordings_dir(asterisk).joinpath(f"{call.id}.wav").unlink()  # gone (e.g. by hand)
        browser.get(base + "/")  # a new page: the media cache may keep what it played
        wait_for(lambda: page_text(browser, "campaign-state") == "идёт обзвон", 20, service)
        open_history(browser, service, ORDER)
        browser.click(PLAY)
        said = wait_for(lambda: page_text(browser, "recordings-status"), 20, service)
        assert said == "Запись не воспроизводится: файл записи не найден", said
        assert len(plays(dialer.url)) == 1  # a refused play is not audited
        assert service.stop() == 0
    finally:
        service.ensure_gone()
