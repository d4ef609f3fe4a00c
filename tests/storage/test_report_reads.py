"""The reports' storage (issue 19) on SQLite and PostgreSQL: migration 0010, the agents'
state history written with each change, answered calls keeping when the customer answered,
and the range reads feeding ``campaigns.reports``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from fakes import Recorder
from local_services import fresh_database
from sqlalchemy import Engine, create_engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from campaigns.calls import CallReport, CallResult
from campaigns.orders import Order
from campaigns.reports import ReportRange, build
from campaigns.screening import Screening, Verdict
from campaigns.settings import CampaignSettings
from dialer.dispatch.agents import Agent, AgentPool, AgentState
from dialer.dispatch.dispatcher import Dispatcher
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.audit import AuditEntry, SqlAuditLog
from dialer.storage.migrate import alembic_config, current_revision, open_database, upgrade
from dialer.storage.models import (
    AgentStateRow,
    AttemptRow,
    AuditRow,
    Campaign,
    OrderRow,
    OutcomeRow,
)
from dialer.storage.orders import SqlOrderStore
from dialer.storage.reports import SqlReportReads

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 Moscow
MSK = "Europe/Moscow"
DAY = ReportRange(date(2026, 3, 10), date(2026, 3, 10), MSK)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reports.db'}"
    else:
        with fresh_database(request.getfixturevalue("postgres_url"), "reports") as fresh:
            yield fresh


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = open_database(url)
    yield engine
    engine.dispose()


def test_migration_0010_adds_the_state_history_the_indexes_and_view_report(url: str) -> None:
    engine = create_engine(url)
    try:
        assert upgrade(engine, "0009_supervisors") == "0009_supervisors"
        log = SqlAuditLog(engine)
        log.write(AuditEntry(T0, "anna", "supervisor", "listen", "accepted"))
        with pytest.raises(IntegrityError):  # 0009 knows no view_report
            audit_row(engine, "view_report")
        assert upgrade(engine, "head") == current_revision(engine)
        log.write(AuditEntry(T0 + timedelta(seconds=1), "anna", "supervisor", "view_report",
                             "accepted", detail="2026-03-01..2026-03-31"))  # fmt: skip
        assert [e.action for e in log.entries()] == ["view_report", "listen"]
        with pytest.raises(IntegrityError):  # the set is still closed
            audit_row(engine, "tea_break")
        db = inspect(engine)
        assert {c["name"] for c in db.get_columns("agent_states")} == {
            "id", "agent_id", "state", "reason", "by", "at"}  # fmt: skip
        indexes = {t: {i["name"] for i in db.get_indexes(t)} for t in ("attempts", "outcomes")}
        assert "ix_attempts_started_at" in indexes["attempts"]
        assert "ix_outcomes_created_at" in indexes["outcomes"]
        assert "ix_supervision_audit_at" in {i["name"] for i in db.get_indexes("supervision_audit")}
    finally:
        engine.dispose()


def audit_row(engine: Engine, action: str) -> None:
    with engine.begin() as c:
        c.execute(insert(AuditRow).values(at=T0, actor="anna", actor_kind="supervisor",
                                          action=action, result="accepted"))  # fmt: skip


def test_migration_0010_downgrades_to_0009(url: str) -> None:
    engine = create_engine(url)
    try:
        upgrade(engine, "head")
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0009_supervisors")
        assert current_revision(engine) == "0009_supervisors"
        assert "agent_states" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def registry(engine: Engine) -> SqlAgentRegistry:
    agents = SqlAgentRegistry(engine)
    agents.configure("default", ["a1", "a2"], T0)
    return agents


def history_rows(engine: Engine) -> list[tuple[str, str, str | None, str]]:
    s = AgentStateRow
    with engine.connect() as connection:
        rows = connection.execute(select(s.agent_id, s.state, s.reason, s.by).order_by(s.id))
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_every_agent_state_change_is_recorded_with_who_made_it(engine: Engine) -> None:
    agents = registry(engine)
    agents.login("a1", T0, by="a1")  # the agent, from the workspace
    agents.login("a1", T0 + timedelta(seconds=1), by="a1")  # no change: no row
    agents.pause("a1", T0 + timedelta(minutes=1), "обед", by="anna")  # a supervisor
    agents.resume("a1", T0 + timedelta(minutes=2))  # the CLI
    pool = Agent("a1", AgentState.PAUSED, T0 + timedelta(minutes=3),
                 paused_reason="нет результата по заказу НФ-00123")  # fmt: skip
    assert agents.record(pool, expected=(AgentState.IDLE, None))
    assert not agents.record(pool, expected=(AgentState.IDLE, None))  # CAS lost: no row
    assert history_rows(engine) == [
        ("a1", "idle", None, "a1"),
        ("a1", "paused", "обед", "anna"),
        ("a1", "idle", None, "ops"),
        ("a1", "paused", "нет результата по заказу НФ-00123", "system"),
    ]


def test_an_answered_call_keeps_when_the_customer_answered(engine: Engine) -> None:
    """Talk time is ended_at - answered_at: an earlier version never stored answered_at."""
    with engine.begin() as connection:
        connection.execute(insert(Campaign).values(name="default", created_at=T0, updated_at=T0))
    ids = itertools.count(1)
    pool = AgentPool(["a1"], T0, wrap_up_s=0, miss_pause_after=3)
    rec = Recorder()
    dispatcher = Dispatcher(
        settings=CampaignSettings(), store=SqlOrderStore(engine), telephony=rec, agents=pool,
        journal=rec, new_attempt_id=lambda: f"att-{next(ids)}",
        screen=lambda o, now: Screening(Verdict.DIAL, "+79161234567", (MSK,), "i"),
        jitter=lambda: 0.0,
    )  # fmt: skip
    dispatcher.admit([Order("НФ-00123", "+79161234567", "Иван", "Мака", T0)], T0)
    dispatcher.dispatch(T0)
    answered, ended = T0 + timedelta(seconds=25), T0 + timedelta(seconds=145)
    attempt = rec.originated[-1].attempt_id
    dispatcher.on_report(CallReport(attempt, CallResult.ANSWERED, ended, answered))
    with engine.connect() as connection:
        row = connection.execute(select(AttemptRow.answered_at, AttemptRow.ended_at)).one()
    assert (row.answered_at, row.ended_at) == (answered, ended)
    report = build(SqlReportReads(engine).history(DAY), DAY, T0 + timedelta(hours=1))
    assert [(a.agent, a.answered, a.talk_s) for a in report.agents] == [("a1", 1, 120.0)]


def add_order(connection: object, order_id: str, campaign: str, created: datetime) -> None:
    connection.execute(insert(OrderRow).values(  # type: ignore[attr-defined]
        id=order_id, campaign=campaign, phone_raw="+79161234567", e164="+79161234567",
        name="Иван", product="Мака", created_at=created, crm_status="new", crm_state="new",
        updated_at=created, phase="done"))  # fmt: skip


def add_attempt(
    connection: object, attempt_id: str, order_id: str, agent: str, start: datetime, *,
    result: str, talk_s: int = 0,
) -> None:  # fmt: skip
    answered = start + timedelta(seconds=20) if result == "answered" else None
    connection.execute(insert(AttemptRow).values(  # type: ignore[attr-defined]
        id=attempt_id, order_id=order_id, e164="+7916", agent=agent, started_at=start,
        answered_at=answered, ended_at=start + timedelta(seconds=20 + talk_s), result=result,
        customer_attempt=result != "agent_missed"))  # fmt: skip


def test_the_range_reads_narrow_by_local_day_campaign_and_agent(engine: Engine) -> None:
    with engine.begin() as c:
        for name in ("default", "Мебель"):
            c.execute(insert(Campaign).values(name=name, created_at=T0, updated_at=T0))
        add_order(c, "НФ-00123", "default", T0 - timedelta(minutes=2))
        add_order(c, "НФ-00124", "Мебель", T0)
        add_order(c, "old", "default", T0 - timedelta(days=1))
        add_attempt(c, "x1", "НФ-00123", "a1", T0 - timedelta(minutes=1), result="agent_missed")
        add_attempt(c, "x2", "НФ-00123", "a2", T0, result="answered", talk_s=60)
        add_attempt(c, "x3", "НФ-00124", "a1", T0 + timedelta(minutes=5), result="no_answer")
        add_attempt(c, "x4", "old", "a1", T0 - timedelta(days=1), result="busy")  # the day before
        c.execute(insert(OutcomeRow).values(
            order_id="НФ-00123", attempt_id="x2", kind="confirmed", crm_status="ok", created_at=T0
        ))  # fmt: skip
        c.execute(insert(AgentStateRow).values(agent_id="a2", state="idle", by="a2",
                                               at=T0 - timedelta(days=2)))  # fmt: skip
        c.execute(insert(AgentStateRow).values(agent_id="a2", state="logged_out", by="a2",
                                               at=T0 + timedelta(hours=1)))  # fmt: skip
    registry(engine)  # a1, a2 in "default"
    reads = SqlReportReads(engine)
    every = reads.history(DAY)
    assert sorted(a.result or "" for a in every.attempts) == ["agent_missed", "answered",
                                                            "no_answer"]  # fmt: skip
    assert [o.kind for o in every.outcomes] == ["confirmed"]
    speed = {o.created_at: o.first_dialled_at for o in every.orders}
    assert speed == {T0 - timedelta(minutes=2): T0, T0: T0 + timedelta(minutes=5)}
    assert [(s.agent, s.state) for s in sorted(every.states, key=lambda s: s.at)] == [
        ("a2", "idle"), ("a2", "logged_out")]  # fmt: skip
    mine = reads.history(DAY, campaign="Мебель")
    assert [a.agent for a in mine.attempts] == ["a1"] and mine.outcomes == []
    assert mine.states == []  # a2 works in "default"
    a2 = reads.history(DAY, agent="a2")
    assert [a.result for a in a2.attempts] == ["answered"]
    report = build(every, DAY, T0 + timedelta(hours=3))
    figures = {f.agent: f for f in report.agents}
    assert figures["a2"].talk_s == 60 and figures["a1"].missed == 1
    assert figures["a2"].signed_in_s == (T0 + timedelta(hours=1) - DAY.start).total_seconds()
    assert report.speed.p50_s == 120.0
    assert reads.agents("default") == ["a1", "a2"]


def test_the_state_history_refuses_an_unknown_state(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(
            text("INSERT INTO agent_states (agent_id, state, by, at) "
                 "VALUES ('a1', 'coffee', 'a1', :t)"),
            {"t": T0.replace(tzinfo=None)},
        )  # fmt: skip
