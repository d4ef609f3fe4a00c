"""The crm_cursors table: a CRM intake cursor by name, read before a poll and written after
the poll's orders were admitted (so a crash between the two re-reads, never loses)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialer.storage.engine import retry_locked, translates_outages
from dialer.storage.errors import InvalidValueError
from dialer.storage.models import CrmCursor

MAX_CURSOR = 2000  # characters: a cursor is a short text (RetailCRM's is a small JSON object)


@translates_outages
class SqlCursorStore:
    """``get``/``put`` of one cursor text by name."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, name: str) -> str | None:
        with Session(self._engine) as session:
            row = session.get(CrmCursor, name)
            return None if row is None else row.value

    def put(self, name: str, value: str, now: datetime) -> None:
        if not name or len(value) > MAX_CURSOR:
            raise InvalidValueError(
                f"CRM cursor {name!r}: a name and at most {MAX_CURSOR} characters are needed"
            )

        def work() -> None:
            with Session(self._engine) as session, session.begin():
                row = session.get(CrmCursor, name)
                if row is None:
                    session.add(CrmCursor(name=name, value=value, updated_at=now))
                else:
                    row.value, row.updated_at = value, now

        retry_locked(work)
