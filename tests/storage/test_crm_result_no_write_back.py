"""Issue 15 §3 on the real SQL store: a result the CRM gave itself ends the order with its
outcome recorded and no outbox row (nothing is written back); the agent's result, given
first, is written as today and a later CRM result is refused (exactly one outcome)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from fakes import Recorder
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from campaigns.calls import CallReport, CallResult
from campaigns.crm_results import crm_verdict
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.lifecycle import TransitionError
from campaigns.orders import Order
from campaigns.screening import Screening, Verdict
from campaigns.settings import CallingWindow, CampaignSettings
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.storage.models import OutboxRow, OutcomeRow
from dialer.storage.orders import SqlOrderStore

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ALL_DAY = CallingWindow(start=datetime.min.time(), end=datetime.max.time().replace(microsecond=0))
SETTINGS = CampaignSettings(window=ALL_DAY, disposition_source="both")
ORDER = "НФ-00123"
ENDED = T0 + timedelta(seconds=60)


def answered(engine: Engine) -> Dispatcher:
    ids = itertools.count(1)
    rec = Recorder()
    dispatcher = Dispatcher(
        settings=SETTINGS,
        store=SqlOrderStore(engine, campaign="c"),
        telephony=rec,
        agents=AgentPool(["a1"], T0, wrap_up_s=0, miss_pause_after=3, wrap_up_max_s=180),
        journal=rec,
        screen=lambda o, _: Screening(Verdict.DIAL, o.phone, ("Europe/Moscow",), o.id),
        new_attempt_id=lambda: f"att{next(ids)}",
        jitter=lambda: 0.0,
    )
    dispatcher.admit([Order(ORDER, "+79160000001", "Иван", "Мака", T0)], T0)
    assert dispatcher.dispatch(T0) == 1
    assert dispatcher.on_report(CallReport("att1", CallResult.ANSWERED, ENDED)) == ORDER
    return dispatcher


def rows(engine: Engine) -> tuple[list[str], int]:
    with Session(engine) as session:
        kinds = list(session.scalars(select(OutcomeRow.kind).order_by(OutcomeRow.id)))
        outbox = len(session.scalars(select(OutboxRow.id)).all())
    return kinds, outbox


def test_rule_7_a_crm_result_ends_the_order_and_nothing_is_written_back(engine: Engine) -> None:
    dispatcher = answered(engine)
    result = crm_verdict("Подтвержден", None, call_ended_at=ENDED, settings=SETTINGS)
    assert result is not None
    dispatcher.on_disposition(ORDER, result, ENDED + timedelta(seconds=20), from_crm=True)
    assert rows(engine) == (["confirmed"], 0)
    with pytest.raises(TransitionError):  # the agent's, coming second, is ignored
        dispatcher.on_disposition(ORDER, Disposition(DispositionKind.CONFIRMED), ENDED)
    assert rows(engine) == (["confirmed"], 0)


def test_a_crm_callback_queues_the_order_at_its_time_without_a_write(engine: Engine) -> None:
    dispatcher = answered(engine)
    at = ENDED + timedelta(hours=2)
    result = crm_verdict("Ожидает подтверждения", at, call_ended_at=ENDED, settings=SETTINGS)
    assert result is not None
    dispatcher.on_disposition(ORDER, result, ENDED + timedelta(seconds=20), from_crm=True)
    assert rows(engine) == (["callback"], 0)
    assert dispatcher.next_wakeup(ENDED + timedelta(seconds=30)) == at
    with pytest.raises(TransitionError):  # queued now: a second CRM result is not taken
        dispatcher.on_disposition(ORDER, result, ENDED + timedelta(seconds=40), from_crm=True)


def test_the_agents_result_first_is_written_and_the_crms_later_one_ignored(
    engine: Engine,
) -> None:
    dispatcher = answered(engine)
    dispatcher.on_disposition(ORDER, Disposition(DispositionKind.CONFIRMED), ENDED)
    assert rows(engine) == (["confirmed"], 1)
    late = Disposition(DispositionKind.REFUSED, reason="Отказ")
    with pytest.raises(TransitionError):
        dispatcher.on_disposition(ORDER, late, ENDED + timedelta(seconds=5), from_crm=True)
    assert rows(engine) == (["confirmed"], 1)
