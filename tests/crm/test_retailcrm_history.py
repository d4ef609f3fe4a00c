"""RetailCRM incremental intake: ``orders/history`` since a kept cursor, orders read by ids.

The double's history entries are shaped as retailcrm/api-client-php
``tests/src/ResourceGroup/OrdersTest.php`` ``testHistory`` (``retailcrm_fixtures.history_entry``;
``apiKey.current`` from ``src/Model/Entity/HistoryApiKey.php``), the order list filtered by
ids as ``src/Model/Filter/Orders/OrderFilter.php`` (``ids``, ``externalIds``).
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import retailcrm_fixtures as fixtures
from crm_backends import FakeClock, retail_order
from crm_servers import API_KEY, RetailCrmDouble
from test_crm_contract import delivery, order

from campaigns.orders import Order
from campaigns.settings import CampaignSettings
from crm_adapter.port import CrmOrderStatus, IncrementalIntake, IntakeChanges, IntakeFilter
from crm_adapter.retailcrm import CustomFields, RetailCrmAdapter, RetailCrmSettings
from crm_adapter.retailcrm_limits import RateLimiter
from dialer.app.admission import Admission
from dialer.app.jobs import PeriodicJobs
from dialer.app.status_reads import CrmStatusReads
from dialer.config.service import ServiceSettings
from dialer.dispatch.status_recheck import StatusRecheck
from dialer.storage.cursors import SqlCursorStore
from dialer.storage.errors import DatabaseUnavailableError
from dialer.storage.migrate import open_database

CAMPAIGN = CampaignSettings(intake_statuses=("new",), intake_states=())
INTAKE = IntakeFilter.for_campaign(CAMPAIGN)
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class Wall:
    """The adapter's wall clock, moved by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def make(crm: RetailCrmDouble, wall: Wall | None = None, **changes: Any) -> RetailCrmAdapter:
    settings = RetailCrmSettings(
        url=crm.server.url, api_key=API_KEY, site=crm.site, by="externalId",
        custom_fields=CustomFields(state="state"), timeout_s=5, comment_to="statusComment",
        **changes,
    )  # fmt: skip
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    return RetailCrmAdapter(settings, limiter=limiter, sleep=clock.sleep, clock=wall or Wall())


def new_order(crm: RetailCrmDouble, ident: str, number: int, **changes: Any) -> dict[str, Any]:
    raw = retail_order(order(ident, number, status="new", **changes), number, crm.site)
    crm.create(raw)
    return raw


def paths(crm: RetailCrmDouble) -> list[tuple[str, dict[str, list[str]]]]:
    """The requests' paths (after /api/v5) and queries, in order."""
    found = []
    for _method, path, _headers, _body in crm.server.requests:
        parsed = urllib.parse.urlsplit(path)
        found.append((parsed.path.removeprefix("/api/v5"), urllib.parse.parse_qs(parsed.query)))
    return found


def since_id(changes: IntakeChanges | None) -> int:
    assert changes is not None
    assert changes.cursor is not None
    import json  # noqa: PLC0415

    return int(json.loads(changes.cursor)["since_id"])


def test_first_start_lists_in_full_after_taking_the_newest_history_id(
    retail_crm: RetailCrmDouble,
) -> None:
    """No cursor: the history's newest id is read first (count of pages, then the last
    page), then every waiting order is listed; the cursor is that newest id, so a change
    made during the listing is read again by the next poll, never lost."""
    for n in range(1, 131):
        new_order(retail_crm, f"E{n:03}", n)
    adapter = make(retail_crm)
    changes = adapter.fetch_changes(INTAKE, None)
    assert changes is not None
    assert changes.full
    assert len(changes.orders) == 130
    assert since_id(changes) == 130
    asked = paths(retail_crm)
    assert [p for p, _q in asked[:2]] == ["/orders/history", "/orders/history"]
    assert asked[1][1]["page"] == ["2"]  # the last page of 100
    assert all(p == "/orders" for p, _q in asked[2:])


