"""Helpers for the fault tests: the HTTP CRM double as the service's CRM, the dialer's database
read by URL (SQLite or PostgreSQL), and the checks every fault test makes once it settled:
nothing lost, nothing duplicated, nothing stuck."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asterisk_fixtures import REPO, AsteriskInstance
from crm_servers import SECRET, HttpJsonCrm
from local_services import unavailable
from service_harness import Attempt, ShopOrder, originates_seen
from sqlalchemy import Engine, create_engine, inspect, select
from sqlalchemy.orm import Session

from dialer.storage.models import AttemptRow, OrderRow, OutboxRow

STUCK_PHASES = ("claimed", "dialing")
PG_SCRIPT = REPO / "scripts" / "postgres-local"


def http_crm_section(crm: HttpJsonCrm, directory: Path, timeout_s: float = 2.0) -> list[str]:
    """The ``[crm]`` lines of a service config pointing at the double (secret in a file)."""
    (directory / "crm.secret").write_bytes(SECRET)
    url = crm.server.url
    return [
        "[crm]",
        'kind = "http"',
        "[crm.http]",
        f'pull_url = "{url}/orders"',
        f'status_url = "{url}/orders/{{id}}"',
        f'outcome_url = "{url}/outcomes"',
        'secret_file = "crm.secret"',
        f"timeout_s = {timeout_s}",
    ]


def seed(crm: HttpJsonCrm, orders: Sequence[ShopOrder], now: datetime) -> None:
    """Put the orders in the double, waiting for confirmation."""
    with crm.server.lock:
        for o in orders:
            crm.orders[o.id] = {
                "id": o.id,
                "phone": o.phone,
                "name": o.name,
                "product": o.product,
                "created_at": (now - timedelta(minutes=o.minutes_ago)).isoformat(),
                "status": o.status,
                "state": o.state,
            }


def applied_keys(crm: HttpJsonCrm, order_id: str) -> list[str]:
    """The idempotency keys the CRM applied for one order, in the order it applied them."""
    with crm.server.lock:
        return [str(a["event_id"]) for a in crm.applied if a["order_id"] == order_id]


@dataclass(frozen=True)
class Settled:
    """What a settled run left: counted for the report and asserted by ``check_settled``."""

    orders: int
    attempts: int
    originates: int
    never_sent: int  # attempts written before a kill whose Originate was never sent
    delivered: int
    duplicates_absorbed: int


class DialerView:
    """The dialer's own database by URL, read-only from the test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, pool_pre_ping=True)

    def ready(self) -> bool:
        return inspect(self.engine).has_table("outbox")

    def attempts(self, order_id: str | None = None) -> list[Attempt]:
        if not self.ready():
            return []
        with Session(self.engine) as session:
            query = select(AttemptRow).order_by(AttemptRow.started_at)
            if order_id is not None:
                query = query.where(AttemptRow.order_id == order_id)
            return [_attempt(r) for r in session.scalars(query)]

    def phases(self) -> dict[str, tuple[str, str | None]]:
        """Order id → (phase, outcome)."""
        if not self.ready():
            return {}
        with Session(self.engine) as session:
            rows = session.execute(select(OrderRow.id, OrderRow.phase, OrderRow.outcome))
            return {i: (p, o) for i, p, o in rows}

    def tries(self) -> list[int]:
        """Delivery tries of every outbox row, in id order."""
        with Session(self.engine) as session:
            return list(session.scalars(select(OutboxRow.tries).order_by(OutboxRow.id)))

    def outbox(self) -> list[tuple[str, str, bool]]:
        """(order id, idempotency key, delivered) of every outbox row, in id order."""
        if not self.ready():
            return []
        with Session(self.engine) as session:
            query = select(OutboxRow.order_id, OutboxRow.idempotency_key, OutboxRow.delivered_at)
            rows = session.execute(query.order_by(OutboxRow.id))
            return [(o, k, d is not None) for o, k, d in rows]

    def settled(self, order_ids: Sequence[str], outcome: str = "confirmed") -> bool:
        phases = self.phases()
        done = all(phases.get(i) == ("done", outcome) for i in order_ids)
        return done and all(d for _, _, d in self.outbox())

    def dispose(self) -> None:
        self.engine.dispose()


def check_settled(
    dialer: DialerView,
    crm: HttpJsonCrm,
    asterisk: AsteriskInstance,
    orders: Sequence[ShopOrder],
    expected: Mapping[str, tuple[str, str | None]] | None = None,
) -> Settled:
    """Assert nothing was lost, duplicated or left stuck; return the counts. ``expected``:
    each order's (phase, outcome); by default every order is done and confirmed."""
    ids = [o.id for o in orders]
    phases = dialer.phases()
    wanted = expected or {i: ("done", "confirmed") for i in ids}
    assert {i: phases.get(i) for i in ids} == wanted
    assert not [i for i, (phase, _) in phases.items() if phase in STUCK_PHASES]
    attempts = dialer.attempts()
    assert all(a.ended_at is not None for a in attempts), attempts
    _no_overlap(attempts)
    originates = 0
    for attempt in attempts:
        seen = originates_seen(asterisk, attempt.id)
        # An attempt whose Originate never left the killed process reached no phone: it
        # ends FAILED (not a customer attempt) and its order is dialled again.
        assert seen == 1 or (seen == 0 and attempt.result == "failed"), (attempt, seen)
        assert seen == 1 or not attempt.customer_attempt, attempt
        originates += seen
    outbox = dialer.outbox()
    assert all(delivered for _, _, delivered in outbox), outbox
    for order_id in ids:
        keys = [k for o, k, _ in outbox if o == order_id]
        assert keys, f"order {order_id} has no outcome"
        assert applied_keys(crm, order_id) == keys, order_id  # each once, in order
    never_sent = len(attempts) - originates
    return Settled(len(ids), len(attempts), originates, never_sent, len(outbox), crm.duplicates)


def _no_overlap(attempts: Sequence[Attempt]) -> None:
    by_order: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        by_order.setdefault(attempt.order_id, []).append(attempt)
    for order_id, mine in by_order.items():
        mine.sort(key=lambda a: a.started_at)
        for before, after in itertools.pairwise(mine):
            assert before.ended_at is not None and before.ended_at <= after.started_at, (
                f"order {order_id}: attempts {before.id} and {after.id} overlap"
            )


def _attempt(r: AttemptRow) -> Attempt:
    ended = None if r.ended_at is None else _utc(r.ended_at)
    return Attempt(
        r.id, r.order_id, r.agent, _utc(r.started_at), ended, r.result, r.customer_attempt
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class PostgresCluster:
    """A dedicated cluster of scripts/postgres-local that a test may stop and start."""

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.port = port
        self.url = ""

    def start(self) -> None:
        started = _pg("start", self.name, "--port", str(self.port), timeout=120)
        if started.returncode != 0:
            unavailable("PostgreSQL", f"cluster did not start:\n{started.stderr}")
        self.url = _pg("url", self.name).stdout.strip()

    def stop(self) -> None:
        stopped = _pg("stop", self.name, timeout=60)
        assert stopped.returncode == 0, stopped.stderr

    def remove(self) -> None:
        _pg("remove", self.name, timeout=60)


def _pg(*args: str, timeout: int = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PG_SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
