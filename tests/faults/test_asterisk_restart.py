"""Asterisk restarted mid-run (issue 8): the real service notices, reconnects when Asterisk is
back, accounts for the calls that died with it, and every order still ends; no Originate is
sent twice.

A dedicated Asterisk instance is stopped (SIGTERM, as an init system does) while customers
are talking, left down for a few seconds and started again on the same AMI port and secret.
``scripts/asterisk-local start`` renders a fresh instance directory (the AstDB with the
dialplan's outcome records, and the log, start empty), so the log is kept before the restart
and the calls that died there leave no record behind: each is reported failed, "outcome
lost", which is not a customer attempt, and its order is dialled again (business-rules §5,
network failure) until it is confirmed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asterisk_fixtures import SCRIPT, AsteriskInstance
from evidence import (
    TRACED_AGENTS,
    first_after,
    lost_ids,
    originates_in_log,
    refused_ids,
    times_of,
    unsettled,
)
from local_services import free_port, unavailable
from service_harness import DialerDb, ServiceProcess, ShopDb, ShopOrder, wait_for, write_config

pytestmark = pytest.mark.asterisk

TALKING = [  # customers who talk 9 s: on the line when Asterisk goes down
    ShopOrder("9001", "+79165850191", "Татьяна", minutes_ago=9),
    ShopOrder("9002", "+79165850291", "Александр", minutes_ago=8),
    ShopOrder("9003", "+79165850391", "Николай", minutes_ago=7),
]
WAITING = [ShopOrder("9004", "+79165850421", "Ольга", minutes_ago=6)]  # no agent free yet
ALL = [*TALKING, *WAITING]
AGENTS = ["1001", "1011", "1021"]
DOWN_FOR_S = 3.0


@pytest.fixture
def own_asterisk(asterisk: AsteriskInstance) -> Iterator[AsteriskInstance]:
    """An instance of this test's own: it is restarted, the session's (which made sure
    Asterisk is installed) is not."""
    name = f"restart-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    instance = _start(name, free_port(), uuid.uuid4().hex)
    try:
        yield instance
    finally:
        _script("stop", name)
        shutil.rmtree(instance.directory, ignore_errors=True)


@pytest.mark.parametrize("how", ["stop", "crash"])
def test_asterisk_restart_mid_call_is_noticed_accounted_and_dialling_resumes(
    own_asterisk: AsteriskInstance, tmp_path: Path, how: str
) -> None:
    """``stop``: SIGTERM, Asterisk hangs the calls up and says so on AMI before it goes.
    ``crash``: SIGKILL, the calls vanish without a word; their outcomes are lost."""
    began = time.monotonic()
    shop = ShopDb(tmp_path / "shop.db")
    shop.seed(ALL, datetime.now(UTC))
    dialer = DialerDb(tmp_path / "dialer.db")
    config = write_config(
        tmp_path,
        own_asterisk,
        shop,
        campaign={"agents": AGENTS, "agent_channel_template": TRACED_AGENTS},
    )
    service = ServiceProcess(config, dialer.url, own_asterisk, "run")
    try:
        wait_for(lambda: _customers_talking(own_asterisk, dialer), 30, service)
        died = {a.id for a in dialer.attempts() if a.ended_at is None}
        log_before = own_asterisk.full_log()
        stopped_at = datetime.now(UTC)
        _take_down(own_asterisk, how)
        service.wait_log(r"AMI link lost", timeout_s=20)
        time.sleep(DOWN_FOR_S)
        started_at = datetime.now(UTC)
        _start(own_asterisk.name, own_asterisk.ami_port, own_asterisk.secret)
        wait_for(lambda: _all_confirmed(dialer), 60, service)
        assert service.stop() == 0
    finally:
        service.ensure_gone()

    log = service.new_log()
    attempts = dialer.attempts()
    in_asterisk = originates_in_log(log_before) + originates_in_log(own_asterisk.full_log())

    # every order ends, nothing left in flight
    assert unsettled(dialer, [o.id for o in ALL]) == {}
    assert all(dialer.order(o.id) == ("done", "confirmed") for o in ALL)
    assert [a for a in attempts if a.ended_at is None or a.result is None] == []

    # the calls that died with Asterisk are accounted, each once
    assert len(died) == len(AGENTS)
    assert all(log.count(f"id {attempt_id}") == 2 for attempt_id in died)  # dial + result
    lost = died & lost_ids(log)
    if how == "crash":  # nothing was said: failed, outcome lost, not a customer attempt
        assert lost == died
        assert all(a.result == "failed" for a in attempts if a.id in died)
        redialled = {a.order_id for a in attempts if a.started_at > started_at}
        assert {a.order_id for a in attempts if a.id in died} <= redialled

    # one Originate per attempt Asterisk accepted, none without an attempt, none sent
    # while Asterisk was down
    not_sent = refused_ids(log)
    expected = Counter({a.id: 1 for a in attempts if a.id not in not_sent})
    assert in_asterisk == expected
    assert not [
        a for a in attempts if stopped_at < a.started_at < started_at and a.id not in not_sent
    ]

    lost_at = first_after(times_of(log, r"AMI link lost"), stopped_at)
    up_at = first_after(times_of(log, r"AMI link up"), started_at)
    first_dial = min(a.started_at for a in attempts if a.started_at > up_at)
    print(
        f"\nAsterisk {how}: {len(ALL)} orders, {len(attempts)} attempts, "
        f"{sum(in_asterisk.values())} Originates in Asterisk's logs, {len(not_sent)} refused "
        f"while it shut down; {len(died)} calls up when it went down: {len(lost)} reported "
        f"failed (outcome lost) and dialled again, {len(died - lost)} reported from their "
        f"hang-up events; link loss noticed {_s(lost_at - stopped_at)} s after the "
        f"{how} began; down {DOWN_FOR_S} s; link up {_s(up_at - started_at)} s after the start "
        f"began; first dial {_s(first_dial - up_at)} s after that; "
        f"{time.monotonic() - began:.0f} s wall"
    )


def _take_down(asterisk: AsteriskInstance, how: str) -> None:
    if how == "crash":
        pid = int((asterisk.directory / "run" / "asterisk.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
    _script("stop", asterisk.name)  # (after a crash: only the launcher is left to stop)


def _s(delta: timedelta) -> str:
    return f"{delta.total_seconds():.1f}"


def _customers_talking(asterisk: AsteriskInstance, dialer: DialerDb) -> bool:
    live = [a for a in dialer.attempts() if a.ended_at is None]
    if len(live) < len(AGENTS):
        return False
    log = asterisk.full_log()
    return all(f"DialerAccepted,AttemptId: {a.id}" in log for a in live)


def _all_confirmed(dialer: DialerDb) -> bool:
    return all(dialer.order(o.id) == ("done", "confirmed") for o in ALL)


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _start(name: str, port: int, secret: str) -> AsteriskInstance:
    started = _script("start", name, "--ami-port", str(port), "--ami-secret", secret)
    if started.returncode != 0:
        unavailable("Asterisk", f"instance did not start:\n{started.stdout}\n{started.stderr}")
    directory = Path(_script("dir", name).stdout.strip())
    conf = (directory / "etc" / "asterisk.conf").read_text(encoding="utf-8")
    inner = next(
        line.split("=>", 1)[1].strip().removesuffix("/etc")
        for line in conf.splitlines()
        if line.startswith("astetcdir")
    )
    return AsteriskInstance(name, port, "dialer", secret, directory, inner)