def test_a_poll_reads_history_since_the_cursor_and_the_changed_orders_in_one_request(
    retail_crm: RetailCrmDouble,
) -> None:
    """A poll with nothing new is one request; new orders are read by ids, all at once."""
    new_order(retail_crm, "E001", 1)
    adapter = make(retail_crm)
    first = adapter.fetch_changes(INTAKE, None)
    assert first is not None
    retail_crm.server.requests.clear()
    idle = adapter.fetch_changes(INTAKE, first.cursor)
    assert idle is not None
    assert idle.orders == ()
    assert [p for p, _q in paths(retail_crm)] == ["/orders/history"]
    assert paths(retail_crm)[0][1]["filter[sinceId]"] == ["1"]
    retail_crm.server.requests.clear()
    new_order(retail_crm, "E002", 2)
    new_order(retail_crm, "E003", 3)
    changes = adapter.fetch_changes(INTAKE, idle.cursor)
    assert changes is not None
    assert not changes.full
    assert sorted(o.id for o in changes.orders) == ["E002", "E003"]
    assert since_id(changes) == 3
    asked = paths(retail_crm)
    assert [p for p, _q in asked] == ["/orders/history", "/orders"]
    assert sorted(asked[1][1]["filter[ids][]"]) == ["2", "3"]


def test_an_order_without_external_id_in_history_is_taken_as_hash_id(
    retail_crm: RetailCrmDouble,
) -> None:
    """The fixture's order 7141 (``OrdersTest.php`` ``testList``) has no externalId."""
    adapter = make(retail_crm)
    first = adapter.fetch_changes(INTAKE, None)
    assert first is not None
    raw = retail_order(order("x", 0, status="new"), 7141, retail_crm.site)
    del raw["externalId"]
    retail_crm.create(raw)
    changes = adapter.fetch_changes(INTAKE, first.cursor)
    assert changes is not None
    assert [o.id for o in changes.orders] == ["#7141"]


def test_history_is_paged_from_the_last_id_read(retail_crm: RetailCrmDouble) -> None:
    """250 changes: three history requests, each since the last id of the one before;
    the 250 orders read in three requests of at most 100 ids."""
    adapter = make(retail_crm)
    first = adapter.fetch_changes(INTAKE, None)
    assert first is not None
    retail_crm.server.requests.clear()
    for n in range(1, 251):
        new_order(retail_crm, f"E{n:03}", n)
    changes = adapter.fetch_changes(INTAKE, first.cursor)
    assert changes is not None
    assert len(changes.orders) == 250
    assert since_id(changes) == 250
    asked = paths(retail_crm)
    history = [q["filter[sinceId]"][0] for p, q in asked if p == "/orders/history"]
    assert history == ["0", "100", "200"]
    by_ids = [len(q["filter[ids][]"]) for p, q in asked if p == "/orders"]
    assert by_ids == [100, 100, 50]


def test_the_dialers_own_edits_are_left_out(retail_crm: RetailCrmDouble) -> None:
    """An outcome written with the dialer's key appears in history with
    ``apiKey.current`` true: the poll reads no order for it (and the cursor moves on)."""
    new_order(retail_crm, "E001", 1)
    adapter = make(retail_crm)
    first = adapter.fetch_changes(INTAKE, None)
    assert first is not None
    adapter.write_outcome(delivery("E001", "k-1", status="no-call", problem=None))
    retail_crm.change("E001", "phone", "+79161234599", own=True)
    retail_crm.server.requests.clear()
    changes = adapter.fetch_changes(INTAKE, first.cursor)
    assert changes is not None
    assert changes.orders == ()
    assert since_id(changes) == len(retail_crm.history) > 1
    assert [p for p, _q in paths(retail_crm)] == ["/orders/history"]


def test_history_refused_falls_back_to_full_listing_with_a_warning(
    retail_crm: RetailCrmDouble, caplog: pytest.LogCaptureFixture
) -> None:
    """A key without the right to read history (403): every waiting order is listed, the
    warning names the cause, no cursor is kept; listings and history tries come at most
    every ``listing_interval_s``."""
    new_order(retail_crm, "E001", 1)
    retail_crm.history_forbidden = True
    wall = Wall()
    adapter = make(retail_crm, wall)
    with caplog.at_level(logging.WARNING, "crm_adapter.retailcrm"):
        changes = adapter.fetch_changes(INTAKE, None)
    assert changes is not None
    assert [o.id for o in changes.orders] == ["E001"]
    assert changes.full
    assert changes.cursor is None
    assert "orders/history not usable" in caplog.text
    assert "403 Access denied" in caplog.text
    retail_crm.server.requests.clear()
    wall.now += timedelta(seconds=2)
    assert adapter.fetch_changes(INTAKE, None) is None  # not due yet: no request
    assert retail_crm.server.requests == []
    retail_crm.history_forbidden = False
    wall.now += timedelta(seconds=30)
    back = adapter.fetch_changes(INTAKE, None)
    assert back is not None
    assert since_id(back) == 1  # history readable again: a cursor is taken


