"""The outbox worker (business-rules §6): in order per order, backoff, dead rows, replay."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from crm_backends import RetailBackend
from crm_servers import API_KEY, RetailCrmDouble
from outbox_rows import add_outcome, outbox
from sqlalchemy import Engine

from campaigns.lifecycle import OrderState
from campaigns.orders import Order
from campaigns.outcomes import Outcome, OutcomeKind
from crm_adapter.config import parse_crm_config
from crm_adapter.errors import (
    CrmRejectedError,
    CrmUnavailableError,
    FinalRejectionError,
    UnsendableRequestError,
)
from crm_adapter.fake import InMemoryCrm
from crm_adapter.port import OutcomeDelivery
from dialer.cli import main
from dialer.delivery.outbox import Backoff, OutboxWorker
from dialer.dispatch.ports import QueueEntry
from dialer.storage.migrate import open_database
from dialer.storage.outbox import SqlOutboxStore, dead_deliveries, replay

T0 = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


class FlakyCrm(InMemoryCrm):
    """Fails every write of the keys in ``failing``; raises ``raising[order id]`` for the
    outcomes of those orders (an exception instance, raised as it is)."""

    def __init__(self, *order_ids: str) -> None:
        super().__init__(tuple(_order(i) for i in order_ids))
        self.failing: set[str] = set()
        self.raising: dict[str, Exception] = {}

    def write_outcome(self, delivery: OutcomeDelivery) -> bool:
        if delivery.key in self.failing:
            raise CrmUnavailableError(f"no route to CRM for {delivery.key}")
        if delivery.order_id in self.raising:
            raise self.raising[delivery.order_id]
        return super().write_outcome(delivery)


def _order(order_id: str) -> Order:
    return Order(id=order_id, phone="+79161234567", name="Иван", product="Мака", created_at=T0)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dialer.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


def worker(engine: Engine, crm: InMemoryCrm) -> OutboxWorker:
    return OutboxWorker(SqlOutboxStore(engine), crm, rng=random.Random(7))


def keys(crm: InMemoryCrm) -> list[str]:
    return [d.key for d in crm.applied]


def test_rows_are_delivered_in_order_per_order(engine: Engine) -> None:
    crm = FlakyCrm("A", "B")
    a1 = add_outcome(engine, "A", T0)
    b1 = add_outcome(engine, "B", T0)
    a2 = add_outcome(engine, "A", T0 + timedelta(minutes=3), attempt_no=2)
    assert worker(engine, crm).deliver_due(T0 + timedelta(minutes=5)) == 3
    assert keys(crm) == [f"A:{a1}", f"B:{b1}", f"A:{a2}"]
    assert all(row.delivered_at is not None for row in outbox(engine))


def test_a_later_row_waits_while_an_earlier_row_of_its_order_fails(engine: Engine) -> None:
    crm = FlakyCrm("A", "B")
    a1 = add_outcome(engine, "A", T0)
    a2 = add_outcome(engine, "A", T0 + timedelta(minutes=3), attempt_no=2)
    b1 = add_outcome(engine, "B", T0)
    crm.failing.add(f"A:{a1}")
    w = worker(engine, crm)
    assert w.deliver_due(T0 + timedelta(minutes=5)) == 1
    assert keys(crm) == [f"B:{b1}"]  # A:a2 is held back behind A:a1
    crm.failing.clear()
    assert w.deliver_due(T0 + timedelta(hours=1)) == 2
    assert keys(crm) == [f"B:{b1}", f"A:{a1}", f"A:{a2}"]


def test_a_failed_row_is_not_tried_before_its_backoff_ends(engine: Engine) -> None:
    crm = FlakyCrm("A")
    a1 = add_outcome(engine, "A", T0)
    crm.failing.add(f"A:{a1}")
    w = worker(engine, crm)
    w.deliver_due(T0)
    (row,) = outbox(engine)
    assert row.tries == 1 and row.last_error and "no route" in row.last_error
    assert row.next_try_at is not None
    assert T0 + timedelta(seconds=5) <= row.next_try_at < T0 + timedelta(seconds=10)
    crm.failing.clear()
    assert w.deliver_due(row.next_try_at - timedelta(seconds=1)) == 0
    assert w.deliver_due(row.next_try_at) == 1


def test_backoff_doubles_up_to_its_cap_with_jitter_from_the_rng() -> None:
    backoff = Backoff(base=timedelta(seconds=10), cap=timedelta(minutes=30))
    rng = random.Random(1)
    delays = [backoff.delay(n, rng) for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        full = min(timedelta(minutes=30), timedelta(seconds=10 * 2 ** (n - 1)))
        assert full / 2 <= delay < full
    assert len({d.total_seconds() for d in delays}) == len(delays)  # jittered
    again = [Backoff().delay(n, random.Random(1)) for n in (1, 2)]
    assert again == [Backoff().delay(n, random.Random(1)) for n in (1, 2)]


def test_a_row_failing_for_three_days_is_dead_with_an_error_alert(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    crm = FlakyCrm("A")
    a1 = add_outcome(engine, "A", T0)
    a2 = add_outcome(engine, "A", T0 + timedelta(minutes=3), attempt_no=2)
    crm.failing.add(f"A:{a1}")
    w = worker(engine, crm)
    now = T0
    with caplog.at_level(logging.WARNING, logger="dialer.outbox"):
        while now < T0 + timedelta(days=3, hours=1):
            w.deliver_due(now)
            now += timedelta(minutes=30)
    row = outbox(engine)[0]
    assert row.dead and row.tries > 100
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"outbox row {a1}" in errors[0].getMessage()
    assert "dead" in errors[0].getMessage()
    assert errors[0].name == "dialer.outbox"
    (dead,) = dead_deliveries(engine)
    assert (dead.id, dead.order_id, dead.held_back) == (a1, "A", 1)
    assert keys(crm) == []
    crm.failing.clear()
    assert w.deliver_due(now + timedelta(days=1)) == 0  # dead holds the order back
    assert replay(engine, now, [a1]) == [a1]
    assert w.deliver_due(now) == 2
    assert keys(crm) == [f"A:{a1}", f"A:{a2}"]


def test_a_row_younger_than_three_days_is_never_dead(engine: Engine) -> None:
    crm = FlakyCrm("A")
    a1 = add_outcome(engine, "A", T0)
    crm.failing.add(f"A:{a1}")
    w = worker(engine, crm)
    for hour in range(0, 71):
        w.deliver_due(T0 + timedelta(hours=hour))
    assert not outbox(engine)[0].dead


def test_a_refusal_without_reason_is_dead_at_once(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """002: the refusal reason is required; retrying cannot supply it."""
    crm = FlakyCrm("A")
    add_outcome(engine, "A", T0, kind="refused", status="Отказ", problem="Другое",
                comment="10.03 - ")  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="dialer.outbox"):
        assert worker(engine, crm).deliver_due(T0) == 0
    assert outbox(engine)[0].dead
    assert "reason" in caplog.records[-1].getMessage()


def test_the_outbox_reads_the_payload_the_order_store_writes(engine: Engine) -> None:
    from dialer.storage.orders import SqlOrderStore  # noqa: PLC0415 - may still change

    store = SqlOrderStore(engine)
    state = OrderState(order_id="A", zones=("Europe/Moscow",), horizon_start=T0.date())
    outcome = Outcome("A", OutcomeKind.CALLBACK, T0, 2, True, callback_at=T0 + timedelta(hours=3),
                      comment="10.03 - перезвонить в 13:00")  # fmt: skip
    store.insert(QueueEntry(_order("A"), "+79161234567", "id-A", state), [outcome])
    crm = FlakyCrm("A")
    assert worker(engine, crm).deliver_due(T0) == 1
    (got,) = crm.applied
    assert (got.status, got.problem, got.call_made) == ("В работе", "Нужно перезвонить", True)
    assert got.callback_at == T0 + timedelta(hours=3)
    assert got.comment == "10.03 - перезвонить в 13:00"


def _dead_row(engine: Engine) -> int:
    crm = FlakyCrm("A")
    a1 = add_outcome(engine, "A", T0, kind="refused", status="Отказ", problem="Другое",
                     comment="10.03 - ")  # fmt: skip
    worker(engine, crm).deliver_due(T0)
    return a1


def test_cli_outbox_dead_lists_dead_rows_as_text_and_json(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a1 = _dead_row(engine)
    assert main(["--db", db_url, "outbox", "dead"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{a1}\torder A\tkey A:")
    assert "InvalidOutcomeError" in text
    assert main(["--db", db_url, "outbox", "dead", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["id"], row["order_id"], row["payload"]["kind"]) == (a1, "A", "refused")


def test_cli_outbox_replay_by_id_and_all(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a1 = _dead_row(engine)
    assert main(["--db", db_url, "outbox", "replay", "999"]) == 1
    assert "999 is not a dead delivery" in capsys.readouterr().out
    assert main(["--db", db_url, "outbox", "replay", str(a1)]) == 0
    assert f"{a1} replayed" in capsys.readouterr().out
    row = outbox(engine)[0]
    assert not row.dead and row.tries == 0
    assert main(["--db", db_url, "outbox", "replay", "--all"]) == 0
    assert "no dead deliveries" in capsys.readouterr().out


def test_cli_outbox_replay_needs_ids_or_all(db_url: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--db", db_url, "outbox", "replay"])
    assert exit_.value.code == 2


def _encode_error() -> UnicodeEncodeError:
    """What http.client raised for a header holding НФ-00123 before issue 13."""
    return UnicodeEncodeError("latin-1", "НФ-00123:1", 0, 2, "ordinal not in range(256)")


def test_rule_6_a_row_that_cannot_be_sent_holds_back_only_its_own_order(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13: an exception from one delivery never aborts the flush; other orders go on."""
    crm = FlakyCrm("НФ-00123", "B", "C")
    crm.raising["НФ-00123"] = _encode_error()
    stuck = add_outcome(engine, "НФ-00123", T0)
    held = add_outcome(engine, "НФ-00123", T0, attempt_no=2)
    b1 = add_outcome(engine, "B", T0)
    c1 = add_outcome(engine, "C", T0)
    with caplog.at_level(logging.WARNING, logger="dialer.outbox"):
        assert worker(engine, crm).deliver_due(T0) == 2
    assert keys(crm) == [f"B:{b1}", f"C:{c1}"]
    rows = {row.id: row for row in outbox(engine)}
    assert not rows[stuck].dead and rows[stuck].tries == 1  # transient: retried with backoff
    assert rows[stuck].next_try_at is not None and rows[stuck].next_try_at > T0
    assert (rows[stuck].last_error or "").startswith("UnicodeEncodeError: ")
    assert rows[held].tries == 0 and rows[held].delivered_at is None
    logged = [r for r in caplog.records if r.exc_info and "unexpected error" in r.getMessage()]
    assert len(logged) == 1 and "НФ-00123" in logged[0].getMessage()


