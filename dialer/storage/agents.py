"""Agents in the database: each campaign's configured agents, ops' controls, the pool's states.

Two writers share a row. Ops (the CLI) ask for ``login``/``logout``/``pause``/``resume``; the
running service applies those to its in-memory pool and writes the pool's states back with
``record``, a compare-and-set on (state, paused_reason) so it never overwrites a request it
has not seen yet (see ``dialer.app.agent_sync``).

Every change of (state, reason) also adds a row to ``agent_states`` in the same transaction
(the reports' history): ``by`` is who asked (an agent's or supervisor's id, ``"ops"``) for
the requests, ``"system"`` for the pool's own changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Engine, or_, select, update
from sqlalchemy.orm import Session

from dialer.dispatch.agents import Agent, AgentState
from dialer.storage.campaigns import ensure_campaign
from dialer.storage.engine import translates_outages, write_transaction
from dialer.storage.errors import InvalidValueError
from dialer.storage.models import DEFAULT_SERVER, AgentRow, AgentStateRow

T = TypeVar("T")

_AGENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_BUSY = (AgentState.RINGING, AgentState.ON_CALL)
OPS = "ops"  # who changed a state through the CLI or an API token
SYSTEM = "system"  # the dialer itself: calls ringing and ending, «нет результата», devices

StateKey = tuple[AgentState, str | None]
"""What tells one writer's change from the other's: the state and the pause reason."""


class UnknownAgentError(InvalidValueError):
    """No agent with this id is configured."""


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """One row of the agents table."""

    id: str
    campaign: str | None
    display_name: str
    channel: str
    state: AgentState
    state_since: datetime
    paused_reason: str | None
    consecutive_misses: int
    last_call_ended_at: datetime | None
    server: str = DEFAULT_SERVER

    @property
    def key(self) -> StateKey:
        return (self.state, self.paused_reason)

    @property
    def busy(self) -> bool:
        """Ringing or on a call: a logout or pause takes effect when the call ends."""
        return self.state in _BUSY


@dataclass(frozen=True, slots=True)
class Change:
    """An ops request as it was applied: the row before and after."""

    before: AgentRecord
    after: AgentRecord

    @property
    def changed(self) -> bool:
        return self.before.key != self.after.key


def checked_server(text: str) -> str:
    """``text`` if it can name an Asterisk server (it names a lock and is shown), else
    InvalidValueError."""
    if not _AGENT_ID.fullmatch(text):
        raise InvalidValueError(f"not a server name (letters, digits, _ . -; 1-64): {text!r}")
    return text


def checked_agent_id(text: str) -> str:
    """``text`` if it can be an agent id (it reaches dial strings), else InvalidValueError."""
    if not _AGENT_ID.fullmatch(text):
        raise InvalidValueError(f"not an agent id (letters, digits, _ . -; 1-64): {text!r}")
    return text


@translates_outages
class SqlAgentRegistry:
    """The agents table over SQLAlchemy."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def configure(
        self,
        campaign: str,
        agent_ids: Iterable[str],
        now: datetime,
        *,
        channel_template: str = "PJSIP/{agent}",
        names: Mapping[str, str] | None = None,
        server: str | None = None,
    ) -> list[str]:
        """Upsert the campaign's agents (creating the campaign row if needed). New agents
        start logged out; existing ones keep their state and get the campaign and channel
        (and ``server``, the Asterisk server their phones are on, when given). Agents no
        longer listed are left as they are. Returns the ids added."""
        if server is not None:
            checked_server(server)
        ids = [checked_agent_id(a) for a in agent_ids]
        names = names or {}

        def work(session: Session) -> list[str]:
            ensure_campaign(session, campaign, now)
            added = []
            for agent_id in ids:
                channel = channel_template.replace("{agent}", agent_id)
                row = session.get(AgentRow, agent_id)
                if row is None:
                    added.append(agent_id)
                    row = AgentRow(id=agent_id, state=AgentState.LOGGED_OUT.value)
                    row.state_since, row.display_name = now, names.get(agent_id, agent_id)
                    session.add(row)
                row.campaign, row.channel = campaign, channel
                if server is not None:
                    row.server = server
                row.display_name = names.get(agent_id, row.display_name)
            return added

        return self._write(work)

    def get(self, agent_id: str) -> AgentRecord:
        with self._read() as session:
            return _record(_row(session, agent_id))

    def all(self, campaign: str | None = None, *, server: str | None = None) -> list[AgentRecord]:
        """Every agent (of ``campaign``, on ``server`` when given), by id. An agent with no
        server recorded is on ``"default"``."""
        query = select(AgentRow).order_by(AgentRow.id)
        if campaign is not None:
            query = query.where(AgentRow.campaign == campaign)
        if server == DEFAULT_SERVER:
            query = query.where(or_(AgentRow.server == server, AgentRow.server.is_(None)))
        elif server is not None:
            query = query.where(AgentRow.server == server)
        with self._read() as session:
            return [_record(row) for row in session.scalars(query)]

    def servers(self, campaign: str) -> set[str]:
        """The servers the agents of ``campaign`` are placed on (those that name one)."""
        return {record.server for record in self.all(campaign) if record.server}

    def login(self, agent_id: str, now: datetime, *, by: str = OPS) -> Change:
        """Logged out or paused → idle, misses forgiven; otherwise nothing changes."""
        return self._request(agent_id, now, _login, by)

    def resume(self, agent_id: str, now: datetime, *, by: str = OPS) -> Change:
        """Paused → idle, misses forgiven; otherwise nothing changes."""
        return self._request(agent_id, now, _resume, by)

    def logout(self, agent_id: str, now: datetime, *, by: str = OPS) -> Change:
        return self._request(agent_id, now, _logout, by)

    def pause(self, agent_id: str, now: datetime, reason: str, *, by: str = OPS) -> Change:
        """Paused with ``reason`` (required). A logged-out agent cannot be paused."""
        if not reason.strip():
            raise InvalidValueError("a pause needs a reason (--reason)")
        return self._request(agent_id, now, lambda row, at: _pause(row, at, reason.strip()), by)

    def record(self, agent: Agent, *, expected: StateKey) -> bool:
        """Write the pool's view of ``agent`` unless the row's (state, reason) is no longer
        ``expected`` (ops changed it meanwhile). True when written."""
        return agent.id in self.record_many([(agent, expected)])

    def record_many(self, changes: Iterable[tuple[Agent, StateKey]]) -> set[str]:
        """``record`` for several agents in one transaction (one commit per dispatch round,
        not one per agent); returns the ids written."""
        queries = [(agent, expected, _record_query(agent, expected)) for agent, expected in changes]
        if not queries:
            return set()

        def work(session: Session) -> set[str]:
            written = set()
            for agent, expected, query in queries:
                result: CursorResult[Any] = session.execute(query)  # type: ignore[assignment]
                if result.rowcount == 1:
                    written.add(agent.id)
                    if (agent.state, agent.paused_reason) != expected:
                        session.add(_history(agent.id, agent.state.value,
                                             agent.paused_reason, SYSTEM, agent.since))  # fmt: skip
            return written

        return self._write(work)

    def _request(
        self, agent_id: str, now: datetime, change: Callable[[AgentRow, datetime], None], by: str
    ) -> Change:
        def work(session: Session) -> Change:
            row = _row(session, agent_id)
            before = _record(row)
            change(row, now)
            done = Change(before, _record(row))
            if done.changed:
                session.add(_history(agent_id, row.state, row.paused_reason, by, now))
            return done

        return self._write(work)

    def _read(self) -> Session:
        return Session(self._engine)

    def _write(self, work: Callable[[Session], T]) -> T:
        return write_transaction(self._engine, work, "agents table")


