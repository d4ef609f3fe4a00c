"""Hot standby of one Asterisk server: two nodes configured for the same server take turns.

On PostgreSQL a node whose coordination connection is cut (PostgreSQL restarted, network
gone) must not go on assuming it owns the server: it dials nothing new until it holds the lock
again; if another node took the server meanwhile, it exits 3 and that node takes over.
On SQLite (one host) the lock is an flock beside the database: SIGKILL frees it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asterisk_fixtures import AsteriskInstance
from local_services import fresh_database
from service_harness import ServiceProcess, ShopDb, get_json, wait_for, write_config
from sqlalchemy import create_engine, text

from dialer.storage.coordination import lock_key

pytestmark = pytest.mark.asterisk


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url, "standby") as url:
        yield url


def start(name: str, asterisk: AsteriskInstance, db_url: str, root: Path) -> ServiceProcess:
    directory = root / name
    directory.mkdir()
    config = write_config(directory, asterisk, ShopDb(root / "shop.db"),
                          service={"node": name, "poll_interval_s": 5})  # fmt: skip
    body = config.read_text(encoding="utf-8")
    config.write_text(body.replace("[ami]\n", '[ami]\nserver = "ast-1"\n'), encoding="utf-8")
    return ServiceProcess(config, db_url, asterisk, name)


def pair(asterisk: AsteriskInstance, db_url: str, root: Path) -> tuple[ServiceProcess, ...]:
    owner = start("a", asterisk, db_url, root)
    owner.wait_log(r"server ast-1: node a owns it", 30)
    standby = start("b", asterisk, db_url, root)
    standby.wait_log(r"standby: server ast-1 is owned by another node; node b waits", 30)
    status, health = get_json(standby.base_url() + "/healthz")
    assert (health["status"], health["standby"], health["server"]) == ("standby", True, "ast-1")
    # waiting is a standby's job, not an outage: 200 and "standby", never "ami": "down"
    assert (status, health["ami"], health["standby_for"]) == (200, "standby", ["ast-1"])
    _, health = get_json(owner.base_url() + "/healthz")
    assert (health["standby"], health["leader"]) == (False, True)
    return owner, standby


def _cut_lock_connection(db_url: str, node: str, *, then_hold: str | None = None) -> Any:
    """Terminate the node's coordination connection (as a PostgreSQL restart or a network
    cut would); with ``then_hold``, take that lock at once on a connection of the test's own
    (another node "won the race"). Returns that connection (or None)."""
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        cut = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = :name"
            ),
            {"name": f"callback-dialer-coordination {node}"},
        ).scalar()
    assert cut == 1
    if then_hold is None:
        admin.dispose()
        return None
    holder = admin.connect()
    # pg_terminate_backend only signals the backend: its locks go when the process has
    # exited, a few milliseconds later, so ask until the lock is free (the standby asks
    # only once a second, so the test's connection is the one that wins the race)
    deadline = time.monotonic() + 2.0
    while not holder.execute(
        text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(then_hold)}
    ).scalar():
        assert time.monotonic() < deadline, f"lock {then_hold} still held 2 s after the cut"
        time.sleep(0.005)
    return holder


def test_a_node_whose_lock_connection_is_cut_takes_the_lock_back_and_dials_on(
    asterisk: AsteriskInstance, pg_url: str, tmp_path: Path
) -> None:
    owner = start("a", asterisk, pg_url, tmp_path)
    try:
        owner.wait_log(r"server ast-1: node a owns it", 30)
        _cut_lock_connection(pg_url, "a")
        cut_at = time.monotonic()
        owner.wait_log(r"lost the lock of server ast-1", 10)
        owner.wait_log(r"server ast-1: node a holds its lock again; dialling resumes", 10)
        print(f"\nlock connection cut -> taken back in {time.monotonic() - cut_at:.1f} s")
        _, health = get_json(owner.base_url() + "/healthz")
        assert (health["status"], health["suspended"]) == ("ok", False)
        assert owner.proc.poll() is None
        assert owner.stop() == 0
    finally:
        owner.ensure_gone()


def test_a_node_that_finds_its_server_taken_stops_and_the_standby_takes_over(
    asterisk: AsteriskInstance, pg_url: str, tmp_path: Path
) -> None:
    owner, standby = pair(asterisk, pg_url, tmp_path)
    try:
        holder = _cut_lock_connection(pg_url, "a", then_hold="server:ast-1:it")
        cut_at = time.monotonic()
        owner.wait_log(r"lost the lock of server ast-1", 10)
        owner.wait_log(r"server ast-1 is owned by another node now: node a stops", 10)
        assert owner.proc.wait(20) == 3
        holder.invalidate()  # the "other node" dies with its session: the standby takes over
        holder.close()
        standby.wait_log(r"server ast-1: node b owns it", 10)
        print(f"\nstandby: owner's lock taken -> exit 3 and takeover in "
              f"{time.monotonic() - cut_at:.1f} s")  # fmt: skip
        standby.wait_log(r"leader: node b now runs crm poll", 10)
        assert standby.stop() == 0
    finally:
        owner.ensure_gone()
        standby.ensure_gone()


def test_on_sqlite_a_sigkilled_owner_is_replaced_by_the_standby(
    asterisk: AsteriskInstance, tmp_path: Path
) -> None:
    owner, standby = pair(asterisk, f"sqlite:///{tmp_path / 'dialer.db'}", tmp_path)
    nodes = [owner, standby]
    try:
        owner.kill()
        killed = time.monotonic()
        standby.wait_log(r"server ast-1: node b owns it", 10)
        standby.wait_log(r"leader: node b now runs crm poll", 5)
        wait_for(lambda: get_json(standby.base_url() + "/healthz")[1]["ami"] == "ready", 20)
        print(f"\nsqlite standby took over {time.monotonic() - killed:.1f} s after SIGKILL")
        spare = start("c", asterisk, f"sqlite:///{tmp_path / 'dialer.db'}", tmp_path)
        nodes.append(spare)
        spare.wait_log(r"standby: server ast-1 is owned by another node; node c waits", 30)
        assert spare.stop() == 0  # a standby stops cleanly, never having connected AMI
        assert "server ast-1: node c owns it" not in spare.new_log()
        assert standby.stop() == 0
    finally:
        for node in nodes:
            node.ensure_gone()
