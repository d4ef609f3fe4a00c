"""``[service] outbox_backoff_s`` / ``outbox_backoff_max_s``: the outbox's retry backoff is
configurable (production defaults 10 s doubling to 30 min), and bad values name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.config.campaign import ConfigError
from dialer.config.service import ServiceSettings, service_settings


def test_defaults_are_ten_seconds_doubling_to_half_an_hour() -> None:
    settings = ServiceSettings()
    assert (settings.outbox_backoff_s, settings.outbox_backoff_max_s) == (10.0, 1800.0)


def test_file_and_environment_set_them() -> None:
    table = {"outbox_backoff_s": 0.5, "outbox_backoff_max_s": 90}
    env = {"CALLBACK_DIALER_SERVICE_OUTBOX_BACKOFF_MAX_S": "120"}
    settings = service_settings(table, env, {}, Path())
    assert (settings.outbox_backoff_s, settings.outbox_backoff_max_s) == (0.5, 120.0)


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"outbox_backoff_s": 0}, "service.outbox_backoff_s"),
        ({"outbox_backoff_s": "fast"}, "service.outbox_backoff_s"),
        ({"outbox_backoff_s": 60, "outbox_backoff_max_s": 30}, "service.outbox_backoff_max_s"),
    ],
)
def test_bad_values_are_refused_naming_the_field(table: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        service_settings(table, {}, {}, Path())
