"""Issue 16 §2: the WebRTC softphone in /agent, in headless Debian Chromium with a fake
microphone, against the real service, a real Asterisk with the shipped WebRTC config
(dialer/asterisk_files/pjsip-webrtc.conf, WSS with the dev certificate) and a SIP customer (SIPp's
UAS echoing RTP on the trunk's address).

The agent (WebRTC endpoint 201) signs in; the page registers the phone with the password the
service hands this agent only; the dialer's call rings in the page, the agent answers, hears
the Russian announcement, presses 1 on the computer's keyboard (RFC 4733 through
RTCDTMFSender), the dialplan accepts it and bridges the customer; Asterisk's channel
statistics show RTP both ways on both legs; the agent hangs up; the WebSocket is cut and the
phone registers again by itself. A refused microphone and a refused registration each show
their message in Russian and leave the agent paused by the dialer (device unavailable).

Chromium is started with ``--ignore-certificate-errors`` for the WSS dev certificate (the
page itself is http://127.0.0.1, a secure context).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asterisk_factory
import pytest
from asterisk_fixtures import AsteriskInstance
from chromium import Browser, WebDriverError, missing
from fault_harness import http_crm_section
from local_services import unavailable
from phone_harness import CuttableProxy, channel_stats, sipp_customer
from service_harness import DialerDb, ServiceProcess, cli, write_config
from test_agent_page_browser import PASSWORD, AgentPage, Crm, shots

pytestmark = pytest.mark.asterisk

PHONE_ARGS = (
    "--use-fake-device-for-media-stream",  # a generated tone as the microphone
    "--use-fake-ui-for-media-stream",  # the microphone permission granted without a prompt
    "--autoplay-policy=no-user-gesture-required",
    "--ignore-certificate-errors",  # Asterisk's WSS dev certificate is self-signed
    "--allow-loopback-in-peer-connection",
)
CUSTOMER = "+79165830041"  # PJSIP/79165830041@trunk → SIPp on 127.0.0.2
DENY_MICROPHONE = """
navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
"""


@pytest.fixture(scope="module")
def webrtc_asterisk() -> Iterator[AsteriskInstance]:
    if shutil.which("sipp") is None:
        unavailable("SIPp", "sipp is missing (scripts/test installs Debian's sip-tester)")
    with asterisk_factory.running("webrtc", webrtc=True) as instance:
        yield instance


def browser(tmp_path: Path) -> Browser:
    reason = missing()
    if reason is not None:
        unavailable("Chromium", reason)
    try:
        return Browser(tmp_path, PHONE_ARGS)
    except WebDriverError as exc:
        unavailable("Chromium", f"chromedriver could not start Chromium: {exc}")


def phone_service(
    tmp_path: Path, asterisk: AsteriskInstance, crm: Crm, ws_port: int, secrets: dict[str, str]
) -> tuple[ServiceProcess, DialerDb]:
    (tmp_path / "phones.toml").write_text(
        "".join(f'"{agent}" = "{password}"\n' for agent, password in secrets.items()),
        encoding="utf-8",
    )
    dialer = DialerDb(tmp_path / "dialer.db")
    service = {"auto_disposition": "confirmed", "poll_interval_s": 1,
               "agent_phone_ws_url": f"wss://127.0.0.1:{ws_port}/ws",
               "agent_phone_secrets_file": "phones.toml"}  # fmt: skip
    campaign = {"agents": sorted(secrets), "agent_channel_template": "PJSIP/{agent}",
                "customer_channel_template": "PJSIP/{number}@trunk",
                "agent_accept_timeout_s": 15, "ring_timeout_s": 15}  # fmt: skip
    config = write_config(tmp_path, asterisk, None, crm=http_crm_section(crm.double, tmp_path),
                          service=service, campaign=campaign,
                          retry={"quick_retry_min_s": 600, "quick_retry_max_s": 700,
                                 "slow_retry_s": 3600},
                          ami={"agent_ring_timeout_s": 30})  # fmt: skip
    return ServiceProcess(config, dialer.url, asterisk, "run"), dialer


def phone_state(page: AgentPage) -> str:
    return str(page.js("return window.cbdPhone ? window.cbdPhone.state : '';"))


def contacts(asterisk: AsteriskInstance, endpoint: str) -> list[str]:
    """The endpoint's registered contacts as Asterisk lists them."""
    text = asterisk.cli(f"pjsip show aor {endpoint}")
    return re.findall(rf"Contact:\s+{endpoint}/(\S+)", text)


