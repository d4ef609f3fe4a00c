"""One contract for every CampaignCatalog: the in-memory fake, SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from local_services import fresh_database
from sqlalchemy import Engine

from dialer.catalog.memory import MemoryCatalog
from dialer.catalog.ports import (
    CampaignCatalog,
    CampaignExistsError,
    CatalogError,
    UnknownCampaignError,
    UnknownVersionError,
    VersionConflictError,
)
from dialer.storage.catalog import SqlCampaignCatalog
from dialer.storage.migrate import open_database

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
NAME = "Проект-1"
NodeCatalog = Callable[[], CampaignCatalog]


def settings(start: str = "09:00", **more: object) -> str:
    body = {"name": NAME, "window": {"start": start, "end": "21:00"}, **more}
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def node_catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeCatalog]:
    """Makes the catalog of one more node on the same data (the fake: the same object)."""
    if request.param == "memory":
        shared = MemoryCatalog()
        yield lambda: shared
        return
    engines: list[Engine] = []

    def on(url: str) -> NodeCatalog:
        def make() -> CampaignCatalog:
            engines.append(open_database(url))
            return SqlCampaignCatalog(engines[-1])

        return make

    if request.param == "sqlite":
        yield on(f"sqlite:///{tmp_path}/catalog.db")
    else:
        with fresh_database(request.getfixturevalue("postgres_url"), "catalog") as url:
            yield on(url)
    for engine in engines:
        engine.dispose()


@pytest.fixture
def catalog(node_catalog: NodeCatalog) -> CampaignCatalog:
    return node_catalog()


def test_a_created_campaign_is_version_1_active_and_listed(catalog: CampaignCatalog) -> None:
    made = catalog.create(NAME, settings(), author="cli:olga", now=T0, note="new")
    assert (made.name, made.version, made.state, made.paused_reason) == (NAME, 1, "active", None)
    assert (made.settings_json, made.updated_at, made.updated_by) == (settings(), T0, "cli:olga")
    assert catalog.get(NAME) == made
    assert catalog.entries() == [made]
    [first] = catalog.history(NAME)
    assert (first.campaign, first.version, first.author, first.note) == (NAME, 1, "cli:olga", "new")
    assert (first.settings_json, first.created_at) == (settings(), T0)


def test_creating_a_name_taken_is_refused_and_changes_nothing(catalog: CampaignCatalog) -> None:
    catalog.create(NAME, settings(), author="a", now=T0)
    with pytest.raises(CampaignExistsError, match=NAME):
        catalog.create(NAME, settings("10:00"), author="b", now=T0 + timedelta(minutes=1))
    assert catalog.get(NAME).settings_json == settings()
    assert len(catalog.history(NAME)) == 1


def test_an_unknown_campaign_is_named_in_the_error(catalog: CampaignCatalog) -> None:
    for call in (
        lambda: catalog.get("Нет-такой"),
        lambda: catalog.history("Нет-такой"),
        lambda: catalog.update("Нет-такой", settings(), author="a", now=T0),
        lambda: catalog.rollback("Нет-такой", 1, author="a", now=T0),
        lambda: catalog.set_state("Нет-такой", "archived", author="a", now=T0),
    ):
        with pytest.raises(UnknownCampaignError, match="Нет-такой"):
            call()
    assert catalog.entries(include_archived=True) == []


def test_an_update_writes_the_next_version(catalog: CampaignCatalog) -> None:
    catalog.create(NAME, settings(), author="a", now=T0)
    later = T0 + timedelta(hours=1)
    got = catalog.update(NAME, settings("10:00"), author="supervisor:olga", now=later, note="n")
    assert (got.version, got.settings_json, got.updated_at) == (2, settings("10:00"), later)
    assert got.updated_by == "supervisor:olga"
    assert catalog.get(NAME) == got


def test_an_update_with_the_same_json_writes_no_version(catalog: CampaignCatalog) -> None:
    made = catalog.create(NAME, settings(), author="a", now=T0)
    same = catalog.update(NAME, settings(), author="b", now=T0 + timedelta(hours=1))
    assert same == made
    assert [v.version for v in catalog.history(NAME)] == [1]


def test_an_update_expecting_an_old_version_is_refused(catalog: CampaignCatalog) -> None:
    catalog.create(NAME, settings(), author="a", now=T0)
    catalog.update(NAME, settings("10:00"), author="b", now=T0, expected_version=1)
    with pytest.raises(VersionConflictError, match="version 2"):
        catalog.update(NAME, settings("11:00"), author="c", now=T0, expected_version=1)
    assert catalog.get(NAME).settings_json == settings("10:00")
    assert [v.version for v in catalog.history(NAME)] == [2, 1]


def test_history_is_newest_first(catalog: CampaignCatalog) -> None:
    catalog.create(NAME, settings("08:00"), author="a", now=T0)
    for n, start in enumerate(("09:00", "10:00"), start=1):
        catalog.update(NAME, settings(start), author=f"u{n}", now=T0 + timedelta(minutes=n))
    history = catalog.history(NAME)
    assert [(v.version, v.author) for v in history] == [(3, "u2"), (2, "u1"), (1, "a")]
    assert [v.settings_json for v in history] == [settings(s) for s in ("10:00", "09:00", "08:00")]


def test_a_rollback_writes_a_new_version_with_the_old_settings(catalog: CampaignCatalog) -> None:
    catalog.create(NAME, settings("08:00"), author="a", now=T0)
    catalog.update(NAME, settings("10:00"), author="b", now=T0)
    later = T0 + timedelta(days=1)
    got = catalog.rollback(NAME, 1, author="cli:root", now=later)
    assert (got.version, got.settings_json, got.updated_by) == (3, settings("08:00"), "cli:root")
    newest = catalog.history(NAME)[0]
    assert (newest.version, newest.note, newest.author, newest.created_at) == (
        3, "rollback to 1", "cli:root", later,
    )  # fmt: skip
    assert len(catalog.history(NAME)) == 3


def test_a_rollback_to_a_version_never_saved_is_refused(catalog: CampaignCatalog) -> None:
    catalog.create(NAME, settings(), author="a", now=T0)
    for version in (0, 2, 99):
        with pytest.raises(UnknownVersionError, match=str(version)):
            catalog.rollback(NAME, version, author="b", now=T0)
    assert catalog.get(NAME).version == 1


def test_a_pause_needs_a_reason_and_keeps_it(catalog: CampaignCatalog) -> None:
    made = catalog.create(NAME, settings(), author="a", now=T0)
    for reason in (None, "", "   "):
        with pytest.raises(CatalogError, match="reason"):
            catalog.set_state(NAME, "paused", author="b", now=T0, reason=reason)
    assert catalog.get(NAME).state == "active"
    paused = catalog.set_state(NAME, "paused", author="b", now=T0, reason=" обед ")
    assert (paused.state, paused.paused_reason, paused.updated_by) == ("paused", "обед", "b")
    assert paused.version == made.version and len(catalog.history(NAME)) == 1
    resumed = catalog.set_state(NAME, "active", author="c", now=T0)
    assert (resumed.state, resumed.paused_reason) == ("active", None)


def test_archived_campaigns_are_listed_only_when_asked(catalog: CampaignCatalog) -> None:
    catalog.create("Б-2", settings(), author="a", now=T0)
    catalog.create(NAME, settings(), author="a", now=T0)
    archived = catalog.set_state("Б-2", "archived", author="a", now=T0)
    assert [e.name for e in catalog.entries()] == [NAME]
    assert [e.name for e in catalog.entries(include_archived=True)] == sorted(["Б-2", NAME])
    assert catalog.get("Б-2") == archived
    with pytest.raises(CampaignExistsError):
        catalog.create("Б-2", settings(), author="a", now=T0)


def test_two_nodes_saving_the_same_version_at_once_make_one_winner(
    node_catalog: NodeCatalog,
) -> None:
    """Optimistic saves from two nodes (two browsers, say): exactly one lands; the other is
    told the campaign moved on, and nothing is half-written."""
    nodes = [node_catalog(), node_catalog()]
    nodes[0].create(NAME, settings(), author="a", now=T0)
    for n in range(10):
        barrier = threading.Barrier(2)
        version = nodes[0].get(NAME).version

        def save(
            catalog: CampaignCatalog, start: str, barrier: threading.Barrier, version: int
        ) -> str:
            barrier.wait()
            try:
                catalog.update(NAME, settings(start), author=start, now=T0,
                               expected_version=version)  # fmt: skip
            except VersionConflictError:
                return "conflict"
            return "saved"

        starts = [f"1{n}:00", f"1{n}:30"]
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(save, nodes, starts, [barrier] * 2, [version] * 2))
        assert sorted(results) == ["conflict", "saved"], f"round {n}: {results}"
        now = nodes[1].get(NAME)
        assert now.version == version + 1
        assert nodes[1].history(NAME)[0].settings_json == now.settings_json


def test_names_and_notes_in_any_script_come_back_as_written(catalog: CampaignCatalog) -> None:
    catalog.create("НФ-00123 проект", settings(note="Ёжик"), author="cli:ольга", now=T0,
                   note="первый запуск")  # fmt: skip
    [version] = catalog.history("НФ-00123 проект")
    assert (version.author, version.note) == ("cli:ольга", "первый запуск")
    assert json.loads(catalog.get("НФ-00123 проект").settings_json)["note"] == "Ёжик"
