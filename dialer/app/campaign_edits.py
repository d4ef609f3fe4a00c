"""Editing campaigns in the catalog (issue 21): create, change, preview, pause, archive, history
and rollback, every value validated by the campaign file's own loader.

The browser editor and the API call this; it reads no clock (``clock`` is given) and
translates the catalog's errors into ``dialer.app.operations``' tree, which the API answers
as 404 / 409 / 400 naming the field::

    CatalogError                    → OperationError
    ├── UnknownCampaignError        → NotFoundError         (404, field "name")
    ├── CampaignExistsError         → ConflictError         (409, field "campaign.name")
    ├── UnknownVersionError         → InvalidRequestError   (400, field "version")
    └── VersionConflictError        → ConflictError         (409, field "expected_version")
    ConfigError of the loader       → InvalidRequestError   (400, the dotted field)
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from campaigns.preview import Preview, QueuedOrder, preview_change
from campaigns.settings import CallingWindow, CampaignSettings, RetrySettings
from dialer.app.campaign_source import settings_json
from dialer.app.operations import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OperationError,
    settings_mapping,
)
from dialer.catalog.ports import (
    CampaignCatalog,
    CampaignEntry,
    CampaignExistsError,
    CampaignState,
    CampaignVersion,
    CatalogError,
    UnknownCampaignError,
    UnknownVersionError,
    VersionConflictError,
)
from dialer.config.campaign import ConfigError, campaign_from_mapping

ROOT = "campaign"  # the dotted fields start as in the campaign file: campaign.window.start
MAX_NAME = 100
_TABLES: Mapping[str, type] = {
    ROOT: CampaignSettings, f"{ROOT}.window": CallingWindow, f"{ROOT}.retry": RetrySettings,
}  # fmt: skip
_WORD = re.compile(r"[a-z_][a-z0-9_]*")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Change:
    """One field of a version that differs from the version before it."""

    field: str  # dotted, e.g. campaign.window.start
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class VersionView:
    """A saved version and what it changed against the one before (none for version 1)."""

    version: CampaignVersion
    changes: tuple[Change, ...]


class CampaignEdits:
    """The catalog behind the editor; ``queued`` reads a campaign's queued orders."""

    def __init__(
        self,
        catalog: CampaignCatalog,
        queued: Callable[[str], list[QueuedOrder]],
        clock: Callable[[], datetime],
        *,
        crm_kind: object = None,
    ) -> None:
        self._catalog, self._queued, self._clock = catalog, queued, clock
        self._crm_kind = crm_kind  # RetailCRM's stock status codes as defaults (load_campaign)

    def entries(self, *, include_archived: bool = False) -> list[CampaignEntry]:
        return self._catalog.entries(include_archived=include_archived)

    def defaults(self) -> dict[str, Any]:
        """A new campaign's settings (no name yet), in the file's form."""
        return {**settings_mapping(self.validate({})), "name": ""}

    def get(self, name: str) -> CampaignEntry:
        return _translated(lambda: self._catalog.get(name))

    def create(self, table: Mapping[str, Any], author: str) -> CampaignEntry:
        """A new campaign from the campaign file's ``[campaign]`` table (``name`` required)."""
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequestError("a campaign needs a name", f"{ROOT}.name")
        settings = self.validate(dict(table))
        _check_name(settings.name)
        return _translated(
            lambda: self._catalog.create(
                settings.name, settings_json(settings), author=author, now=self._clock()
            )
        )

    def change(
        self, name: str, changes: Mapping[str, Any], author: str, expected_version: int | None
    ) -> CampaignEntry:
        """A new version with ``changes`` merged into the current settings (nested tables
        merge); nothing is written when a value is refused or the version moved on."""
        entry = self.get(name)
        if entry.state == "archived":
            raise ConflictError(f"campaign {name!r} is archived: resume it first", "state")
        settings = self._changed(entry, changes)
        return _translated(
            lambda: self._catalog.update(name, settings_json(settings), author=author,
                                         now=self._clock(), expected_version=expected_version)
        )  # fmt: skip

    def preview(self, name: str, changes: Mapping[str, Any]) -> Preview:
        """What ``change`` would do to the campaign's queue now; writes nothing."""
        entry = self.get(name)
        old = self.validate(json.loads(entry.settings_json))
        new = self._changed(entry, changes)
        return preview_change(self._clock(), self._queued(name), old, new)

    def set_state(
        self, name: str, state: CampaignState, author: str, reason: str | None = None
    ) -> CampaignEntry:
        try:
            return self._catalog.set_state(name, state, author=author, now=self._clock(),
                                           reason=reason)  # fmt: skip
        except UnknownCampaignError as exc:
            raise NotFoundError(str(exc), "name") from exc
        except CatalogError as exc:
            raise InvalidRequestError(str(exc), "reason") from exc

    def history(self, name: str) -> list[VersionView]:
        """Every version, newest first, each with its changes against the one before."""
        versions = _translated(lambda: self._catalog.history(name))
        older = [*versions[1:], None]
        return [VersionView(v, _diff(o, v)) for v, o in zip(versions, older, strict=True)]

    def rollback(self, name: str, version: int, author: str) -> CampaignEntry:
        return _translated(
            lambda: self._catalog.rollback(name, version, author=author, now=self._clock())
        )

    def validate(self, table: dict[str, Any]) -> CampaignSettings:
        """``table`` through the campaign file's loader; InvalidRequestError names the field."""
        try:
            return campaign_from_mapping(table, where=ROOT, crm_kind=self._crm_kind)
        except ConfigError as exc:
            field, _, message = str(exc).partition(": ")
            raise InvalidRequestError(message or str(exc), blamed(field, message)) from exc

    def _changed(self, entry: CampaignEntry, changes: Mapping[str, Any]) -> CampaignSettings:
        settings = self.validate(merged(json.loads(entry.settings_json), changes))
        if settings.name != entry.name:
            raise InvalidRequestError("a campaign's name cannot change", f"{ROOT}.name")
        return settings


def merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` over ``base``; a nested table merges key by key (as ``change_settings``)."""
    result = dict(base)
    for key, value in changes.items():
        old = result.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            result[key] = merged(old, value)
        else:
            result[key] = value
    return result


def blamed(field: str, message: str) -> str:
    """The field to blame: a table's own check (``campaign.window: window start … must be
    before end``) names the first of the table's fields its message mentions."""
    table = _TABLES.get(field)
    if table is None:
        return field
    names = {f.name for f in dataclasses.fields(table)}
    word = next((w for w in _WORD.findall(message) if w in names), None)
    return field if word is None else f"{field}.{word}"


def _check_name(name: str) -> None:
    if name != name.strip() or not 1 <= len(name) <= MAX_NAME or "/" in name:
        raise InvalidRequestError(f"a name of 1-{MAX_NAME} characters, no '/' and no blanks "
                                  f"around it, got {name!r}", f"{ROOT}.name")  # fmt: skip
    if any(not ch.isprintable() for ch in name):
        raise InvalidRequestError(f"no control characters in a name, got {name!r}",
                                  f"{ROOT}.name")  # fmt: skip


def _diff(older: CampaignVersion | None, version: CampaignVersion) -> tuple[Change, ...]:
    if older is None:
        return ()
    return tuple(_changes(json.loads(older.settings_json), json.loads(version.settings_json),
                          ROOT))  # fmt: skip


def _changes(before: Mapping[str, Any], after: Mapping[str, Any], where: str) -> list[Change]:
    found: list[Change] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            found.extend(_changes(old, new, f"{where}.{key}"))
        elif old != new:
            found.append(Change(f"{where}.{key}", old, new))
    return found


def _translated(call: Callable[[], _T]) -> _T:
    try:
        return call()
    except UnknownCampaignError as exc:
        raise NotFoundError(str(exc), "name") from exc
    except CampaignExistsError as exc:
        raise ConflictError(str(exc), f"{ROOT}.name") from exc
    except VersionConflictError as exc:
        raise ConflictError(str(exc), "expected_version") from exc
    except UnknownVersionError as exc:
        raise InvalidRequestError(str(exc), "version") from exc
    except CatalogError as exc:
        raise OperationError(str(exc)) from exc
