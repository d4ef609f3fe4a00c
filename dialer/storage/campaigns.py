"""The campaigns table: whether dialling is paused (and why) and the stored settings JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dialer.storage.engine import retry_locked, translates_outages
from dialer.storage.models import Campaign


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """One campaign row."""

    name: str
    paused: bool
    paused_reason: str | None
    settings_json: str
    updated_at: datetime


@translates_outages
class SqlCampaignStore:
    """Reads and writes campaign rows (created on first write)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, name: str) -> CampaignRecord | None:
        with Session(self._engine) as session:
            row = session.get(Campaign, name)
            return None if row is None else _record(row)

    def all(self) -> list[CampaignRecord]:
        """Every campaign row, by name."""
        with Session(self._engine) as session:
            rows = session.scalars(select(Campaign).order_by(Campaign.name))
            return [_record(row) for row in rows]

    def is_paused(self, name: str) -> bool:
        record = self.get(name)
        return record is not None and record.paused

    def set_paused(self, name: str, now: datetime, reason: str | None) -> CampaignRecord:
        """Paused with ``reason``, or resumed when ``reason`` is None."""

        def change(row: Campaign) -> None:
            row.paused, row.paused_reason = reason is not None, reason

        return self._write(name, now, change)

    def set_settings(self, name: str, now: datetime, settings_json: str) -> CampaignRecord:
        def change(row: Campaign) -> None:
            row.settings_json = settings_json

        return self._write(name, now, change)

    def _write(
        self, name: str, now: datetime, change: Callable[[Campaign], None]
    ) -> CampaignRecord:
        def work() -> CampaignRecord:
            with Session(self._engine) as session, session.begin():
                ensure_campaign(session, name, now)
                row = session.get_one(Campaign, name)
                change(row)
                row.updated_at = now
                session.flush()
                return _record(row)

        return retry_locked(work)


def ensure_campaign(session: Session, name: str, now: datetime) -> None:
    """Creates the campaign's row unless it exists, in one ``INSERT … ON CONFLICT DO
    NOTHING``: nodes starting at once on a fresh database both ask, and a look-up before
    the insert let both through and failed the second on the primary key."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(Campaign)
        .values(name=name, settings_json="{}", created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Campaign.name])
    )


def _record(row: Campaign) -> CampaignRecord:
    updated = row.updated_at
    return CampaignRecord(
        name=row.name,
        paused=bool(row.paused),
        paused_reason=row.paused_reason,
        settings_json=row.settings_json or "{}",
        updated_at=updated if updated.tzinfo is not None else updated.replace(tzinfo=UTC),
    )
