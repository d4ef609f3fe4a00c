"""``[service] agent_phone_*``: the page's softphone is off unless a WebSocket URL is set; the
URL must be ws(s)://host[:port][/path] (it also goes into the page's CSP), the secrets file is
required with it and taken relative to the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.config.campaign import ConfigError
from dialer.config.service import ServiceSettings, service_settings
from dialer.web.agent.phone import PhoneSettings


def test_off_by_default() -> None:
    assert ServiceSettings().agent_phone_ws_url == ""
    assert PhoneSettings().for_agent("101") == {
        "enabled": False, "reason": "no softphone configured (agent_phone_ws_url)"}  # fmt: skip


def test_the_secrets_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    table = {"agent_phone_ws_url": "wss://pbx.example:8089/ws",
             "agent_phone_secrets_file": "phones.toml"}  # fmt: skip
    settings = service_settings(table, {}, {}, tmp_path)
    assert settings.agent_phone_secrets_file == str(tmp_path / "phones.toml")


@pytest.mark.parametrize(
    "url",
    ["https://pbx.example/ws", "wss://pbx.example:8089/ws; script-src *", "wss://", "pbx:8089"],
)
def test_a_url_that_is_not_a_websocket_url_is_refused(url: str) -> None:
    table = {"agent_phone_ws_url": url, "agent_phone_secrets_file": "phones.toml"}
    with pytest.raises(ConfigError, match=r"service\.agent_phone_ws_url"):
        service_settings(table, {}, {}, Path())


def test_a_url_without_secrets_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"service\.agent_phone_secrets_file"):
        service_settings({"agent_phone_ws_url": "wss://pbx:8089/ws"}, {}, {}, Path())


def test_the_sip_domain_defaults_to_the_websocket_host(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text('"101" = "x"\n', encoding="utf-8")
    phone = PhoneSettings("wss://10.0.0.5:8089/ws", "", tmp_path / "p.toml")
    assert phone.for_agent("101")["uri"] == "sip:101@10.0.0.5"
    assert phone.ws_origin() == "wss://10.0.0.5:8089"
    named = PhoneSettings("wss://10.0.0.5:8089/ws", "pbx.example", tmp_path / "p.toml")
    assert named.for_agent("101")["uri"] == "sip:101@pbx.example"
