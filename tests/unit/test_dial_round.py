"""DialRound, the one dispatch round the service, the live loop and the simulator drive:
kept work first, then the gates, pacing, line caps, the re-check port, the next wake-up."""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from fakes import Recorder

from campaigns.calls import CallReport, CallResult
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.orders import Order
from campaigns.outcomes import OutcomeKind
from campaigns.screening import Screening, Verdict
from campaigns.settings import CampaignSettings
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.pacing import Pacer
from dialer.dispatch.round import DialRound
from dialer.dispatch.status_recheck import StatusRecheck

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 Moscow: the window is open


class DatabaseDown(Exception):
    pass


class FlakyStore(MemoryOrderStore):
    """The in-memory store whose writes fail while ``down`` (a database outage)."""

    down = False

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.down:
            raise DatabaseDown("connection refused")
        super().save(*args, **kwargs)


def outage(exc: BaseException) -> str | None:
    return str(exc) if isinstance(exc, DatabaseDown) else None


def setup(
    agents: int = 3, orders: int = 3, **round_args: Any
) -> tuple[DialRound, Recorder, FlakyStore]:
    rec, store = Recorder(), FlakyStore()
    pool = AgentPool([f"a{i}" for i in range(agents)], T0, wrap_up_s=0, miss_pause_after=3)
    ids = itertools.count(1)
    dispatcher = Dispatcher(
        settings=CampaignSettings(),
        store=store,
        telephony=rec,
        agents=pool,
        journal=rec,
        screen=lambda o, _: Screening(Verdict.DIAL, o.phone, ("Europe/Moscow",), o.id),
        new_attempt_id=lambda: f"att{next(ids)}",
        jitter=lambda: 0.0,
        status_check=round_args.pop("status_check", None),
    )
    dispatcher.admit([Order(str(n), f"+7916000000{n}", "Иван", "Мака", T0) for n in
                      range(1, orders + 1)], T0)  # fmt: skip
    return DialRound(dispatcher, outage=outage, **round_args), rec, store


def test_a_result_the_database_cannot_take_is_kept_and_applied_first_at_the_next_round() -> None:
    confirmed = Disposition(DispositionKind.CONFIRMED)
    dial_round, rec, store = setup(orders=1, auto_disposition=lambda _: confirmed)
    dial_round.run(T0)
    store.down = True
    dial_round.on_report(CallReport("att1", CallResult.ANSWERED, T0 + timedelta(seconds=30)))
    assert dial_round.kept == 1
    store.down = False
    dial_round.run(T0 + timedelta(minutes=1))
    assert dial_round.kept == 0
    assert [o.kind for o in rec.outcomes] == [OutcomeKind.CONFIRMED]


def test_a_server_that_may_not_dial_applies_kept_work_and_looks_again_in_a_second() -> None:
    dial_round, rec, _ = setup(dialling=lambda: False)
    assert dial_round.run(T0) == T0 + timedelta(seconds=1)
    assert rec.dials == []


def test_a_paused_campaign_dials_nothing_and_waits_for_an_event() -> None:
    dial_round, rec, _ = setup(paused=lambda: True)
    assert dial_round.run(T0) is None
    assert rec.dials == []


def test_pacing_starts_one_seconds_worth_and_wakes_for_the_next_token() -> None:
    dial_round, rec, _ = setup(pacer=Pacer(2, T0))
    wake = dial_round.run(T0)
    assert rec.dials == ["1", "2"]
    assert wake == T0 + timedelta(seconds=0.5)
    assert wake is not None
    dial_round.run(wake)
    assert rec.dials == ["1", "2", "3"]


def test_the_line_room_caps_a_round_below_the_free_agents() -> None:
    dial_round, rec, _ = setup(line_room=lambda: 1)
    dial_round.run(T0)
    assert rec.dials == ["1"] and dial_round.started == 1


def test_orders_the_recheck_cannot_vouch_for_go_to_the_status_reader() -> None:
    asked: list[list[str]] = []

    class Reader:
        def read(self, order_ids: list[str], now: datetime) -> None:
            asked.append(order_ids)

    ten, five = timedelta(seconds=10), timedelta(seconds=5)
    recheck = StatusRecheck(CampaignSettings(), frozenset(), clock=lambda: T0, max_age=ten,
                            retry_after=five)  # fmt: skip
    dial_round, rec, _ = setup(status_check=recheck.check, recheck=recheck,
                               status_reader=Reader())  # fmt: skip
    assert dial_round.run(T0) is None  # nothing to do before the answers come
    assert rec.dials == []
    assert asked == [["1", "2", "3"]]


def test_the_round_imports_no_io_library() -> None:
    code = (
        "import sys, dialer.dispatch.round\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('asyncio', 'twisted', 'panoramisk', 'sqlalchemy', 'apscheduler', 'socket')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_an_answered_report_gets_its_automatic_disposition_from_the_dispatchers_answer() -> None:
    """The round learns that the order awaits a verdict from ``Dispatcher.on_report`` itself
    (no hop through the log journal); an unanswered call asks for no verdict."""
    asked: list[str] = []

    def auto(order_id: str) -> Disposition:
        asked.append(order_id)
        return Disposition(DispositionKind.CONFIRMED)

    dial_round, rec, _ = setup(orders=2, auto_disposition=auto)
    dial_round.run(T0)
    assert rec.dials == ["1", "2"]
    assert dial_round.on_report(
        CallReport("att1", CallResult.NO_ANSWER, T0 + timedelta(seconds=40))
    )
    assert asked == []
    assert dial_round.on_report(CallReport("att2", CallResult.ANSWERED, T0 + timedelta(seconds=50)))
    assert asked == ["2"]
    assert [o.kind for o in rec.outcomes if o.order_id == "2"] == [OutcomeKind.CONFIRMED]
