"""The campaigns table seen as pause state and stored settings: the view the pause API, the
reports and ``orders why`` read. The catalog (``dialer.storage.catalog``) owns the same rows
with their versions; a pause here is its ``state``, and settings saved here are a catalog
version like any other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialer.catalog.ports import CampaignExistsError
from dialer.storage.catalog import SqlCampaignCatalog, ensure_campaign
from dialer.storage.engine import retry_locked, translates_outages
from dialer.storage.models import Campaign

__all__ = ["CampaignRecord", "SqlCampaignStore", "ensure_campaign"]  # orders, agents take it here


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """One campaign row."""

    name: str
    paused: bool
    paused_reason: str | None
    settings_json: str
    updated_at: datetime
    version: int = 0  # the catalog's settings version; 0: none saved yet
    state: str = "active"  # active, paused or archived
    updated_by: str = ""


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

    def stops_dialling(self, name: str) -> bool:
        """Paused or archived: the campaign's rounds start no call (an archived campaign's
        orders stay as they are, to be seen and reported on)."""
        record = self.get(name)
        return record is not None and record.state in ("paused", "archived")

    def is_archived(self, name: str) -> bool:
        record = self.get(name)
        return record is not None and record.state == "archived"

    def set_paused(self, name: str, now: datetime, reason: str | None) -> CampaignRecord:
        """Paused with ``reason``, or resumed when ``reason`` is None."""

        def change(row: Campaign) -> None:
            if reason is not None:
                row.state, row.paused_reason = "paused", reason
            elif row.state == "paused":  # a resume does not bring back an archived campaign
                row.state, row.paused_reason = "active", None

        return self._write(name, now, change)

    def set_settings(
        self, name: str, now: datetime, settings_json: str, *, author: str = "api",
        expected_version: int | None = None,
    ) -> CampaignRecord:  # fmt: skip
        """A new catalog version of ``name``'s settings (version 1 if it had none); raises
        ``VersionConflictError`` when ``expected_version`` is not the current one."""
        catalog = SqlCampaignCatalog(self._engine)
        if expected_version is not None or catalog.version(name):
            catalog.update(name, settings_json, author=author, now=now,
                           expected_version=expected_version)  # fmt: skip
        else:
            try:
                catalog.create(name, settings_json, author=author, now=now)
            except CampaignExistsError:  # another node created it meanwhile
                catalog.update(name, settings_json, author=author, now=now)
        return self._write(name, now, lambda row: None)

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


def _record(row: Campaign) -> CampaignRecord:
    updated = row.updated_at
    return CampaignRecord(
        name=row.name,
        paused=row.state == "paused",
        paused_reason=row.paused_reason,
        settings_json=row.settings_json or "{}",
        updated_at=updated if updated.tzinfo is not None else updated.replace(tzinfo=UTC),
        version=row.version,
        state=row.state,
        updated_by=row.updated_by,
    )
