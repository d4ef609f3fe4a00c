"""The campaign catalog in SQL: ``campaigns`` (the current version and state) and
``campaign_versions`` (every saved version), on SQLite and PostgreSQL.

A write is one transaction: the campaign row moves from version N to N+1 by a guarded
``UPDATE … WHERE version = N`` and the version row is inserted beside it, so two writers
never both make version N+1 (the loser sees a conflict, or retries when it did not ask for
a version). A campaign row at version 0 was made for orders or a pause before any settings
were saved: it is not in the catalog until ``create`` adopts it (keeping its pause).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dialer.catalog.ports import (
    CampaignEntry,
    CampaignExistsError,
    CampaignState,
    CampaignVersion,
    CatalogError,
    UnknownCampaignError,
    UnknownVersionError,
    VersionConflictError,
)
from dialer.storage.engine import retry_locked, translates_outages
from dialer.storage.models import Campaign, CampaignVersionRow

T = TypeVar("T")
_RACES = 5  # guarded updates lost to another writer before giving up


class _Raced(Exception):
    """Another writer moved the campaign between our read and our guarded update."""


@translates_outages
class SqlCampaignCatalog:
    """``CampaignCatalog`` over the ``campaigns`` and ``campaign_versions`` tables."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def entries(self, *, include_archived: bool = False) -> list[CampaignEntry]:
        query = select(Campaign).where(Campaign.version > 0).order_by(Campaign.name)
        if not include_archived:
            query = query.where(Campaign.state != "archived")
        with Session(self._engine) as session:
            return [entry(row) for row in session.scalars(query)]

    def get(self, name: str) -> CampaignEntry:
        with Session(self._engine) as session:
            return entry(_row(session, name))

    def version(self, name: str) -> int:
        """The current version alone: the cheap look a following node makes every round
        (0 when the campaign is not in the catalog)."""
        with Session(self._engine) as session:
            found = session.scalar(select(Campaign.version).where(Campaign.name == name))
            return int(found or 0)

    def create(
        self, name: str, settings_json: str, *, author: str, now: datetime, note: str | None = None
    ) -> CampaignEntry:
        def work(session: Session) -> CampaignEntry:
            ensure_campaign(session, name, now)
            row = session.get_one(Campaign, name, with_for_update=True)
            if row.version:
                raise CampaignExistsError(f"a campaign named {name!r} exists already")
            return _save(session, row, settings_json, author=author, now=now, note=note)

        return self._transaction(work)

    def update(
        self,
        name: str,
        settings_json: str,
        *,
        author: str,
        now: datetime,
        expected_version: int | None = None,
        note: str | None = None,
    ) -> CampaignEntry:
        def work(session: Session) -> CampaignEntry:
            row = _row(session, name)
            _expect(row, expected_version)
            if row.settings_json == settings_json:
                return entry(row)
            return _save(session, row, settings_json, author=author, now=now, note=note)

        return self._transaction(work)

    def history(self, name: str) -> list[CampaignVersion]:
        query = (
            select(CampaignVersionRow)
            .where(CampaignVersionRow.campaign == name)
            .order_by(CampaignVersionRow.version.desc())
        )
        with Session(self._engine) as session:
            _row(session, name)
            return [_version(row) for row in session.scalars(query)]

    def rollback(self, name: str, version: int, *, author: str, now: datetime) -> CampaignEntry:
        def work(session: Session) -> CampaignEntry:
            row = _row(session, name)
            old = session.get(CampaignVersionRow, (name, version))
            if old is None:
                raise UnknownVersionError(f"campaign {name!r} has no version {version}")
            note = f"rollback to {version}"
            return _save(session, row, old.settings_json, author=author, now=now, note=note)

        return self._transaction(work)

    def set_state(
        self, name: str, state: CampaignState, *, author: str, now: datetime,
        reason: str | None = None,
    ) -> CampaignEntry:  # fmt: skip
        if state == "paused" and not (reason or "").strip():
            raise CatalogError("a pause needs a reason")

        def work(session: Session) -> CampaignEntry:
            row = _row(session, name)
            row.state = state
            row.paused_reason = reason.strip() if state == "paused" and reason else None
            row.updated_at, row.updated_by = now, author
            session.flush()
            return entry(row)

        return self._transaction(work)

    def _transaction(self, work: Callable[[Session], T]) -> T:
        def once() -> T:
            with Session(self._engine, expire_on_commit=False) as session, session.begin():
                return work(session)

        for _ in range(_RACES - 1):
            try:
                return retry_locked(once)
            except _Raced:
                continue
        try:
            return retry_locked(once)
        except _Raced:
            raise CatalogError("the campaign kept changing under this write; try again") from None


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


def _row(session: Session, name: str) -> Campaign:
    row = session.get(Campaign, name)
    if row is None or row.version == 0:
        raise UnknownCampaignError(f"no campaign named {name!r}")
    return row


def _expect(row: Campaign, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != row.version:
        raise VersionConflictError(
            f"campaign {row.name!r} is at version {row.version}, not {expected_version}"
        )


def _save(
    session: Session, row: Campaign, settings_json: str, *, author: str, now: datetime,
    note: str | None,
) -> CampaignEntry:  # fmt: skip
    """Version N+1 of ``row`` (read at N): the guarded update, then the version row."""
    old, new = row.version, row.version + 1
    moved = session.execute(
        update(Campaign)
        .where(Campaign.name == row.name, Campaign.version == old)
        .values(version=new, settings_json=settings_json, updated_at=now, updated_by=author)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise _Raced
    session.add(CampaignVersionRow(
        campaign=row.name, version=new, settings_json=settings_json, author=author, note=note,
        created_at=now,
    ))  # fmt: skip
    session.flush()
    session.refresh(row)
    return entry(row)


def entry(row: Campaign) -> CampaignEntry:
    """The port's view of a campaign row."""
    state: CampaignState = row.state  # type: ignore[assignment]  # CHECKed by the table
    return CampaignEntry(
        name=row.name, state=state, paused_reason=row.paused_reason, version=row.version,
        settings_json=row.settings_json, updated_at=row.updated_at, updated_by=row.updated_by,
    )  # fmt: skip


def _version(row: CampaignVersionRow) -> CampaignVersion:
    return CampaignVersion(
        campaign=row.campaign, version=row.version, settings_json=row.settings_json,
        author=row.author, note=row.note, created_at=row.created_at,
    )  # fmt: skip