def test_a_cursor_too_old_or_of_another_account_means_a_full_listing(
    retail_crm: RetailCrmDouble, caplog: pytest.LogCaptureFixture
) -> None:
    new_order(retail_crm, "E001", 1)
    wall = Wall()
    adapter = make(retail_crm, wall)
    first = adapter.fetch_changes(INTAKE, None)
    assert first is not None
    assert first.cursor is not None
    wall.now += timedelta(days=2)
    with caplog.at_level(logging.WARNING, "crm_adapter.retailcrm"):
        again = adapter.fetch_changes(INTAKE, first.cursor)
    assert again is not None
    assert again.full
    assert [o.id for o in again.orders] == ["E001"]
    assert "older than allowed" in caplog.text
    other = first.cursor.replace(retail_crm.server.url, "https://other.example")
    assert make(retail_crm, wall).fetch_changes(INTAKE, other).full  # type: ignore[union-attr]
    assert "another account" in caplog.text


def test_a_managers_cancel_reaches_the_pre_dial_recheck(retail_crm: RetailCrmDouble) -> None:
    """A manager moves a waiting order to ``cancel-other``: the poll hands the order to
    admission like a push, and the dispatcher's status check then says leave the queue."""
    new_order(retail_crm, "E001", 1)
    adapter = make(retail_crm)
    first = adapter.fetch_changes(INTAKE, None)
    assert first is not None
    recheck = StatusRecheck(
        CAMPAIGN, frozenset({"no-call"}), clock=lambda: T0,
        max_age=timedelta(seconds=60), retry_after=timedelta(seconds=5),
    )  # fmt: skip
    admitted: list[Order] = []
    dispatcher = SimpleNamespace(admit=lambda orders, _now: admitted.extend(orders) or 0)
    slots = SimpleNamespace(first=SimpleNamespace(dispatcher=dispatcher))
    results = SimpleNamespace(noted=lambda _statuses: None)
    admission = Admission(recheck, cast(Any, slots), INTAKE, cast(Any, results),
                          clock=lambda: T0, wake=lambda: None)  # fmt: skip
    admission.accept(list(first.orders))
    waiting = first.orders[0]
    assert recheck.check(waiting) is True
    retail_crm.change("E001", "status", "cancel-other")
    changes = adapter.fetch_changes(INTAKE, first.cursor)
    assert changes is not None
    assert [(o.id, o.status) for o in changes.orders] == [("E001", "cancel-other")]
    admission.accept(list(changes.orders))
    assert recheck.check(waiting) is False
    assert [o.id for o in admitted] == ["E001"]  # admitted once, when it was waiting


def test_read_statuses_reads_many_orders_in_one_request(retail_crm: RetailCrmDouble) -> None:
    """The pre-dial re-check's batch: one list request by externalIds, one by ids for the
    ``#<id>`` orders; an order RetailCRM does not have is absent."""
    for n in range(1, 4):
        new_order(retail_crm, f"E{n:03}", n)
    raw = retail_order(order("x", 0, status="cancel-other"), 7141, retail_crm.site)
    del raw["externalId"]
    retail_crm.create(raw)
    retail_crm.server.requests.clear()
    found = make(retail_crm).read_statuses(["E001", "E002", "E003", "E999", "#7141"])
    assert {k: v.status for k, v in found.items()} == {
        "E001": "new", "E002": "new", "E003": "new", "#7141": "cancel-other",
    }  # fmt: skip
    asked = [q for _p, q in paths(retail_crm)]
    assert len(asked) == 2
    by_ids = next(q for q in asked if "filter[ids][]" in q)
    by_external = next(q for q in asked if "filter[externalIds][]" in q)
    assert by_ids["filter[ids][]"] == ["7141"]
    assert sorted(by_external["filter[externalIds][]"]) == ["E001", "E002", "E003", "E999"]


