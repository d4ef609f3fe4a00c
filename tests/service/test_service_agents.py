"""Issue 3 §5 with the running service: ops pause and resume agents from the CLI and the
service follows; the agents table shows what the service's agents are doing."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from service_harness import DialerDb, ServiceProcess, ShopDb, ShopOrder, wait_for, write_config

pytestmark = pytest.mark.asterisk


def agents_cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialer", "--db", db_url, "agents", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def agents_table(db_url: str) -> dict[str, dict[str, object]]:
    listed = agents_cli(db_url, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {row["id"]: row for row in map(json.loads, listed.stdout.splitlines())}


def test_an_agent_paused_from_the_cli_gets_no_call_until_resumed(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    shop = ShopDb(tmp_path / "shop.db")
    dialer = DialerDb(tmp_path / "dialer.db")
    config = write_config(tmp_path, asterisk, shop)
    service = ServiceProcess(config, dialer.url, asterisk, "run")
    try:
        service.wait_log(r"started; healthz")
        wait_for(lambda: agents_table(dialer.url)["1001"]["state"] == "idle", 20, service)
        paused = agents_cli(dialer.url, "pause", "1001", "--reason", "обед")
        assert paused.returncode == 0, paused.stderr
        shop.seed(
            [ShopOrder(f"60{i}", f"+7916583{i}421", "Мария", "Мака") for i in range(3)],
            datetime.now(UTC),
        )
        wait_for(lambda: len([a for a in dialer.attempts() if a.ended_at]) >= 3, 60, service)
        during_pause = {a.agent for a in dialer.attempts()}
        assert agents_table(dialer.url)["1001"]["state"] == "paused"
        assert agents_table(dialer.url)["1001"]["paused_reason"] == "обед"

        resumed = agents_cli(dialer.url, "resume", "1001")
        assert resumed.returncode == 0, resumed.stderr
        shop.seed(
            [ShopOrder(f"61{i}", f"+7916584{i}421", "Пётр", "Мака") for i in range(4)],
            datetime.now(UTC),
        )
        wait_for(lambda: len([a for a in dialer.attempts() if a.ended_at]) >= 7, 60, service)
        assert service.stop() == 0
    finally:
        service.ensure_gone()

    assert during_pause == {"1011"}
    after = {a.agent for a in dialer.attempts() if a.order_id.startswith("61")}
    assert "1001" in after
