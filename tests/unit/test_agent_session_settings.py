"""``[service] agent_session_ttl_s`` / ``agent_cookie_secure``: the agent's session lasts
12 h from sign-in and its cookie is not Secure unless configured; bad values name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.config.campaign import ConfigError
from dialer.config.service import ServiceSettings, service_settings


def test_defaults_are_twelve_hours_and_a_cookie_without_secure() -> None:
    settings = ServiceSettings()
    assert (settings.agent_session_ttl_s, settings.agent_cookie_secure) == (43200.0, False)


def test_file_and_environment_set_them() -> None:
    env = {"CALLBACK_DIALER_SERVICE_AGENT_COOKIE_SECURE": "true"}
    settings = service_settings({"agent_session_ttl_s": 3600}, env, {}, Path())
    assert (settings.agent_session_ttl_s, settings.agent_cookie_secure) == (3600.0, True)


@pytest.mark.parametrize("table", [{"agent_session_ttl_s": 0}, {"agent_session_ttl_s": "long"}])
def test_a_bad_ttl_is_refused_naming_the_field(table: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"service\.agent_session_ttl_s"):
        service_settings(table, {}, {}, Path())