def test_history_off_lists_at_every_poll_of_the_listing_interval(
    retail_crm: RetailCrmDouble,
) -> None:
    """Without history every poll lists: the scheduler spaces them (every 30 s), and an
    early one (on becoming leader) is not skipped."""
    new_order(retail_crm, "E001", 1)
    wall = Wall()
    adapter = make(retail_crm, wall, history=False, listing_interval_s=30.0)
    assert isinstance(adapter, IncrementalIntake)
    assert adapter.poll_interval_s == 30.0
    assert make(retail_crm).poll_interval_s == 2.0
    for _ in range(2):
        changes = adapter.fetch_changes(INTAKE, None)
        assert changes is not None
        assert [o.id for o in changes.orders] == ["E001"]
        wall.now += timedelta(seconds=1)  # e.g. polled at once on becoming leader
    assert not any(p == "/orders/history" for p, _q in paths(retail_crm))


# ---- the poll job: the cursor kept in the store, after admission ----------------------------


def jobs_for(
    adapter: RetailCrmAdapter, store: SqlCursorStore, accept: Callable[[list[Order]], int],
    recheck: StatusRecheck | None = None,
) -> PeriodicJobs:  # fmt: skip
    dummy = cast(Any, SimpleNamespace(failed=lambda _why: None, answered=lambda: None))
    return PeriodicJobs(
        ServiceSettings(), CAMPAIGN, clock=lambda: T0, crm=adapter, crm_watch=dummy,
        intake=INTAKE, outbox=cast(Any, None), recheck=cast(Any, recheck),
        executor=ThreadPoolExecutor(max_workers=1), accept=accept, follow_crm=lambda: None,
        queue_summary=list, wake=lambda: None, leader=lambda: True, stopping=lambda: False,
        spawn=cast(Any, None), why=str, cursors=store,
    )  # fmt: skip


def test_the_cursor_is_kept_in_the_store_across_an_adapter_restart(
    retail_crm: RetailCrmDouble, tmp_path: Path
) -> None:
    """The poll keeps the cursor in crm_cursors; a new adapter (a restart) reads history
    from it, with no full listing."""
    store = SqlCursorStore(open_database(f"sqlite:///{tmp_path / 'd.db'}"))
    new_order(retail_crm, "E001", 1)
    got: list[list[Order]] = []
    jobs = jobs_for(make(retail_crm), store, lambda orders: got.append(orders) or 0)
    assert jobs.poll_interval_s() == 2.0
    asyncio.run(jobs.poll())
    assert [o.id for o in got[0]] == ["E001"]
    assert store.get("crm-intake:default") is not None
    new_order(retail_crm, "E002", 2)
    retail_crm.server.requests.clear()
    restarted = jobs_for(make(retail_crm), store, lambda orders: got.append(orders) or 0)
    asyncio.run(restarted.poll())
    assert [o.id for o in got[1]] == ["E002"]
    assert [p for p, _q in paths(retail_crm)] == ["/orders/history", "/orders"]


def test_the_cursor_moves_only_after_the_orders_were_admitted(
    retail_crm: RetailCrmDouble, tmp_path: Path
) -> None:
    """Admission fails (the database is down): the cursor stays, the next poll reads the
    same changes again (at-least-once; admission is idempotent)."""
    store = SqlCursorStore(open_database(f"sqlite:///{tmp_path / 'd.db'}"))
    got: list[list[Order]] = []
    jobs = jobs_for(make(retail_crm), store, lambda orders: got.append(orders) or 0)
    asyncio.run(jobs.poll())
    kept = store.get("crm-intake:default")
    new_order(retail_crm, "E001", 1)

    def down(_orders: list[Order]) -> int:
        raise DatabaseUnavailableError("database is locked")

    asyncio.run(jobs_for(make(retail_crm), store, down).poll())
    assert store.get("crm-intake:default") == kept
    asyncio.run(jobs.poll())
    assert [o.id for o in got[-1]] == ["E001"]
    assert store.get("crm-intake:default") != kept


def test_an_order_deleted_in_retailcrm_leaves_the_queue(
    retail_crm: RetailCrmDouble, tmp_path: Path
) -> None:
    """A ``deleted`` history entry: the poll notes the order as gone for the re-check."""
    store = SqlCursorStore(open_database(f"sqlite:///{tmp_path / 'd.db'}"))
    recheck = StatusRecheck(
        CAMPAIGN, frozenset({"no-call"}), clock=lambda: T0,
        max_age=timedelta(seconds=60), retry_after=timedelta(seconds=5),
    )  # fmt: skip
    new_order(retail_crm, "E001", 1)
    got: list[list[Order]] = []
    jobs = jobs_for(make(retail_crm), store, lambda orders: got.append(orders) or 0, recheck)
    asyncio.run(jobs.poll())
    waiting = got[0][0]
    recheck.note(CrmOrderStatus("E001", "new", "Новый"), T0)
    assert recheck.check(waiting) is True
    retail_crm.delete("E001")
    asyncio.run(jobs.poll())
    assert recheck.check(waiting) is False


