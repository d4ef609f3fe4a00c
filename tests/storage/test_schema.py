"""The migrated schema: agrees with the models, upgrades idempotently, enforces the rules."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
import setuptools  # type: ignore[import-untyped]
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from dialer.storage.engine import make_engine
from dialer.storage.errors import SchemaError
from dialer.storage.migrate import (
    current_revision,
    head_revision,
    migration_sql,
    open_database,
    upgrade,
)
from dialer.storage.models import AttemptRow, Base, Campaign, OrderRow

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TABLES = {
    "agent_credentials", "agent_sessions", "agent_states", "agents", "alembic_version",
    "api_tokens", "attempts", "campaign_versions", "campaigns", "crm_cursors", "do_not_call",
    "numbering_meta", "numbering_ranges", "orders", "outbox", "outcomes", "telephony_outbox",
    "supervision_audit", "supervisor_credentials", "supervisor_sessions", "supervisors",
}  # fmt: skip


def differences(engine: Engine, metadata: MetaData) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_upgrade_creates_every_table_at_head(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) == TABLES


def test_upgrade_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(insert(Campaign).values(name="c", created_at=NOW, updated_at=NOW))
    assert upgrade(engine) == head_revision()
    assert upgrade(db_url) == head_revision()
    with engine.connect() as connection:
        assert connection.scalars(select(Campaign.name)).all() == ["c"]


def test_the_migrated_schema_and_the_models_agree(engine: Engine) -> None:
    assert differences(engine, Base.metadata) == []


def test_the_agreement_check_does_see_a_difference(engine: Engine) -> None:
    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["orders"].append_column(Column("surprise", Integer))
    assert [diff[0] for diff in differences(engine, changed)] == ["add_column"]  # type: ignore[index]


def test_open_database_migrates_a_new_file_and_reopens_it(db_url: str) -> None:
    assert current_revision(open_database(db_url)) == head_revision()
    assert current_revision(open_database(db_url)) == head_revision()


def test_a_database_migrated_by_a_newer_version_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(SchemaError, match=r"revision 'ffff', unknown to this version"):
        upgrade(engine)


def test_migration_scripts_are_found_as_packages_for_the_wheel() -> None:
    root = Path(__file__).resolve().parents[2]
    packages = setuptools.find_packages(str(root), include=["dialer*"])
    assert {"dialer.storage.migrations", "dialer.storage.migrations.versions"} <= set(packages)
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert '"*.mako"' in pyproject  # script.py.mako ships as package data


# --- the rules the schema itself enforces ---------------------------------------------


def add_order(engine: Engine, order_id: str) -> None:
    with engine.begin() as connection:
        if connection.scalar(select(Campaign.name)) is None:
            connection.execute(insert(Campaign).values(name="c", created_at=NOW, updated_at=NOW))
        connection.execute(
            insert(OrderRow).values(
                id=order_id, campaign="c", phone_raw="89160000000", name="N", product="P",
                created_at=NOW, crm_status="s", crm_state="t", updated_at=NOW,
            )
        )  # fmt: skip


def start_attempt(engine: Engine, attempt_id: str, order_id: str, e164: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(AttemptRow).values(
                id=attempt_id, order_id=order_id, e164=e164, agent="a1", started_at=NOW
            )
        )


def end_attempt(engine: Engine, attempt_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(AttemptRow)
            .where(AttemptRow.id == attempt_id)
            .values(ended_at=NOW + timedelta(minutes=1), result="no_answer")
        )


def test_only_one_live_attempt_per_order(engine: Engine) -> None:
    add_order(engine, "A")
    start_attempt(engine, "ch-1", "A", "+79160000001")
    with pytest.raises(IntegrityError, match=r"attempts\.order_id"):
        start_attempt(engine, "ch-2", "A", "+79160000002")
    end_attempt(engine, "ch-1")
    start_attempt(engine, "ch-2", "A", "+79160000002")


def test_only_one_live_attempt_per_phone_number(engine: Engine) -> None:
    add_order(engine, "A")
    add_order(engine, "B")
    start_attempt(engine, "ch-1", "A", "+79160000001")
    with pytest.raises(IntegrityError, match=r"attempts\.e164"):
        start_attempt(engine, "ch-2", "B", "+79160000001")
    end_attempt(engine, "ch-1")
    start_attempt(engine, "ch-2", "B", "+79160000001")
    with engine.connect() as connection:
        live = connection.scalars(select(AttemptRow.id).where(AttemptRow.ended_at.is_(None)))
        assert live.all() == ["ch-2"]


def test_order_phase_outside_the_lifecycle_is_refused(engine: Engine) -> None:
    add_order(engine, "A")
    with pytest.raises(IntegrityError, match="ck_orders_phase"), engine.begin() as connection:
        connection.execute(update(OrderRow).values(phase="lost"))


def test_new_orders_get_counters_and_phase_defaults_from_the_database(engine: Engine) -> None:
    add_order(engine, "A")
    with engine.connect() as connection:
        row = connection.execute(select(OrderRow)).one()
    assert (row.phase, row.customer_attempts, row.version, row.prepaid) == ("queued", 0, 1, False)
    assert row.created_at == NOW and row.created_at.tzinfo is UTC


def test_the_dispatcher_query_is_served_by_the_queue_index(engine: Engine) -> None:
    query = (
        "EXPLAIN QUERY PLAN SELECT id FROM orders WHERE phase = 'queued' "
        "AND next_due_at <= '2026-03-02 09:00:00' ORDER BY next_due_at LIMIT 10"
    )
    with engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(query))
    assert "USING INDEX ix_orders_phase_next_due_at (phase=? AND next_due_at<?)" in plan
    assert "TEMP B-TREE" not in plan  # no sort step: the index gives the order


def test_the_migrations_render_portable_postgresql_ddl() -> None:
    ddl = migration_sql("postgresql://")
    assert (
        "CREATE UNIQUE INDEX uq_attempts_live_order ON attempts (order_id) WHERE ended_at IS NULL;"
        in ddl
    )
    assert (
        "CREATE UNIQUE INDEX uq_attempts_live_e164 ON attempts (e164) WHERE ended_at IS NULL;"
        in ddl
    )
    assert "dead BOOLEAN DEFAULT false NOT NULL" in ddl
    assert "next_due_at TIMESTAMP WITH TIME ZONE" in ddl
    assert "id SERIAL NOT NULL" in ddl
    assert "DATETIME" not in ddl and "AUTOINCREMENT" not in ddl


def _open_and_report(url: str, start: Barrier, results: Queue) -> None:  # type: ignore[type-arg]
    start.wait()
    try:
        results.put(current_revision(open_database(url)))
    except Exception as exc:  # reported to the test process, which asserts on it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_starting_together_on_a_new_file_all_get_the_migrated_schema(
    db_url: str,
) -> None:
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(4), context.Queue()
    workers = [
        context.Process(target=_open_and_report, args=(db_url, start, results)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(results.get(timeout=5) for _ in workers) == [head_revision()] * 4
