"""Migration 0012 (issue 21): a campaign's queue is read through its own index, since
several campaigns share ``orders``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from local_services import fresh_database
from sqlalchemy import Engine, create_engine, event, inspect

from dialer.storage.migrate import alembic_config, current_revision, upgrade
from dialer.storage.orders import SqlOrderStore

INDEX = "ix_orders_campaign_phase_priority_next_due_at"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'd.db'}"
    else:
        with fresh_database(request.getfixturevalue("postgres_url"), "queue_index") as fresh:
            yield fresh


def _claim_selects(engine: Engine) -> list[tuple[str, Any]]:
    """The SELECTs (statement, parameters) that ``claim_due`` of campaign ``shop`` sends."""
    sent: list[tuple[str, Any]] = []

    def record(_c: object, _cur: object, statement: str, parameters: Any, *_: object) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM orders" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        SqlOrderStore(engine, campaign="shop").claim_due(NOW, 10)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")  # an empty table
            rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        else:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return " ".join(str(row[-1]) for row in rows)


def test_the_claim_of_one_campaign_is_served_by_the_campaign_queue_index(url: str) -> None:
    engine = create_engine(url)
    try:
        upgrade(engine)
        selects = _claim_selects(engine)
        assert len(selects) == 4  # one per priority, none filled
        for statement, parameters in selects:
            plan = _plan(engine, statement, parameters)
            assert INDEX in plan
            assert "Filter" not in plan  # the campaign is in the index condition, not after it
    finally:
        engine.dispose()


def test_migration_0012_downgrades_to_0011_dropping_only_its_index(url: str) -> None:
    engine = create_engine(url)
    try:
        upgrade(engine)
        assert INDEX in {index["name"] for index in inspect(engine).get_indexes("orders")}
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0011_campaign_versions")
        assert current_revision(engine) == "0011_campaign_versions"
        names = {index["name"] for index in inspect(engine).get_indexes("orders")}
        assert INDEX not in names and "ix_orders_phase_priority_next_due_at" in names
        assert upgrade(engine) == "0012_orders_campaign_index"
    finally:
        engine.dispose()