@pytest.mark.parametrize(
    "error",
    [
        FinalRejectionError("outcome x: HTTP 422 (final) archived", 422),
        UnsendableRequestError("POST /outcomes: cannot be sent: not Latin-1"),
    ],
)
def test_rule_6_a_permanent_error_makes_the_row_dead_at_once_and_other_orders_flow(
    engine: Engine, error: Exception
) -> None:
    crm = FlakyCrm("A", "B")
    crm.raising["A"] = error
    a1 = add_outcome(engine, "A", T0)
    a2 = add_outcome(engine, "A", T0, attempt_no=2)
    b1 = add_outcome(engine, "B", T0)
    w = worker(engine, crm)
    assert w.deliver_due(T0) == 1
    assert keys(crm) == [f"B:{b1}"]
    dead = {row.id: row for row in outbox(engine)}[a1]
    assert dead.dead and dead.tries == 1
    assert dead.last_error == f"permanent: {type(error).__name__}: {error}"
    (listed,) = dead_deliveries(engine)
    assert (listed.id, listed.held_back) == (a1, 1)
    assert w.dead_counts() == {"permanent": 1, "expired": 0}
    del crm.raising["A"]
    assert w.deliver_due(T0 + timedelta(days=1)) == 0  # a2 waits behind the dead row
    assert a2 not in [row.id for row in outbox(engine) if row.delivered_at]


