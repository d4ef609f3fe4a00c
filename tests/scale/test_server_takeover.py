"""A server whose only node dies is taken over by a node standing by for several servers
(issue 13, item 10): real PostgreSQL, real Asterisk, two ``callback-dialer run`` processes.

n1 serves ast-1 (plain ``[ami]``). n3 stands by for ast-1 and ast-2 (``[ami.servers.*]``):
it serves ast-2, which nobody else serves, and waits for ast-1. Both names point at the
test's one Asterisk (a server is a name with its AMI link; ast-2 has no agents, so all
calls are ast-1's). ast-3 has an agent bound to it and no node: the leader reports it.
n1 is SIGKILLed with a call up on ast-1; n3 must own ast-1, adopt that live attempt and
settle it, and lead.
"""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asterisk_fixtures import AsteriskInstance
from local_services import fresh_database
from service_harness import (
    ServiceProcess,
    ShopDb,
    ShopOrder,
    get_json,
    originates_seen,
    wait_for,
    write_config,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.migrate import open_database
from dialer.storage.models import AttemptRow, OrderRow

pytestmark = [pytest.mark.asterisk, pytest.mark.postgres]

LONG = ShopOrder("9701", "+79165830291", "Вера", "AlcoBlocker", minutes_ago=3)  # 9 s call


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    with fresh_database(postgres_url, "takeover") as url:
        engine = open_database(url)
        yield engine
        engine.dispose()


def start(name: str, ami: str, agents: list[str], *, asterisk: AsteriskInstance,
          engine: Engine, root: Path) -> ServiceProcess:  # fmt: skip
    directory = root / name
    directory.mkdir()
    config = write_config(directory, asterisk, ShopDb(root / "shop.db"),
                          service={"node": name, "claim_lease_s": 5, "shutdown_grace_s": 15},
                          campaign={"agents": agents})  # fmt: skip
    config.write_text(config.read_text(encoding="utf-8") + ami, encoding="utf-8")
    url = engine.url.render_as_string(hide_password=False)
    return ServiceProcess(config, url, asterisk, name)


def live_attempt(engine: Engine) -> AttemptRow | None:
    with Session(engine) as session:
        query = select(AttemptRow).where(AttemptRow.order_id == LONG.id)
        rows = list(session.scalars(query))
        return rows[0] if len(rows) == 1 and rows[0].ended_at is None else None


def logged_at(node: ServiceProcess, pattern: str, timeout_s: float) -> datetime:
    found = node.wait_log(rf"(\S+) \w+ dialer\.service: {pattern}", timeout_s)
    return datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))


def unserved_metric(node: ServiceProcess, server: str) -> str | None:
    url = node.base_url() + "/metrics"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback
        text = answer.read().decode()
    line = rf'callback_dialer_server_unserved{{campaign="it",server="{server}"}} (\d+)'
    found = re.search(line, text)
    return found.group(1) if found else None


def test_a_standby_for_several_servers_takes_over_a_dead_nodes_server_and_its_live_call(
    asterisk: AsteriskInstance, engine: Engine, tmp_path: Path
) -> None:
    SqlAgentRegistry(engine).configure("it", ["1099"], datetime.now(UTC), server="ast-3")
    ShopDb(tmp_path / "shop.db").seed([LONG], datetime.now(UTC))
    on = {"asterisk": asterisk, "engine": engine, "root": tmp_path}
    n1 = start("n1", 'server = "ast-1"\n', ["1001"], **on)
    nodes = [n1]
    try:
        n1.wait_log(r"server ast-1: node n1 owns it", 30)
        n1.wait_log(r"leader: node n1", 10)
        n3 = start("n3", "[ami.servers.ast-1]\n[ami.servers.ast-2]\nagents = []\n", [], **on)
        nodes.append(n3)
        n3.wait_log(r"server ast-2: node n3 owns it", 30)
        n3.wait_log(r"standby: server ast-1 is owned by another node; node n3 waits", 10)
        wait_for(lambda: get_json(n3.base_url() + "/healthz")[1]["ami"] == "ready", 20, n3)
        status, health = get_json(n3.base_url() + "/healthz")
        assert (status, health["status"], health["leader"], health["unserved"]) == (
            200, "ok", False, None)  # fmt: skip
        assert health["servers"] == {"ast-1": "standby", "ast-2": "serving"}
        assert health["standby_for"] == ["ast-1"]
        wait_for(lambda: get_json(n1.base_url() + "/healthz")[1]["unserved"] == ["ast-3"], 10)
        assert (unserved_metric(n1, "ast-3"), unserved_metric(n1, "ast-1")) == ("1", "0")
        assert unserved_metric(n3, "ast-3") is None  # not the leader: it leaves it to n1

        attempt = wait_for(lambda: live_attempt(engine), 30, n1)
        assert attempt.server == "ast-1"
        time.sleep(2)  # the call is up on Asterisk (the agent pressed 1, the customer rings)
        killed_at = datetime.now(UTC)
        n1.kill()
        owned_at = logged_at(n3, r"server ast-1: node n3 owns it", 10)
        n3.wait_log(rf"recovering attempt {attempt.id} of order {LONG.id}", 10)
        led_at = logged_at(n3, r"leader: node n3", 10)
        n3.wait_log(rf"outcome order {LONG.id}: confirmed", 30)
        takeover_s = (owned_at - killed_at).total_seconds()
        print(f"\nast-1 owned by n3 {takeover_s:.2f} s after SIGKILL; "
              f"leader after {(led_at - killed_at).total_seconds():.2f} s")  # fmt: skip
        assert takeover_s < 5
        status, health = get_json(n3.base_url() + "/healthz")
        assert health["servers"] == {"ast-1": "serving", "ast-2": "serving"}
        assert (health["standby_for"], health["unserved"]) == ([], ["ast-3"])
        assert n3.stop() == 0
    finally:
        for node in nodes:
            node.ensure_gone()
    with Session(engine) as session:
        order = session.get(OrderRow, LONG.id)
        assert order is not None and (order.phase, order.outcome) == ("done", "confirmed")
        [row] = session.scalars(select(AttemptRow).where(AttemptRow.order_id == LONG.id))
        assert row.ended_at is not None and row.server == "ast-1"
    assert originates_seen(asterisk, row.id) == 1
