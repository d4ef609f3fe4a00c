"""Supervisors in the database (issue 19): accounts that sign in to the dashboard and may
listen to, whisper into or barge into live calls. Not agents: never offered calls, not in the
pool. Each has a display name and an ``extension``, their own phone, digits only (it reaches
a dial string through the campaign's agent channel template; ``dialer.ami.dial_gate`` checks
it again before anything is sent)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from dialer.storage.agents import UnknownAgentError, checked_agent_id
from dialer.storage.engine import translates_outages, write_transaction
from dialer.storage.errors import InvalidValueError
from dialer.storage.models import (
    AgentRow,
    SupervisorCredential,
    SupervisorRow,
    SupervisorSessionRow,
)

T = TypeVar("T")
EXTENSION = re.compile(r"[0-9]{2,15}")
MAX_NAME = 200


class UnknownSupervisorError(UnknownAgentError):
    """No supervisor with this id."""


@dataclass(frozen=True, slots=True)
class SupervisorRecord:
    id: str
    display_name: str
    extension: str | None
    created_at: datetime


def checked_extension(text: str) -> str:
    """``text`` if it can be a supervisor's extension (digits, 2-15), else InvalidValueError."""
    if not EXTENSION.fullmatch(text):
        raise InvalidValueError(f"not an extension (digits only, 2-15 of them): {text!r}")
    return text


def checked_name(text: str) -> str:
    name = text.strip()
    if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name):  # noqa: PLR2004
        raise InvalidValueError(f"not a display name (1-{MAX_NAME} printable characters)")
    return name


@translates_outages
class SqlSupervisors:
    """The supervisors table over SQLAlchemy."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(
        self, supervisor_id: str, now: datetime, *, name: str | None = None,
        extension: str | None = None,
    ) -> SupervisorRecord:  # fmt: skip
        """A new supervisor; InvalidValueError when the id is taken by a supervisor or an
        agent (one id, one person: the audit names them by it)."""
        try:
            checked_agent_id(supervisor_id)
        except InvalidValueError:
            raise InvalidValueError(f"not a supervisor id (letters, digits, _ . -; 1-64): "
                                    f"{supervisor_id!r}") from None  # fmt: skip
        shown = checked_name(name if name is not None else supervisor_id)
        phone = None if extension is None else checked_extension(extension)

        def work(session: Session) -> SupervisorRecord:
            if session.get(SupervisorRow, supervisor_id) is not None:
                raise InvalidValueError(f"supervisor {supervisor_id!r} already exists")
            if session.get(AgentRow, supervisor_id) is not None:
                raise InvalidValueError(f"{supervisor_id!r} is an agent's id; pick another")
            row = SupervisorRow(id=supervisor_id, display_name=shown, extension=phone,
                                created_at=now)  # fmt: skip
            session.add(row)
            return _record(row)

        return self._write(work)

    def change(
        self, supervisor_id: str, *, name: str | None = None, extension: str | None = None,
        clear_extension: bool = False,
    ) -> SupervisorRecord:  # fmt: skip
        """Set the name and/or the extension (or clear it)."""
        shown = None if name is None else checked_name(name)
        phone = None if extension is None else checked_extension(extension)

        def work(session: Session) -> SupervisorRecord:
            row = _row(session, supervisor_id)
            if shown is not None:
                row.display_name = shown
            if phone is not None or clear_extension:
                row.extension = phone
            return _record(row)

        return self._write(work)

    def remove(self, supervisor_id: str) -> None:
        """Delete the supervisor, with their password and sessions (the audit keeps the id)."""

        def work(session: Session) -> None:
            row = _row(session, supervisor_id)
            for table in (SupervisorSessionRow, SupervisorCredential):  # not left to the FK
                session.execute(delete(table).where(table.agent_id == supervisor_id))
            session.delete(row)

        self._write(work)

    def get(self, supervisor_id: str) -> SupervisorRecord:
        with Session(self._engine) as session:
            return _record(_row(session, supervisor_id))

    def all(self) -> list[SupervisorRecord]:
        with Session(self._engine) as session:
            rows = session.scalars(select(SupervisorRow).order_by(SupervisorRow.id))
            return [_record(row) for row in rows]

    def _write(self, work: Callable[[Session], T]) -> T:
        return write_transaction(self._engine, work, "supervisors table")


def _row(session: Session, supervisor_id: str) -> SupervisorRow:
    row = session.get(SupervisorRow, supervisor_id)
    if row is None:
        raise UnknownSupervisorError(f"unknown supervisor {supervisor_id!r}")
    return row


def _record(row: SupervisorRow) -> SupervisorRecord:
    created = row.created_at
    created = created if created.tzinfo is not None else created.replace(tzinfo=UTC)
    return SupervisorRecord(row.id, row.display_name, row.extension, created)