def test_a_deleted_order_of_another_site_is_not_taken_for_ours(
    retail_crm: RetailCrmDouble,
) -> None:
    """externalIds may repeat across the shops a key sees: a deletion in another site
    with our order's externalId is not ours."""
    new_order(retail_crm, "E001", 1)
    adapter = make(retail_crm)
    first = adapter.fetch_changes(INTAKE, None)
    assert first is not None
    theirs = {**retail_crm.orders["E001"], "id": 99, "site": "other-shop"}
    retail_crm.history.append(
        fixtures.history_entry(len(retail_crm.history) + 1, theirs, "id", 99, None,
                               created=False, own=False, source="user") | {"deleted": True}
    )  # fmt: skip
    retail_crm.delete("E001")
    changes = adapter.fetch_changes(INTAKE, first.cursor)
    assert changes is not None
    assert changes.gone == ("E001",)  # ours, once; not the other shop's


# ---- the pre-dial re-check's reads in the service: one batch ---------------------------------


def test_the_services_status_reads_go_to_retailcrm_as_one_batch(
    retail_crm: RetailCrmDouble,
) -> None:
    """``CrmStatusReads`` gives a round's orders to ``read_statuses`` at once: one request;
    a cancelled order and one RetailCRM lost leave the queue, a waiting one is dialled."""
    new_order(retail_crm, "E001", 1)
    new_order(
        retail_crm,
        "E002",
        2,
    )
    retail_crm.change("E002", "status", "cancel-other")
    retail_crm.server.requests.clear()
    recheck = StatusRecheck(
        CAMPAIGN, frozenset({"no-call"}), clock=lambda: T0,
        max_age=timedelta(seconds=60), retry_after=timedelta(seconds=5),
    )  # fmt: skip
    waiting = [order(i, 0, status="new") for i in ("E001", "E002", "E404")]
    assert [recheck.check(o) for o in waiting] == [None, None, None]
    ids = recheck.take_wanted(T0)
    spawned: list[Any] = []
    watch = SimpleNamespace(failed=lambda _why: None, answered=lambda: None)
    reads = CrmStatusReads(
        make(retail_crm), recheck, cast(Any, watch), ServiceSettings(),
        executor=ThreadPoolExecutor(max_workers=1), clock=lambda: T0,
        spawn=spawned.append, wake=lambda: None,
    )  # fmt: skip
    reads.read(ids, T0)
    asyncio.run(spawned[0])
    assert [recheck.check(o) for o in waiting] == [True, False, False]
    assert [p for p, _q in paths(retail_crm)] == ["/orders"]


def test_a_failed_batch_read_leaves_every_order_unchecked(retail_crm: RetailCrmDouble) -> None:
    recheck = StatusRecheck(
        CAMPAIGN, frozenset({"no-call"}), clock=lambda: T0,
        max_age=timedelta(seconds=60), retry_after=timedelta(seconds=5),
    )  # fmt: skip
    waiting = [order(i, 0, status="new") for i in ("E001", "E002")]
    for o in waiting:
        recheck.check(o)
    failures: list[str] = []
    watch = SimpleNamespace(failed=failures.append, answered=lambda: None)
    spawned: list[Any] = []
    reads = CrmStatusReads(
        make(retail_crm, retries=0), recheck, cast(Any, watch), ServiceSettings(),
        executor=ThreadPoolExecutor(max_workers=1), clock=lambda: T0,
        spawn=spawned.append, wake=lambda: None,
    )  # fmt: skip
    retail_crm.unavailable = 5

    async def run() -> None:
        reads.read(recheck.take_wanted(T0), T0)
        await spawned[0]

    asyncio.run(run())
    assert [recheck.check(o) for o in waiting] == [None, None]  # asked again, never dialled
    assert failures and "503" in failures[0]
    assert recheck.take_wanted(T0) == []  # not before status_retry_s
