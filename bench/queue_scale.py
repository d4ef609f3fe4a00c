"""Bench 4: 1 M queued orders in SQLite and in PostgreSQL.

Rows compatible with ``SqlOrderStore`` are bulk-inserted (SQLAlchemy core, in chunks) into
a database migrated to head: nine in ten queued, due times spread from a day ago to two days
ahead (about a third due now), the four priorities mixed. Then, on the same database:
* ``claim_due(now, 16)`` per batch (and claim + release, as the dispatcher releases an
  order it cannot dial), against
* the bare indexed query: one ``SELECT … WHERE phase='queued' AND priority=0 AND
  next_due_at <= now ORDER BY next_due_at, created_at, id LIMIT 16`` (all columns, core,
  no ORM).
Median ms per batch; target ≤ 10 ms. Then the real service (subprocess) runs on that
database for a while (dispatching through it) and its VmRSS is read from /proc; the same
service on an empty database, in the same run, shows how much of it the queue costs.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, insert, select, text
from sqlalchemy.orm import Session

from bench.common import Asterisk, Outcome, Row, postgres, rss_mb
from bench.service_run import Service, agent_ids, seed_shop, write_config
from dialer.storage.migrate import open_database
from dialer.storage.models import OrderRow
from dialer.storage.orders import SqlOrderStore

TARGET_MS = 10.0
TARGET_RSS_MB = 300.0
CAMPAIGN = "bench"
NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)


def build(engine: Engine, n: int, seed: int = 1) -> float:
    """Insert ``n`` orders; returns seconds taken."""
    SqlOrderStore(engine, campaign=CAMPAIGN)  # the campaign row
    rng = random.Random(seed)
    table = cast(Table, OrderRow.__table__)  # a Table: mypy sees a FromClause
    started = time.perf_counter()
    chunk = 20_000
    for first in range(0, n, chunk):
        rows: list[dict[str, Any]] = []
        for i in range(first, min(n, first + chunk)):
            created = NOW - timedelta(seconds=rng.randrange(0, 3 * 86400))
            queued = rng.random() < 0.9
            e164 = f"+79{i:07d}21"
            rows.append(
                {
                    "id": str(10_000_000 + i),
                    "campaign": CAMPAIGN,
                    "phone_raw": e164,
                    "e164": e164,
                    "name": f"Клиент {i}",
                    "product": "Перуанская мака",
                    "created_at": created,
                    "crm_status": "Ожидает подтверждения",
                    "crm_state": "Новый",
                    "zones": "UTC",
                    "identity": f"{e164}|клиент {i}|перуанская мака",
                    "phase": "queued" if queued else "done",
                    "priority": rng.choice((0, 0, 1, 1, 1, 2, 3, 3, 3, 3)),
                    "next_due_at": NOW + timedelta(seconds=rng.randrange(-86400, 2 * 86400))
                    if queued
                    else None,
                    "customer_attempts": rng.randrange(0, 4),
                    "attempt_times": "",
                    "horizon_start": created.date(),
                    "outcome": None if queued else "confirmed",
                    "version": 1,
                    "updated_at": created,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(table), rows)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE orders"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def _bare(engine: Engine, batches: int) -> list[float]:
    table = OrderRow.__table__
    c = table.c
    query = (
        select(table)
        .where(c.phase == "queued", c.priority == 0, c.next_due_at <= NOW)
        .order_by(c.next_due_at, c.created_at, c.id)
        .limit(16)
    )
    times = []
    with engine.connect() as conn:
        for _ in range(batches):
            started = time.perf_counter()
            rows = conn.execute(query).all()
            times.append(time.perf_counter() - started)
            assert len(rows) == 16
            conn.rollback()
    return times


def _claims(engine: Engine, batches: int) -> tuple[list[float], list[float]]:
    store = SqlOrderStore(engine, campaign=CAMPAIGN, node="bench")
    claim, both = [], []
    for _ in range(batches):
        started = time.perf_counter()
        batch = store.claim_due(NOW, 16)
        claimed = time.perf_counter()
        for entry in batch:
            store.save(entry)  # released untouched, as the dispatcher does
        ended = time.perf_counter()
        assert len(batch) == 16
        claim.append(claimed - started)
        both.append(ended - started)
    return claim, both


def _ms(values: list[float]) -> float:
    return 1000 * statistics.median(values)


def measure(url: str, n: int, batches: int) -> dict[str, Any]:
    engine = open_database(url)
    built_s = build(engine, n)
    bare: list[float] = []
    claim: list[float] = []
    both: list[float] = []
    for _ in range(3):  # interleaved, so noise hits both alike
        bare += _bare(engine, batches)
        c, b = _claims(engine, batches)
        claim += c
        both += b
    with Session(engine) as session:
        due = session.scalar(
            select(text("count(*)"))
            .select_from(OrderRow.__table__)
            .where(OrderRow.phase == "queued", OrderRow.next_due_at <= NOW)
        )
    engine.dispose()
    return {
        "orders": n,
        "due_now": due,
        "build_s": built_s,
        "bare_ms": _ms(bare),
        "claim_ms": _ms(claim),
        "claim_release_ms": _ms(both),
        "bare_p90_ms": 1000 * sorted(bare)[int(len(bare) * 0.9)],
        "claim_p90_ms": 1000 * sorted(claim)[int(len(claim) * 0.9)],
    }


def service_rss(ast: Asterisk, url: str, run_s: float) -> dict[str, Any]:
    """The real service on ``url`` for ``run_s`` seconds (dispatching: the orders' statuses
    are unknown to the CRM, so each is read and leaves the queue); its VmRSS at the end."""
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as tmp_name:
        tmp = Path(tmp_name)
        shop = seed_shop(tmp / "shop.db", [], NOW)
        config = write_config(
            tmp, ast, shop, agents=agent_ids(5),
            service={"cps": 50, "campaign_lines": 5, "trunk_lines": 5, "status_max_age_s": 0},
        )  # fmt: skip
        config.write_text(config.read_text().replace('name = "bench"', f'name = "{CAMPAIGN}"'))
        service = Service(config, url, ast)
        try:
            time.sleep(run_s)
            rss = rss_mb(service.proc.pid)
            status = Path(f"/proc/{service.proc.pid}/status").read_text()
            hwm = next(
                int(line.split()[1]) / 1024
                for line in status.splitlines()
                if line.startswith("VmHWM:")
            )
            service.stop()
        finally:
            service.kill()
    return {"rss_mb": rss, "peak_rss_mb": hwm, "ran_s": run_s}


def run(ast: Asterisk, quick: bool) -> Outcome:
    n = 100_000 if quick else 1_000_000
    batches = 20 if quick else 50
    run_s = 8.0 if quick else 20.0
    details: dict[str, Any] = {}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        empty_url = f"sqlite:///{tmp}/empty.db"
        open_database(empty_url).dispose()
        details["service_empty"] = service_rss(ast, empty_url, run_s)
        sqlite_url = f"sqlite:///{tmp}/queue.db"
        details["sqlite"] = measure(sqlite_url, n, batches)
        details["sqlite"]["service"] = service_rss(ast, sqlite_url, run_s)
        with postgres() as pg_url:
            details["postgresql"] = measure(pg_url, n, batches)
            details["postgresql"]["service"] = service_rss(ast, pg_url, run_s)
    empty = details["service_empty"]["rss_mb"]
    for backend in ("sqlite", "postgresql"):
        d = details[backend]
        rows += [
            Row("queue_scale", f"{backend} claim_due(16)", d["claim_ms"], "ms", d["bare_ms"],
                "bare indexed SELECT", f"≤ {TARGET_MS:.0f} ms", d["claim_ms"] <= TARGET_MS),
            Row("queue_scale", f"{backend} claim+release(16)", d["claim_release_ms"], "ms",
                d["bare_ms"], "bare indexed SELECT", "informative", None),
            Row("queue_scale", f"{backend} service RSS", d["service"]["rss_mb"], "MiB", empty,
                "same service, empty DB", f"≤ {TARGET_RSS_MB:.0f} MiB",
                d["service"]["rss_mb"] <= TARGET_RSS_MB),
        ]  # fmt: skip
    return Outcome("queue_scale", rows, details)
