"""The do-not-call list: numbers the dialer must never ring, whatever the CRM says."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dialer.storage.engine import is_locked_error, retry_locked
from dialer.storage.errors import DatabaseUnavailableError, InvalidValueError
from dialer.storage.models import DoNotCall

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True, slots=True)
class DncEntry:
    """One listed number."""

    e164: str
    reason: str
    added_at: datetime


def checked_e164(text: str) -> str:
    """``text`` if it is E.164 (``+`` and 7 to 15 digits), else InvalidValueError."""
    if not _E164.fullmatch(text):
        raise InvalidValueError(f"not an E.164 number (+ and 7-15 digits): {text!r}")
    return text


class DoNotCallList:
    """The do-not-call list kept in the database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, e164: str, *, now: datetime, reason: str = "") -> bool:
        """List ``e164``; False when it was already listed (its entry is kept as it was)."""
        row = {"e164": checked_e164(e164), "reason": reason, "added_at": now}

        def work() -> bool:
            with self._engine.begin() as connection:
                if connection.scalar(select(DoNotCall.e164).where(DoNotCall.e164 == e164)):
                    return False
                connection.execute(insert(DoNotCall).values(row))
            return True

        try:
            return retry_locked(work)
        except IntegrityError:
            return False  # listed by someone else between our check and our insert
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc

    def remove(self, e164: str) -> bool:
        """Unlist ``e164``; False when it was not listed."""

        def work() -> bool:
            with self._engine.begin() as connection:
                result = connection.execute(delete(DoNotCall).where(DoNotCall.e164 == e164))
            return result.rowcount > 0

        try:
            return retry_locked(work)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc

    def contains(self, e164: str) -> bool:
        """True when ``e164`` is listed."""
        query = select(DoNotCall.e164).where(DoNotCall.e164 == e164)
        try:
            with self._engine.connect() as connection:
                return connection.scalar(query) is not None
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc

    def entries(self) -> list[DncEntry]:
        """Every listed number, in number order."""
        query = select(DoNotCall.e164, DoNotCall.reason, DoNotCall.added_at).order_by(
            DoNotCall.e164
        )
        try:
            with self._engine.connect() as connection:
                return [DncEntry(*row) for row in connection.execute(query)]
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from exc


def _unavailable(exc: SQLAlchemyError) -> DatabaseUnavailableError:
    what = "locked" if is_locked_error(exc) else "unavailable"
    return DatabaseUnavailableError(f"do-not-call list {what}: {exc}")
