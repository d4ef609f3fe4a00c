"""RetailCRM telephony on the node (issue 17 §2): the feed's call stages become queued
call events and uploads that survive a RetailCRM outage.

Shapes as RetailCRM's official clients send them: retailcrm/api-client-php
``src/Model/Entity/Telephony/CallEvent.php`` and ``src/Model/Entity/Telephony/Call.php``
(checked by ``retailcrm_telephony_double``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from crm_servers import API_KEY
from retailcrm_telephony_double import RetailCrmTelephonyDouble
from test_retailcrm_telephony import settings

from campaigns.calls import CallReport, CallResult, OriginateRequest
from crm_adapter.retailcrm_telephony import CALL_RESULTS, RetailCrmTelephonyClient, SharedBucket
from dialer.app.retailcrm_telephony import (
    RESULTS,
    TelephonyFeed,
    TelephonyQueue,
    TelephonyRelay,
)
from dialer.cli import main
from dialer.storage.migrate import open_database
from dialer.storage.telephony_queue import SqlTelephonyQueue
from dialer.storage.views import OrderViews
from dialer.web.metrics import render

T0 = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def tel_crm() -> Iterator[RetailCrmTelephonyDouble]:
    crm = RetailCrmTelephonyDouble(API_KEY)
    crm.server.start()
    yield crm
    crm.server.stop()


class Node:
    def __init__(self, tmp_path: Path, crm: RetailCrmTelephonyDouble, clock: Clock) -> None:
        engine = open_database(f"sqlite:///{tmp_path / 'dialer.db'}")
        self.engine = engine
        self.store = SqlTelephonyQueue(engine, "node-1")
        bucket = SharedBucket(40.0, clock=time.monotonic, sleep=time.sleep)
        client = RetailCrmTelephonyClient(crm.url, API_KEY, bucket=bucket)
        self.queue = TelephonyQueue(self.store, client, rng=random.Random(1))
        self.executor = ThreadPoolExecutor(max_workers=1)
        relay = TelephonyRelay(settings(), self.store, self.queue, clock=clock,
                               executor=self.executor)  # fmt: skip
        self.feed = TelephonyFeed(clock, relay)
        self.clock = clock

    def call(self, attempt: str, agent: str, result: CallResult, *, accept: bool = True,
             talk_s: int = 0, recording: str | None = None) -> None:  # fmt: skip
        self.feed.offered(OriginateRequest(attempt, "order-1", agent, "+79161234567", "1", 20, 10))
        if accept:
            self.clock.now += timedelta(seconds=3)
            self.feed.accepted(attempt, agent)
        self.clock.now += timedelta(seconds=10)
        answered = self.clock.now if result is CallResult.ANSWERED else None
        self.clock.now += timedelta(seconds=talk_s)
        self.feed.ended(CallReport(attempt, result, self.clock.now, answered, recording))


@pytest.fixture
def node(tmp_path: Path, tel_crm: RetailCrmTelephonyDouble) -> Iterator[Node]:
    n = Node(tmp_path, tel_crm, Clock())
    yield n
    n.executor.shutdown()


def test_an_accepted_answered_call_sends_event_hangup_and_upload(
    node: Node, tel_crm: RetailCrmTelephonyDouble
) -> None:
    node.call("at-1", "a1", CallResult.ANSWERED, talk_s=42, recording="/spool/dialer/at-1.wav")
    assert node.queue.deliver_due(node.clock.now) == 3
    assert [(e["type"], e.get("hangupStatus")) for e in tel_crm.events] == [
        ("out", None), ("hangup", "answered"),
    ]  # fmt: skip
    assert tel_crm.events[0]["phone"] == "79161234567"
    [call] = tel_crm.calls
    assert (call["result"], call["duration"], call["userId"], call["code"]) == (
        "answered", 42, 12, "101",
    )  # fmt: skip
    assert call["date"] == "2026-03-10 12:30:03"  # accepted at, in the account's zone
    assert "/retailcrm/telephony/records/at-1.wav?expires=" in call["recordUrl"]


def test_a_call_the_agent_did_not_accept_is_not_the_customers(
    node: Node, tel_crm: RetailCrmTelephonyDouble
) -> None:
    node.call("at-2", "a1", CallResult.AGENT_MISSED, accept=False)
    assert node.queue.deliver_due(node.clock.now) == 0
    assert tel_crm.events == [] and tel_crm.calls == []


def test_an_unmapped_agent_sends_nothing(node: Node, tel_crm: RetailCrmTelephonyDouble) -> None:
    node.call("at-3", "a9", CallResult.ANSWERED, talk_s=5)
    assert node.queue.deliver_due(node.clock.now) == 0
    assert node.store.rows() == []


def test_an_outage_loses_nothing_and_the_upload_goes_later(
    node: Node, tel_crm: RetailCrmTelephonyDouble
) -> None:
    tel_crm.server.down = True
    node.call("at-4", "a2", CallResult.BUSY)
    assert node.queue.deliver_due(node.clock.now) == 0
    rows = node.store.rows()
    assert [(r.kind, r.tries, r.delivered_at) for r in rows] == [
        ("event", 1, None), ("event", 1, None), ("upload", 1, None),
    ]  # fmt: skip
    assert "503" in (rows[2].last_error or "")
    tel_crm.server.down = False
    node.clock.now += timedelta(hours=1)  # the events are stale by now; the upload is not
    node.queue.deliver_due(node.clock.now)
    assert tel_crm.events == []
    assert [(c["externalId"], c["result"]) for c in tel_crm.calls] == [("at-4", "busy")]
    assert [r.dead for r in node.store.rows()] == [True, True, False]
    assert node.store.rows()[0].last_error.startswith("expired: ")  # type: ignore[union-attr]


def test_a_refused_shape_is_dead_at_once_with_retailcrms_reason(
    node: Node, tel_crm: RetailCrmTelephonyDouble
) -> None:
    node.store.add("at-5", "upload", '{"date": "yesterday", "type": "out"}', node.clock.now)
    assert node.queue.deliver_due(node.clock.now) == 0
    [row] = node.store.rows()
    assert row.dead and row.tries == 1
    assert row.last_error is not None and "calls[0].date" in row.last_error
    assert node.queue.next_due_at() is None


def test_the_running_node_sends_at_once_from_the_pool(
    node: Node, tel_crm: RetailCrmTelephonyDouble
) -> None:
    async def scenario() -> None:
        node.call("at-6", "a1", CallResult.NO_ANSWER)
        for _ in range(100):
            if len(tel_crm.calls) == 1 and len(tel_crm.events) == 2:
                return
            await asyncio.sleep(0.05)

    asyncio.run(scenario())
    assert [c["result"] for c in tel_crm.calls] == ["no answered"]
    assert all(r.delivered_at is not None for r in node.store.rows())


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (CallResult.ANSWERED, "answered"),
        (CallResult.NO_ANSWER, "no answered"),
        (CallResult.BUSY, "busy"),
        (CallResult.CONGESTION, "failed"),
        (CallResult.INVALID_NUMBER, "failed"),
        (CallResult.FAILED, "failed"),
        (CallResult.AGENT_MISSED, None),  # the customer was never dialled
    ],
)
def test_each_call_result_in_retailcrms_words(result: CallResult, expected: str | None) -> None:
    assert RESULTS.get(result) == expected
    assert expected is None or expected in CALL_RESULTS  # Call.php's ``result`` values


def test_every_call_result_is_decided() -> None:
    assert set(RESULTS) | {CallResult.AGENT_MISSED} == set(CallResult)


def test_ops_list_the_unsent_rows_and_replay_a_dead_upload(
    node: Node, tel_crm: RetailCrmTelephonyDouble, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    node.store.add("at-8", "upload", '{"date": "yesterday"}', node.clock.now)
    node.store.add("at-8", "event", '{"phone": ""}', node.clock.now)
    node.queue.deliver_due(node.clock.now)  # both refused by RetailCRM: dead at once
    url = f"sqlite:///{tmp_path / 'dialer.db'}"
    assert main(["--db", url, "crm", "telephony", "queue"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:3] for line in lines] == [
        ["1", "node-1", "upload"], ["2", "node-1", "event"],
    ]  # fmt: skip
    assert "dead" in lines[0] and "calls[0].date" in lines[0]
    assert main(["--db", url, "crm", "telephony", "replay", "1", "2"]) == 1
    out = capsys.readouterr().out
    assert "1 replayed" in out and "2 is not a dead upload" in out
    row = node.store.rows()[0]
    assert (row.dead, row.tries) == (False, 0)


def test_metrics_show_what_retailcrm_has_not_taken(node: Node) -> None:
    node.store.add("at-8", "upload", '{"date": "yesterday"}', node.clock.now)
    node.store.add("at-9", "upload", '{"date": "yesterday"}', node.clock.now + timedelta(hours=1))
    node.queue.deliver_due(node.clock.now)
    snapshot = OrderViews(node.engine, "shop").metrics()
    assert snapshot.telephony_unsent == {("upload", True): 1, ("upload", False): 1}
    text = render(snapshot, ami_up=True, now=node.clock.now, campaign="shop")
    assert 'callback_dialer_retailcrm_telephony_unsent{dead="true",kind="upload"} 1.0' in text
    assert 'callback_dialer_retailcrm_telephony_unsent{dead="false",kind="event"} 0.0' in text
