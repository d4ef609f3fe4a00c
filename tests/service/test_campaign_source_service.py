"""Issue 21 on the real service (real Asterisk, SQLite): the first start imports the file's
campaign, a version saved from the command line is taken at the next round, and a restart
with a file that differs runs the database's settings and says which fields differ."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from asterisk_fixtures import AsteriskInstance
from service_harness import DialerDb, ServiceProcess, ShopDb, cli, wait_for, write_config

pytestmark = pytest.mark.asterisk


def running(base: str, token: str) -> dict[str, Any]:
    """The settings the service's dispatcher runs (``GET /api/v1/campaign``)."""
    request = urllib.request.Request(  # noqa: S310 - loopback http
        f"{base}/api/v1/campaign", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        settings: dict[str, Any] = json.loads(answer.read())["settings"]
        return settings


def test_rule_the_database_is_the_campaigns_one_source_across_edits_and_restarts(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    shop, dialer = ShopDb(tmp_path / "shop.db"), DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, shop)  # ring_timeout_s = 3
    first = ServiceProcess(config, dialer.url, asterisk, "first")
    try:
        base = first.base_url()
        first.wait_log(r"campaign 'it': first start, its settings imported from ")
        token = cli(dialer.url, "tokens", "create", "ops-screen", "--role", "viewer").split()[0]
        assert running(base, token)["ring_timeout_s"] == 3
        out = cli(dialer.url, "campaign", "update", "it", "--set", "ring_timeout_s=7")
        assert out.strip() == "campaign it: version 2 (ring_timeout_s)"
        first.wait_log(r"campaign 'it': now running version 2 \(by cli:")
        assert running(base, token)["ring_timeout_s"] == 7
        assert first.stop() == 0
    finally:
        first.ensure_gone()
    config = write_config(tmp_path, asterisk, shop, campaign={"ring_timeout_s": 9})
    second = ServiceProcess(config, dialer.url, asterisk, "second")
    try:
        base = second.base_url()
        said = second.wait_log(r"differs from the database \(version 2, by cli:[^)]*\); running "
                               r"the DATABASE's settings[^\n]*\n\s+ring_timeout_s: file 9, "
                               r"database 7\n\s+to take the file: callback-dialer campaign "
                               r"import \S+service.toml")  # fmt: skip
        assert said is not None
        wait_for(lambda: running(base, token)["ring_timeout_s"] == 7, 10, second)
        assert second.stop() == 0
    finally:
        second.ensure_gone()
    history = cli(dialer.url, "campaign", "history", "it").strip().splitlines()
    assert [line.split("\t")[0] for line in history] == ["v2", "v1"]  # the restart wrote none
    assert "\timport:" in history[1] and "first start: imported from" in history[1]
