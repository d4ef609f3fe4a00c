"""The campaign catalog's port: campaigns with their settings, state and version history.

The database is the one source of truth for a campaign's settings (issue 21). Each change
writes a new version (who, when, what); a rollback writes a new version that copies an
old one, so history only grows. ``settings_json`` is the campaign in the campaign file's
form (``dialer.app.operations.settings_mapping``: every field, sorted keys), which
``dialer.config.campaign.campaign_from_mapping`` reads back.

Errors::

    CatalogError
    ├── UnknownCampaignError   no campaign of that name
    ├── CampaignExistsError    create of a name already taken
    ├── UnknownVersionError    rollback to a version the campaign never had
    └── VersionConflictError   ``expected_version`` is not the current one (someone else saved)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

CampaignState = Literal["active", "paused", "archived"]
STATES: tuple[CampaignState, ...] = ("active", "paused", "archived")


class CatalogError(Exception):
    """A catalog request refused; the message says why."""


class UnknownCampaignError(CatalogError):
    """No campaign of that name."""


class CampaignExistsError(CatalogError):
    """A campaign of that name exists already (archived ones too)."""


class UnknownVersionError(CatalogError):
    """The campaign never had that version."""


class VersionConflictError(CatalogError):
    """The campaign changed since the caller read it."""


@dataclass(frozen=True, slots=True)
class CampaignEntry:
    """A campaign now: its state and its current settings version."""

    name: str
    state: CampaignState
    paused_reason: str | None
    version: int  # 1 for a new campaign, +1 per change
    settings_json: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class CampaignVersion:
    """One saved version of a campaign's settings."""

    campaign: str
    version: int
    settings_json: str
    author: str  # e.g. "supervisor:olga", "token:ops-1", "cli:root", "import:service.toml"
    note: str | None  # e.g. "rollback to 3", "first start: imported from service.toml"
    created_at: datetime


class CampaignCatalog(Protocol):
    """Campaigns and their versions. Writes are atomic: a failed write changes nothing."""

    def entries(self, *, include_archived: bool = False) -> list[CampaignEntry]:
        """Every campaign by name; archived ones only when asked."""
        ...

    def get(self, name: str) -> CampaignEntry:
        """Raises ``UnknownCampaignError``."""
        ...

    def create(
        self, name: str, settings_json: str, *, author: str, now: datetime, note: str | None = None
    ) -> CampaignEntry:
        """Version 1, state active. Raises ``CampaignExistsError``."""
        ...

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
        """A new version, unless ``settings_json`` equals the current one (then the entry is
        returned unchanged). Raises ``UnknownCampaignError``, ``VersionConflictError``."""
        ...

    def history(self, name: str) -> list[CampaignVersion]:
        """Every version, newest first. Raises ``UnknownCampaignError``."""
        ...

    def rollback(self, name: str, version: int, *, author: str, now: datetime) -> CampaignEntry:
        """A new version with the settings of ``version`` (note "rollback to N").
        Raises ``UnknownCampaignError``, ``UnknownVersionError``."""
        ...

    def set_state(
        self, name: str, state: CampaignState, *, author: str, now: datetime,
        reason: str | None = None,
    ) -> CampaignEntry:  # fmt: skip
        """Active, paused (``reason`` required) or archived; writes no settings version.
        Raises ``UnknownCampaignError``; ``CatalogError`` for a pause without a reason."""
        ...
