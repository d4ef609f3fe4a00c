"""Migration 0011 (issue 21): campaigns stored before versions enter the catalog as they were."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from local_services import fresh_database
from sqlalchemy import create_engine, text

from dialer.catalog.ports import UnknownCampaignError
from dialer.storage.campaigns import SqlCampaignStore
from dialer.storage.catalog import SqlCampaignCatalog
from dialer.storage.migrate import upgrade

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
STORED = json.dumps({"name": "Проект-1", "window": {"start": "09:00"}}, ensure_ascii=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
    else:
        with fresh_database(request.getfixturevalue("postgres_url"), "versions") as fresh:
            yield fresh


def test_rows_stored_at_0010_become_version_1_or_wait_for_the_first_start(url: str) -> None:
    engine = create_engine(url)
    try:
        assert upgrade(engine, "0010_agent_states") == "0010_agent_states"
        with engine.begin() as conn:
            for name, stored, paused, reason in (
                ("Проект-1", STORED, True, "обед"),
                ("default", "{}", False, None),
            ):
                conn.execute(
                    text("INSERT INTO campaigns (name, settings_json, paused, paused_reason,"
                         " created_at, updated_at) VALUES (:n, :s, :p, :r, :t, :t)"),
                    {"n": name, "s": stored, "p": paused, "r": reason,
                     "t": T0.replace(tzinfo=None)},
                )  # fmt: skip
        upgrade(engine, "head")
        catalog = SqlCampaignCatalog(engine)
        [entry] = catalog.entries()
        assert (entry.name, entry.version, entry.state, entry.paused_reason) == (
            "Проект-1", 1, "paused", "обед",
        )  # fmt: skip
        assert entry.settings_json == STORED
        [version] = catalog.history("Проект-1")
        assert (version.version, version.author, version.created_at) == (1, "migration:0011", T0)
        with pytest.raises(UnknownCampaignError):
            catalog.get("default")  # "{}": not in the catalog until the first start imports
        store = SqlCampaignStore(engine)
        assert store.is_paused("Проект-1") and not store.is_paused("default")
        adopted = catalog.create("default", STORED, author="import:x.toml", now=T0)
        assert (adopted.version, adopted.state) == (1, "active")
    finally:
        engine.dispose()


def test_a_pause_made_before_any_settings_survives_the_first_import(tmp_path: Path) -> None:
    """The pause API makes the campaign's row before its settings exist; the first start's
    import adopts that row and must not quietly resume dialling."""
    engine = create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade(engine)
    store = SqlCampaignStore(engine)
    store.set_paused("Проект-1", T0, "ремонт линии")
    got = SqlCampaignCatalog(engine).create("Проект-1", STORED, author="a", now=T0)
    assert (got.state, got.paused_reason) == ("paused", "ремонт линии")
    record = store.set_paused("Проект-1", T0 + timedelta(minutes=1), None)
    assert not record.paused and record.settings_json == STORED
    engine.dispose()


def test_a_resume_does_not_bring_an_archived_campaign_back(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade(engine)
    catalog = SqlCampaignCatalog(engine)
    catalog.create("Проект-1", STORED, author="a", now=T0)
    catalog.set_state("Проект-1", "archived", author="a", now=T0)
    SqlCampaignStore(engine).set_paused("Проект-1", T0, None)
    assert catalog.get("Проект-1").state == "archived"
    engine.dispose()


def test_settings_saved_through_the_pause_view_are_catalog_versions(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade(engine)
    store = SqlCampaignStore(engine)
    store.set_settings("Проект-1", T0, STORED)
    store.set_settings("Проект-1", T0, STORED.replace("09:00", "10:00"), author="supervisor:o")
    history = SqlCampaignCatalog(engine).history("Проект-1")
    assert [(v.version, v.author) for v in history] == [(2, "supervisor:o"), (1, "api")]
    engine.dispose()