def test_a_4xx_that_is_not_final_is_retried_and_expires_after_three_days(engine: Engine) -> None:
    crm = FlakyCrm("A")
    crm.raising["A"] = CrmRejectedError("outcome A: HTTP 400 bad status", 400)
    a1 = add_outcome(engine, "A", T0)
    w = worker(engine, crm)
    w.deliver_due(T0)
    assert not outbox(engine)[0].dead
    now = T0
    while not outbox(engine)[0].dead:
        now += timedelta(hours=6)
        w.deliver_due(now)
    row = outbox(engine)[0]
    assert (row.id, now - T0 >= timedelta(days=3)) == (a1, True)
    assert row.last_error == "expired: CrmRejectedError: outcome A: HTTP 400 bad status"
    assert w.dead_counts() == {"permanent": 0, "expired": 1}


def test_cli_outbox_dead_shows_why_a_row_died(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    crm = FlakyCrm("НФ-00123")
    crm.raising["НФ-00123"] = FinalRejectionError("HTTP 422 (final) archived", 422)
    row_id = add_outcome(engine, "НФ-00123", T0)
    worker(engine, crm).deliver_due(T0)
    assert main(["--db", db_url, "outbox", "dead"]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"{row_id}\torder НФ-00123\tkey НФ-00123:")
    assert line.rstrip().endswith("permanent: FinalRejectionError: HTTP 422 (final) archived")
    assert main(["--db", db_url, "outbox", "dead", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["last_error"].startswith("permanent: FinalRejectionError")


def test_dead_rows_are_counted_on_metrics_by_reason(engine: Engine) -> None:
    from dialer.storage.views import OrderViews  # noqa: PLC0415
    from dialer.web.metrics import render  # noqa: PLC0415 - twisted.web inside

    crm = FlakyCrm("A", "B")
    crm.raising["A"] = FinalRejectionError("HTTP 422 (final)", 422)
    add_outcome(engine, "A", T0)
    w = worker(engine, crm)
    w.deliver_due(T0)
    snapshot = OrderViews(engine, "default").metrics()
    text = render(snapshot, ami_up=True, now=T0, campaign="default", outbox_dead=w.dead_counts())
    assert "# TYPE callback_dialer_outbox_dead_total counter" in text
    assert 'callback_dialer_outbox_dead_total{reason="permanent"} 1' in text
    assert 'callback_dialer_outbox_dead_total{reason="expired"} 0' in text
    assert 'callback_dialer_outbox_pending{dead="true"} 1' in text


def test_the_store_writes_the_problem_the_admin_mapped_over_the_dialers_own_text(
    engine: Engine,
) -> None:
    """Issue 17: a problem set in ``[crm.mapping.callback]`` was replaced by «Нужно
    перезвонить»; with RetailCRM's default mapping the status is the code ``new``."""
    from dialer.storage.orders import SqlOrderStore  # noqa: PLC0415 - as above

    config = parse_crm_config(
        {"kind": "retailcrm", "mapping": {"callback": {"problem": "call-back"}},
         "retailcrm": {"url": "https://shop.example", "api_key_env": "K"}},
        {"K": "key"},
    )  # fmt: skip
    store = SqlOrderStore(engine, mapping=dict(config.mapping))
    state = OrderState(order_id="A", zones=("Europe/Moscow",), horizon_start=T0.date())
    outcome = Outcome("A", OutcomeKind.CALLBACK, T0, 2, True, problem="Нужно перезвонить",
                      callback_at=T0 + timedelta(hours=3), comment="10.03 - ok")  # fmt: skip
    store.insert(QueueEntry(_order("A"), "+79161234567", "id-A", state), [outcome])
    crm = FlakyCrm("A")
    assert worker(engine, crm).deliver_due(T0) == 1
    (got,) = crm.applied
    assert (got.status, got.problem) == ("new", "call-back")


def test_a_retailcrm_validation_error_makes_the_row_dead_at_once_with_its_text(
    engine: Engine, retail_crm: RetailCrmDouble
) -> None:
    """RetailCRM's 400 (api-client-go ``error.go``: "Errors in the entity format" with
    ``errors``) is permanent: no three days of retries."""
    backend = RetailBackend(retail_crm, API_KEY)
    backend.seed([_order("A")])
    add_outcome(engine, "A", T0, kind="confirmed", status="approved", problem=None,
                comment="10.03 - подтвердил")  # fmt: skip
    assert (
        OutboxWorker(SqlOutboxStore(engine), backend.adapter, rng=random.Random(7)).deliver_due(T0)
        == 0
    )
    (row,) = outbox(engine)
    assert row.dead
    assert row.last_error.startswith("permanent:")
    assert "Status 'approved' does not exist." in row.last_error
