"""Agent sign-in in the database: each agent's password hash and lockout, and the sessions.

Only hashes are stored: the password's salted scrypt hash (``dialer.agent_auth.passwords``)
and the SHA-256 of each session secret. A session is found by that hash, which is the
primary key: the secret has 256 random bits, so looking its hash up reveals nothing a
guess could build on. ``change_lock`` applies the pure lockout rule
(``dialer.agent_auth.lockout``) to the row under a row lock, so two sign-ins at once count
both.

The same store serves the supervisors' sign-in (issue 19) over their own tables
(``SUPERVISORS``): only the account, credential and session tables differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from dialer.agent_auth.lockout import CLEAR, LockState
from dialer.storage.agents import UnknownAgentError
from dialer.storage.engine import translates_outages, write_transaction
from dialer.storage.models import (
    AgentCredential,
    AgentRow,
    AgentSessionRow,
    SupervisorCredential,
    SupervisorRow,
    SupervisorSessionRow,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AuthTables:
    """Whose sign-in: the accounts' table and its credentials' and sessions' tables (their
    account column is the attribute ``agent_id`` in both)."""

    what: str
    account: type[Any]
    credential: type[Any]
    session: type[Any]


AGENTS = AuthTables("agent", AgentRow, AgentCredential, AgentSessionRow)
SUPERVISORS = AuthTables("supervisor", SupervisorRow, SupervisorCredential, SupervisorSessionRow)


@dataclass(frozen=True, slots=True)
class Credential:
    """An agent's stored password hash and lockout state."""

    agent_id: str
    password_hash: str
    lock: LockState


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored session (its secret is not stored; ``token_hash`` is its SHA-256)."""

    token_hash: str
    agent_id: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@translates_outages
class SqlAgentAuthStore:
    """The agent_credentials and agent_sessions tables (or ``tables``') over SQLAlchemy."""

    def __init__(self, engine: Engine, tables: AuthTables = AGENTS) -> None:
        self._engine = engine
        self._t = tables

    def credential(self, agent_id: str) -> Credential | None:
        with Session(self._engine) as session:
            row = session.get(self._t.credential, agent_id)
            return None if row is None else _credential(row)

    def set_password(self, agent_id: str, password_hash: str, now: datetime) -> int:
        """Store ``password_hash`` for the agent (lockout cleared) and end its sessions;
        returns how many ended. UnknownAgentError when no such agent is configured."""

        t = self._t

        def work(session: Session) -> int:
            if session.get(t.account, agent_id) is None:
                raise UnknownAgentError(f"unknown {t.what} {agent_id!r}")
            row = session.get(t.credential, agent_id)
            if row is None:
                row = t.credential(agent_id=agent_id)
                session.add(row)
            row.password_hash, row.changed_at = password_hash, now
            row.failed_attempts, row.locked_until = 0, None
            return _end_sessions(session, t, agent_id)

        return self._write(work)

    def change_lock(self, agent_id: str, change: Callable[[LockState], LockState]) -> LockState:
        """Apply ``change`` to the agent's lockout state under a row lock; the new state.
        An agent without a password keeps none (``CLEAR`` is returned)."""

        credential = self._t.credential

        def work(session: Session) -> LockState:
            query = select(credential).where(credential.agent_id == agent_id)
            row = session.scalar(query.with_for_update())
            if row is None:
                return CLEAR
            state = change(_credential(row).lock)
            row.failed_attempts, row.locked_until = state.failures, state.locked_until
            return state

        return self._write(work)

    def add_session(self, record: SessionRecord) -> None:
        """Store a new session; expired sessions of every agent are dropped on the way."""

        table = self._t.session

        def work(session: Session) -> None:
            session.execute(delete(table).where(table.expires_at <= record.created_at))
            session.add(table(**_fields(record)))

        self._write(work)

    def session(self, token_hash: str) -> SessionRecord | None:
        """The stored session with this hash (expired or not: the caller decides)."""
        with Session(self._engine) as session:
            row = session.get(self._t.session, token_hash)
            return None if row is None else _session(row)

    def touch(self, token_hash: str, now: datetime) -> None:
        """Record that the session was used at ``now``."""

        def work(session: Session) -> None:
            row = session.get(self._t.session, token_hash)
            if row is not None:
                row.last_seen_at = now

        self._write(work)

    def end_session(self, token_hash: str) -> bool:
        """Delete the session; True when there was one."""

        def work(session: Session) -> bool:
            row = session.get(self._t.session, token_hash)  # by primary key, as ``session``
            if row is not None:
                session.delete(row)
            return row is not None

        return self._write(work)

    def end_sessions(self, agent_id: str) -> int:
        """Delete every session of the agent; how many there were."""
        return self._write(lambda session: _end_sessions(session, self._t, agent_id))

    def _write(self, work: Callable[[Session], T]) -> T:
        return write_transaction(self._engine, work, f"{self._t.what} sign-in tables")


def _end_sessions(session: Session, tables: AuthTables, agent_id: str) -> int:
    query = delete(tables.session).where(tables.session.agent_id == agent_id)
    return int(session.execute(query).rowcount)  # type: ignore[attr-defined]


def _credential(row: Any) -> Credential:
    until = None if row.locked_until is None else _aware(row.locked_until)
    return Credential(row.agent_id, row.password_hash, LockState(row.failed_attempts or 0, until))


def _session(row: Any) -> SessionRecord:
    return SessionRecord(
        token_hash=row.token_hash,
        agent_id=row.agent_id,
        csrf_token=row.csrf_token,
        created_at=_aware(row.created_at),
        expires_at=_aware(row.expires_at),
        last_seen_at=_aware(row.last_seen_at),
    )


def _fields(record: SessionRecord) -> dict[str, object]:
    return {
        "token_hash": record.token_hash,
        "agent_id": record.agent_id,
        "csrf_token": record.csrf_token,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "last_seen_at": record.last_seen_at,
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
