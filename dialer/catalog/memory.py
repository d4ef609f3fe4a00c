"""The campaign catalog in memory: the fake that passes the same contract tests as SQL."""

from __future__ import annotations

import dataclasses
from datetime import datetime

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


class MemoryCatalog:
    """``CampaignCatalog`` in two dicts."""

    def __init__(self) -> None:
        self._entries: dict[str, CampaignEntry] = {}
        self._versions: dict[str, list[CampaignVersion]] = {}

    def entries(self, *, include_archived: bool = False) -> list[CampaignEntry]:
        entries = sorted(self._entries.values(), key=lambda e: e.name)
        return [e for e in entries if include_archived or e.state != "archived"]

    def get(self, name: str) -> CampaignEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownCampaignError(f"no campaign named {name!r}") from None

    def create(
        self, name: str, settings_json: str, *, author: str, now: datetime, note: str | None = None
    ) -> CampaignEntry:
        if name in self._entries:
            raise CampaignExistsError(f"a campaign named {name!r} exists already")
        entry = CampaignEntry(name, "active", None, 1, settings_json, now, author)
        self._entries[name] = entry
        self._versions[name] = [CampaignVersion(name, 1, settings_json, author, note, now)]
        return entry

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
        entry = self.get(name)
        if expected_version is not None and expected_version != entry.version:
            raise VersionConflictError(
                f"campaign {name!r} is at version {entry.version}, not {expected_version}"
            )
        if settings_json == entry.settings_json:
            return entry
        version = entry.version + 1
        self._versions[name].append(
            CampaignVersion(name, version, settings_json, author, note, now)
        )
        entry = dataclasses.replace(
            entry, version=version, settings_json=settings_json, updated_at=now, updated_by=author
        )
        self._entries[name] = entry
        return entry

    def history(self, name: str) -> list[CampaignVersion]:
        self.get(name)
        return list(reversed(self._versions[name]))

    def rollback(self, name: str, version: int, *, author: str, now: datetime) -> CampaignEntry:
        self.get(name)
        old = next((v for v in self._versions[name] if v.version == version), None)
        if old is None:
            raise UnknownVersionError(f"campaign {name!r} has no version {version}")
        current = self.get(name)
        new = current.version + 1
        note = f"rollback to {version}"
        self._versions[name].append(
            CampaignVersion(name, new, old.settings_json, author, note, now)
        )
        entry = dataclasses.replace(
            current, version=new, settings_json=old.settings_json, updated_at=now,
            updated_by=author,
        )  # fmt: skip
        self._entries[name] = entry
        return entry

    def set_state(
        self, name: str, state: CampaignState, *, author: str, now: datetime,
        reason: str | None = None,
    ) -> CampaignEntry:  # fmt: skip
        entry = self.get(name)
        if state == "paused" and not (reason or "").strip():
            raise CatalogError("a pause needs a reason")
        reason = reason.strip() if state == "paused" and reason else None
        entry = dataclasses.replace(
            entry, state=state, paused_reason=reason, updated_at=now, updated_by=author
        )
        self._entries[name] = entry
        return entry
