"""Issue 16 §2, the softphone's server side over raw HTTP: ``GET /agent/phone`` gives the
signed-in agent its own SIP settings (never another agent's), the page's policy lets it reach
Asterisk's WebSocket origin and nothing else, and the vendored JsSIP is served from the
package. The browser itself is in tests/dashboard/test_agent_phone_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

from agent_web import PASSWORD, PASSWORDS, Browser, refusal
from api_harness import Dialer

from dialer.web.agent.phone import PhoneSettings

WSS = "wss://pbx.example:8089/ws"


def phone_browser(dialer: Dialer, tmp_path: Path, secrets: str) -> Browser:
    for agent, password in PASSWORDS.items():
        dialer.agent_auth.set_password(agent, password)
    (tmp_path / "phones.toml").write_text(secrets, encoding="utf-8")
    return Browser(dialer, phone=PhoneSettings(WSS, "", tmp_path / "phones.toml"))


def test_each_agent_gets_its_own_sip_settings_only(dialer: Dialer, tmp_path: Path) -> None:
    secrets = '"1001" = "sip-1001"\n"1002" = "sip-1002"\n'
    first, second = (phone_browser(dialer, tmp_path, secrets) for _ in range(2))
    refusal(first.get("/agent/phone"), 401, "cbd_agent")
    first.login("1001", PASSWORD)
    second.login("1002", PASSWORDS["1002"])
    mine = first.get("/agent/phone")
    assert mine.status == 200 and mine.headers["cache-control"] == "no-store"
    assert mine.json() == {"enabled": True, "ws_url": WSS, "uri": "sip:1001@pbx.example",
                           "username": "1001", "password": "sip-1001"}  # fmt: skip
    theirs = second.get("/agent/phone").json()
    assert (theirs["username"], theirs["password"]) == ("1002", "sip-1002")
    assert "sip-1001" not in second.get("/agent/phone").body.decode()


def test_no_password_for_the_agent_or_no_softphone_means_no_phone_in_the_page(
    dialer: Dialer, tmp_path: Path
) -> None:
    browser = phone_browser(dialer, tmp_path, '"1002" = "sip-1002"\n')
    browser.login("1001", PASSWORD)
    answer = browser.get("/agent/phone").json()
    assert answer["enabled"] is False and "agent 1001" in answer["reason"]
    plain = Browser(dialer)  # a service without a softphone
    plain.login("1001", PASSWORD)
    assert plain.get("/agent/phone").json()["enabled"] is False
    policy = plain.get("/agent").headers["content-security-policy"]
    assert "connect-src 'self';" in policy


def test_an_unreadable_secrets_file_is_a_503_naming_the_setting(
    dialer: Dialer, tmp_path: Path
) -> None:
    browser = phone_browser(dialer, tmp_path, "not = toml = at all")
    browser.login("1001", PASSWORD)
    refusal(browser.get("/agent/phone"), 503, "agent_phone_secrets_file")


def test_the_page_may_connect_to_the_websocket_origin_and_loads_the_vendored_library(
    dialer: Dialer, tmp_path: Path
) -> None:
    browser = phone_browser(dialer, tmp_path, "")
    page = browser.get("/agent")
    assert "connect-src 'self' wss://pbx.example:8089;" in page.headers["content-security-policy"]
    assert b'src="/agent/static/vendor/jssip.min.js"' in page.body
    library = browser.get("/agent/static/vendor/jssip.min.js")
    assert library.status == 200 and library.headers["content-type"].startswith("text/javascript")
    assert library.body.startswith(b"/* JsSIP 3.13.8")
    assert browser.get("/agent/static/phone.js").status == 200
    assert browser.get("/agent/static/vendor/LICENSE-jssip.md").status == 404  # not an asset
    assert browser.get("/agent/static/vendor/../agent.js").status == 404


def test_every_label_the_phone_uses_is_in_the_russian_set(browser: Browser) -> None:
    labels = browser.get("/agent/static/labels.js").body.decode()
    ru = set(re.findall(r"^\s+(\w+): ", labels, flags=re.MULTILINE))
    script = browser.get("/agent/static/phone.js").body.decode()
    used = set(re.findall(r'\b(?:L|fail|unavailable)\("(\w+)"', script))
    used |= set(re.findall(r'"(phone_\w+)"', script))
    used |= {f"phone_{state}" for state in re.findall(r'show\("(\w+)"\)', script)}
    assert "phone_mic_denied" in used and "phone_registered" in used
    assert used <= ru, sorted(used - ru)
    page = browser.get("/agent").body.decode()
    assert set(re.findall(r'data-label="(phone\w*)"', page)) <= ru