def _login(row: AgentRow, now: datetime) -> None:
    if row.state in (AgentState.LOGGED_OUT.value, AgentState.PAUSED.value):
        _set(row, AgentState.IDLE, now, reason=None)
        row.consecutive_misses = 0


def _resume(row: AgentRow, now: datetime) -> None:
    if row.state == AgentState.PAUSED.value:
        _login(row, now)


def _logout(row: AgentRow, now: datetime) -> None:
    if row.state != AgentState.LOGGED_OUT.value:
        _set(row, AgentState.LOGGED_OUT, now, reason=None)


def _pause(row: AgentRow, now: datetime, reason: str) -> None:
    if row.state == AgentState.LOGGED_OUT.value:
        raise InvalidValueError(f"agent {row.id} is logged out; log in first")
    if (row.state, row.paused_reason) != (AgentState.PAUSED.value, reason):
        _set(row, AgentState.PAUSED, now, reason=reason)


def _set(row: AgentRow, state: AgentState, now: datetime, *, reason: str | None) -> None:
    row.state, row.state_since, row.paused_reason = state.value, now, reason


def _history(agent_id: str, state: str, reason: str | None, by: str, at: datetime) -> AgentStateRow:
    return AgentStateRow(agent_id=agent_id, state=state, reason=reason, by=by[:64], at=at)


def _row(session: Session, agent_id: str) -> AgentRow:
    row = session.get(AgentRow, agent_id)
    if row is None:
        raise UnknownAgentError(f"unknown agent {agent_id!r}")
    return row


def _record(row: AgentRow) -> AgentRecord:
    return AgentRecord(
        id=row.id,
        campaign=row.campaign,
        display_name=row.display_name,
        channel=row.channel,
        state=AgentState(row.state),
        state_since=_aware(row.state_since),
        paused_reason=row.paused_reason,
        consecutive_misses=row.consecutive_misses or 0,
        last_call_ended_at=None
        if row.last_call_ended_at is None
        else _aware(row.last_call_ended_at),
        server=row.server or DEFAULT_SERVER,
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _record_query(agent: Agent, expected: StateKey) -> Any:
    """The compare-and-set UPDATE of ``record``: only while the row is still ``expected``."""
    state, reason = expected
    return (
        update(AgentRow)
        .where(AgentRow.id == agent.id, AgentRow.state == state.value)
        .where(
            AgentRow.paused_reason.is_(None) if reason is None else AgentRow.paused_reason == reason
        )
        .values(
            state=agent.state.value,
            state_since=agent.since,
            paused_reason=agent.paused_reason,
            consecutive_misses=agent.consecutive_misses,
            last_call_ended_at=agent.last_call_ended_at,
        )
    )
