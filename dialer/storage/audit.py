"""The supervision audit log (issue 19): one row per listen, whisper or barge asked for,
accepted or refused, per supervisor sign-in and sign-out, per recording played, per report
viewed and per «почему не звоним?» look-up through the API (action why). Rows are only added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialer.storage.engine import translates_outages, write_transaction
from dialer.storage.models import AuditRow

MAX_ROWS = 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who (``actor``: a supervisor's id or an API token's name; ``actor_kind`` says which),
    what (``action``: listen, whisper, barge, sign_in, sign_out, play_recording), whose
    call, when, and the result (accepted or refused, with ``detail`` saying why)."""

    at: datetime
    actor: str
    actor_kind: str
    action: str
    result: str
    attempt_id: str | None = None
    order_id: str | None = None
    agent_id: str | None = None
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(timespec="seconds"),
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "action": self.action,
            "result": self.result,
            "attempt_id": self.attempt_id,
            "order_id": self.order_id,
            "agent_id": self.agent_id,
            "detail": self.detail,
        }


@translates_outages
class SqlAuditLog:
    """The supervision_audit table over SQLAlchemy."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write(self, entry: AuditEntry) -> None:
        def work(session: Session) -> None:
            session.add(AuditRow(**{f: getattr(entry, f) for f in _FIELDS}))

        write_transaction(self._engine, work, "supervision audit")

    def entries(
        self, since: datetime | None = None, until: datetime | None = None, *,
        limit: int = MAX_ROWS,
    ) -> list[AuditEntry]:  # fmt: skip
        """Entries with ``since <= at < until`` (either bound optional), newest first."""
        query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc())
        if since is not None:
            query = query.where(AuditRow.at >= since)
        if until is not None:
            query = query.where(AuditRow.at < until)
        with Session(self._engine) as session:
            rows = session.scalars(query.limit(max(1, min(limit, MAX_ROWS))))
            return [_entry(row) for row in rows]


_FIELDS = ("at", "actor", "actor_kind", "action", "result", "attempt_id", "order_id",
           "agent_id", "detail")  # fmt: skip


def _entry(row: AuditRow) -> AuditEntry:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
    return AuditEntry(at, row.actor, row.actor_kind, row.action, row.result, row.attempt_id,
                      row.order_id, row.agent_id, row.detail)  # fmt: skip
