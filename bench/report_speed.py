"""Bench: the supervisors' report (issue 19) over a large history, with and without the
range indexes of migration 0010.

A database migrated to head gets a year of history (SQLAlchemy core, in chunks): ``n``
orders created evenly over 366 days, 1-3 agent-first attempts each (answered, no answer,
busy, agent missed), one outcome per order, and the state changes of 50 agents (signed in
for a shift, calls, wrap-ups, a lunch pause, signed out). Then the report of the last 1, 31
and 366 local days (``SqlReportReads.history`` + ``campaigns.reports.build``), median of
``repeat`` runs, first with the indexes and then after dropping them (``ix_attempts_started_at``,
``ix_outcomes_created_at``, ``ix_orders_created_at``, ``ix_agent_states_at``,
``ix_agent_states_agent_id_at``). Prints seconds and the ratio without / with.

    .venv/bin/python -m bench.report_speed              # 1 M orders, SQLite (~10 min)
    .venv/bin/python -m bench.report_speed --orders 100000 --postgresql
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, insert, text

from bench.common import postgres
from campaigns.reports import ReportRange, build
from dialer.storage.migrate import open_database
from dialer.storage.models import AgentStateRow, AttemptRow, Campaign, OrderRow, OutcomeRow
from dialer.storage.reports import SqlReportReads

ZONE = "Europe/Moscow"
LAST_DAY = date(2026, 11, 30)
FIRST = datetime(2025, 11, 30, 0, 0, tzinfo=UTC)  # ~366 days before LAST_DAY's end
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AGENTS = [f"{1000 + n}" for n in range(50)]
INDEXES = (("ix_attempts_started_at", "attempts", "started_at"),
           ("ix_outcomes_created_at", "outcomes", "created_at"),
           ("ix_orders_created_at", "orders", "created_at"),
           ("ix_agent_states_at", "agent_states", "at"),
           ("ix_agent_states_agent_id_at", "agent_states", "agent_id, at"))  # fmt: skip
RESULTS = ("answered", "no_answer", "busy", "agent_missed")
SPANS = (1, 31, 366)
CHUNK = 20_000


def fill(engine: Engine, n: int, seed: int = 1) -> dict[str, int]:
    """A year of history for ``n`` orders; returns the row counts."""
    rng = random.Random(seed)
    with engine.begin() as c:
        c.execute(insert(Campaign).values(name="bench", created_at=FIRST, updated_at=FIRST))
    counts = {"orders": 0, "attempts": 0, "outcomes": 0, "agent_states": 0}
    step = (366 * 86400) / n
    orders: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    for i in range(n):
        created = FIRST + timedelta(seconds=i * step)
        orders.append(_order(i, created))
        at = created + timedelta(seconds=rng.randrange(5, 600))
        for k in range(rng.randint(1, 3)):
            result = rng.choice(RESULTS)
            attempts.append(_attempt(f"{i}-{k}", str(i), rng.choice(AGENTS), at, result, rng=rng))
            at += timedelta(minutes=rng.randrange(3, 90))
        kind = rng.choice(("confirmed", "confirmed", "refused", "no_answer_final", "callback"))
        outcomes.append({"order_id": str(i), "kind": kind, "crm_status": "x", "created_at": at})
        if len(attempts) >= CHUNK:
            _flush(engine, counts, orders, attempts, outcomes)
    _flush(engine, counts, orders, attempts, outcomes)
    counts["agent_states"] = _states(engine, rng)
    return counts


def _order(i: int, created: datetime) -> dict[str, Any]:
    return {"id": str(i), "campaign": "bench", "phone_raw": f"+79{i:09d}",
            "e164": f"+79{i:09d}", "name": "Клиент", "product": "Мака", "created_at": created,
            "crm_status": "x", "crm_state": "x", "updated_at": created,
            "phase": "done"}  # fmt: skip


def _attempt(
    attempt_id: str, order_id: str, agent: str, start: datetime, result: str, *,
    rng: random.Random,
) -> dict[str, Any]:  # fmt: skip
    answered = start + timedelta(seconds=15) if result == "answered" else None
    ended = (answered or start) + timedelta(seconds=rng.randrange(20, 300))
    return {"id": attempt_id, "order_id": order_id, "e164": "+7", "agent": agent,
            "started_at": start, "answered_at": answered, "ended_at": ended, "result": result,
            "customer_attempt": result != "agent_missed"}  # fmt: skip


def _flush(engine: Engine, counts: dict[str, int], *batches: list[dict[str, Any]]) -> None:
    tables = (OrderRow, AttemptRow, OutcomeRow)
    with engine.begin() as c:
        for model, rows in zip(tables, batches, strict=True):
            if rows:
                c.execute(insert(cast(Table, model.__table__)), rows)
                counts[cast(str, model.__tablename__)] += len(rows)
                rows.clear()


def _states(engine: Engine, rng: random.Random) -> int:
    """Each agent, each day: in at 06:00 UTC, calls and wrap-ups, a lunch pause, out at 15:00."""
    rows: list[dict[str, Any]] = []
    total = 0
    for day in range(366):
        start = FIRST + timedelta(days=day, hours=6)
        for agent in AGENTS:
            at = start
            rows.append({"agent_id": agent, "state": "idle", "by": agent, "at": at})
            for state in ("on_call", "wrap_up", "idle") * 6 + ("paused", "idle"):
                at += timedelta(minutes=rng.randrange(5, 40))
                rows.append({"agent_id": agent, "state": state, "by": "system", "at": at})
            rows.append({"agent_id": agent, "state": "logged_out", "by": agent,
                         "at": start + timedelta(hours=9)})  # fmt: skip
        if len(rows) >= CHUNK or day == 365:
            with engine.begin() as c:
                c.execute(insert(cast(Table, AgentStateRow.__table__)), rows)
            total += len(rows)
            rows = []
    return total


def timed(engine: Engine, days: int, repeat: int) -> tuple[float, int]:
    """Median seconds of the report of the last ``days`` days, and its call count."""
    span = ReportRange(LAST_DAY - timedelta(days=days - 1), LAST_DAY, ZONE)
    reads, took, calls = SqlReportReads(engine), [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        report = build(reads.history(span), span, NOW)
        took.append(time.perf_counter() - started)
        calls = report.calls
    return statistics.median(took), calls


def drop_indexes(engine: Engine) -> None:
    with engine.begin() as c:
        for name, _, _ in INDEXES:
            c.execute(text(f"DROP INDEX {name}"))
        c.execute(text("ANALYZE"))


def run(url: str, n: int, repeat: int) -> list[tuple[int, float, float, int]]:
    engine = open_database(url)
    try:
        started = time.perf_counter()
        counts = fill(engine, n)
        with engine.begin() as c:
            c.execute(text("ANALYZE"))
        print(f"filled {counts} in {time.perf_counter() - started:.0f} s")
        indexed = {d: timed(engine, d, repeat) for d in SPANS}
        drop_indexes(engine)
        bare = {d: timed(engine, d, repeat) for d in SPANS}
    finally:
        engine.dispose()
    return [(d, indexed[d][0], bare[d][0], indexed[d][1]) for d in SPANS]


@contextmanager
def database(use_postgres: bool) -> Iterator[str]:
    if use_postgres:
        with postgres() as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'report.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    backend = "PostgreSQL" if args.postgresql else "SQLite"
    with database(args.postgresql) as url:
        rows = run(url, args.orders, args.repeat)
    print(f"\n{backend}, {args.orders:,} orders; report = reads + build, median of {args.repeat}")
    print("| days | calls | with indexes | without | ratio without/with |")
    print("|---|---|---|---|---|")
    for days, with_s, without_s, calls in rows:
        print(f"| {days} | {calls:,} | {with_s:.3f} s | {without_s:.3f} s | "
              f"{without_s / with_s:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