def test_the_dialers_call_rings_in_the_page_is_accepted_with_1_and_talks_both_ways(
    webrtc_asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    asterisk = webrtc_asterisk
    assert asterisk.http_port is not None and asterisk.carrier_port is not None
    crm = Crm()
    crm.double.server.start()
    proxy = CuttableProxy(asterisk.http_port)
    chromium = browser(tmp_path)
    service, dialer = phone_service(tmp_path, asterisk, crm, proxy.port,
                                    {"201": "change-me-webrtc-201"})  # fmt: skip
    try:
        with sipp_customer(asterisk.carrier_port, tmp_path):
            service.wait_log(r"started; healthz")
            cli(dialer.url, "agents", "password", "201", "--stdin", stdin=PASSWORD + "\n")
            page = AgentPage(chromium, service.base_url(), service)
            page.sign_in("201")
            page.wait(lambda: phone_state(page) == "registered", 30)
            assert page.text("phone-state") == "готов к звонкам"
            assert page.text("phone-error") == ""
            assert len(contacts(asterisk, "201")) == 1, asterisk.cli("pjsip show aor 201")
            assert "transport=ws" in asterisk.cli("pjsip show contacts").lower()
            page.wait(lambda: page.text("state") == "готов", 30)  # device available: not paused
            shots(page, "agent-phone-ready")

            a_call_through_the_page(page, asterisk, crm, dialer)
            the_websocket_is_cut_and_the_phone_registers_again(page, asterisk, proxy)
            auto_answer_and_the_keypad(page, asterisk, crm, dialer)
            a_lost_microphone_unregisters_until_fixed(page, asterisk)
            blocked = [e for e in chromium.console() if "Content Security Policy" in str(e)]
            assert blocked == []  # the policy let JsSIP reach the WebSocket, nothing else asked
            page.browser.click("#sign-out")  # signing out unregisters the phone
            page.wait(lambda: page.shown("login") and not contacts(asterisk, "201"), 20)
            assert service.stop() == 0
    finally:
        service.ensure_gone()
        chromium.close()
        proxy.close()
        crm.double.server.stop()


def a_call_through_the_page(
    page: AgentPage, asterisk: AsteriskInstance, crm: Crm, dialer: DialerDb
) -> None:
    crm.add("ТЛ-201", CUSTOMER)
    page.wait(lambda: phone_state(page) == "ringing", 60)
    assert page.text("phone-state") == "звонит"
    assert page.shown("phone-answer")
    shots(page, "agent-phone-ringing")
    page.browser.click("#phone-answer")
    page.wait(lambda: phone_state(page) == "in_call", 20)
    # the Russian announcement reaches the page: Asterisk plays the order's digits in "ru"
    played = re.compile(r"PJSIP/201-[0-9a-f]+> Playing 'digits/\d+\.\w+' \(language 'ru'\)")
    page.wait(lambda: played.search(asterisk.full_log()), 20)
    page.wait(lambda: (stats(page) or {}).get("received", 0) > 25, 20)  # RTP from Asterisk
    page.browser.keys("body", "1")  # the computer's keyboard
    assert page.js("return window.cbdPhone.sentDigits;") == "1"
    assert page.text("phone-sent") == "Нажата цифра 1"
    page.wait(lambda: "Клиент на линии" in page.text("call-stage"), 30)  # the dialplan took it
    assert re.search(r"DTMF end '1' received on PJSIP/201-", asterisk.full_log())
    shots(page, "agent-phone-call")
    time.sleep(3)  # talk: the fake microphone's tone goes to the customer, who echoes it
    rows = channel_stats(asterisk.cli("pjsip show channelstats"))
    agent_leg = [v for k, v in rows.items() if k.startswith("201-")]
    customer_leg = [v for k, v in rows.items() if k.startswith("trunk-")]
    assert agent_leg and customer_leg, asterisk.cli("pjsip show channelstats")
    print("channelstats (rx, tx):", rows)
    for rx, tx in agent_leg + customer_leg:
        assert rx > 50 and tx > 50, rows
    before = stats(page)
    print("page RTP:", before)
    assert before is not None and before["sent"] > 100 and before["received"] > 100
    page.browser.click("#phone-hangup")
    page.wait(lambda: phone_state(page) == "registered", 20)
    attempts = page.wait(lambda: [a for a in dialer.attempts("ТЛ-201") if a.result], 30)
    assert attempts[0].result == "answered", attempts
    page.service.wait_log(r"result order ТЛ-201 attempt 1 agent 201: answered .*digit=1\b")


def stats(page: AgentPage) -> dict[str, int] | None:
    value: Any = page.js("return window.cbdPhone.stats();")
    return value if isinstance(value, dict) else None


def the_websocket_is_cut_and_the_phone_registers_again(
    page: AgentPage, asterisk: AsteriskInstance, proxy: CuttableProxy
) -> None:
    registrations = int(page.js("return window.cbdPhone.registrations;"))
    proxy.cut(hold_s=5)
    cut_at = time.monotonic()
    page.wait(lambda: phone_state(page) == "unavailable", 10)
    assert page.text("phone-error").startswith("Нет связи с АТС")
    page.wait(lambda: not contacts(asterisk, "201"), 20)  # Asterisk dropped the contact
    print(f"contact gone {time.monotonic() - cut_at:.1f} s after the cut")
    page.wait(lambda: page.text("state-reason") == "устройство недоступно", 20)
    page.wait(lambda: phone_state(page) == "registered", 40)  # JsSIP reconnects by itself
    assert int(page.js("return window.cbdPhone.registrations;")) == registrations + 1
    assert page.text("phone-error") == ""
    assert len(contacts(asterisk, "201")) == 1
    page.wait(lambda: page.text("state") == "готов", 20)
    assert proxy.cuts == 1 and proxy.connections >= 2


def test_a_refused_microphone_and_a_refused_registration_say_so_and_leave_the_agent_out(
    webrtc_asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    asterisk = webrtc_asterisk
    assert asterisk.http_port is not None
    crm = Crm()
    crm.double.server.start()
    opened: list[Browser] = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        opened.append(browser(tmp_path / name))
    secrets = {"201": "change-me-webrtc-201", "202": "not-the-password-202"}
    service, dialer = phone_service(tmp_path, asterisk, crm, asterisk.http_port, secrets)
    try:
        service.wait_log(r"started; healthz")
        for agent in secrets:
            cli(dialer.url, "agents", "password", agent, "--stdin", stdin=PASSWORD + "\n")
        base = service.base_url()
        no_mic, wrong = AgentPage(opened[0], base, service), AgentPage(opened[1], base, service)
        opened[0].before_each_page(DENY_MICROPHONE)
        no_mic.sign_in("201")
        no_mic.wait(lambda: phone_state(no_mic) == "unavailable", 20)
        assert no_mic.text("phone-error").startswith("Нет доступа к микрофону")
        assert no_mic.shown("phone-retry")
        shots(no_mic, "agent-phone-no-microphone")
        wrong.sign_in("202")
        wrong.wait(lambda: wrong.text("phone-error").startswith("АТС не приняла регистрацию"), 30)
        assert "401" in wrong.text("phone-error") or "403" in wrong.text("phone-error")
        assert phone_state(wrong) == "unavailable"
        shots(wrong, "agent-phone-refused")
        for page in (no_mic, wrong):
            page.wait(lambda p=page: (p.text("state"), p.text("state-reason"))
                      == ("пауза", "устройство недоступно"), 20)  # fmt: skip
        assert contacts(asterisk, "201") == [] and contacts(asterisk, "202") == []
        # the other agent's settings are never handed out: the page asks only for its own
        other = no_mic.js("return fetch('/agent/phone').then(r => r.json());")
        assert other["username"] == "201" and "not-the-password" not in str(other)
        assert service.stop() == 0
    finally:
        service.ensure_gone()
        for opened_browser in opened:
            opened_browser.close()
        crm.double.server.stop()


def auto_answer_and_the_keypad(
    page: AgentPage, asterisk: AsteriskInstance, crm: Crm, dialer: DialerDb
) -> None:
    """«Автоответ» (kept in the browser): the next call is answered without a click; 1 from
    the page's keypad."""
    page.browser.click("#phone-auto")
    assert page.js("return localStorage.getItem('cbd-auto-answer');") == "1"
    crm.add("ТЛ-202", "+79165830052")  # another customer: the same number is a duplicate
    page.wait(lambda: phone_state(page) == "in_call", 60)
    page.wait(lambda: (stats(page) or {}).get("received", 0) > 25, 20)  # the announcement
    page.browser.click('#phone-keypad [data-key="1"]')
    page.wait(lambda: "Клиент на линии" in page.text("call-stage"), 30)
    assert len(re.findall(r"DTMF end '1' received on PJSIP/201-", asterisk.full_log())) == 2
    page.browser.click("#phone-hangup")
    page.wait(lambda: phone_state(page) == "registered", 20)
    attempts = page.wait(lambda: [a for a in dialer.attempts("ТЛ-202") if a.result], 30)
    assert attempts[0].result == "answered", attempts


def a_lost_microphone_unregisters_until_fixed(page: AgentPage, asterisk: AsteriskInstance) -> None:
    """The headset unplugged (its track's ``ended`` event): the page unregisters, says so, the
    dialer pauses the agent; «Проверить снова» registers again and the pause is lifted."""
    page.js("window.cbdPhone.mic.getAudioTracks()[0].dispatchEvent(new Event('ended'));")
    page.wait(lambda: phone_state(page) == "unavailable", 10)
    assert page.text("phone-error").startswith("Микрофон отключился")
    page.wait(lambda: not contacts(asterisk, "201"), 10)
    page.wait(lambda: page.text("state-reason") == "устройство недоступно", 20)
    page.browser.click("#phone-retry")
    page.wait(lambda: phone_state(page) == "registered", 30)
    assert page.text("phone-error") == ""
    page.wait(lambda: page.text("state") == "готов", 20)
