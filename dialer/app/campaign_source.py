"""Where a node's campaign settings come from: the catalog in the database, not the file.

At start (``campaign_settings_at_start``) the file's campaign is imported once, when the
catalog has none of that name; after that the database wins, and a file that differs is
reported (which fields, and the two commands that reconcile them), never written over and
never writing over. While running (``SettingsFollower``) a node looks at the campaign's
version before each dispatch round and takes a newer one, so every node of a campaign
follows the same database; a new window also brings forward the queued orders that were
waiting for the old one's opening (``queue_follows``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

from campaigns.preview import QueuedOrder, reopened_due
from campaigns.settings import CampaignSettings
from dialer.app.operations import settings_mapping
from dialer.catalog.ports import (
    CampaignCatalog,
    CampaignEntry,
    CampaignExistsError,
    UnknownCampaignError,
)
from dialer.config.campaign import ConfigError, campaign_from_mapping
from dialer.dispatch.dispatcher import Dispatcher
from dialer.storage.errors import StorageError

T = TypeVar("T")
fallback_log = logging.getLogger("dialer.service")  # the log lines ops grep name the service


def settings_json(settings: CampaignSettings) -> str:
    """``settings`` as the catalog stores them: the file's form, every field, sorted keys."""
    return json.dumps(settings_mapping(settings), ensure_ascii=False, sort_keys=True)


def settings_from_json(text: str, *, where: str = "campaign") -> CampaignSettings:
    """A catalog version read back through the file's loader; ``ConfigError`` names the field."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: stored settings are not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: stored settings are not a table")
    return campaign_from_mapping(data, where=where)


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The dotted names of the settings that differ (``window.start``), sorted."""
    changed: list[str] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changed += [f"{key}.{inner}" for inner in changed_fields(old, new)]
        elif old != new:
            changed.append(key)
    return changed


def campaign_settings_at_start(
    catalog: CampaignCatalog,
    from_file: CampaignSettings,
    *,
    source: str,
    now: datetime,
    log: Callable[[str], None],
    file_agents: bool = False,
) -> CampaignSettings:
    """The settings this node runs ``from_file.name`` with: the catalog's current version;
    on the first start (no such campaign yet) the file's, imported as version 1. With
    ``file_agents`` (the file places agents at its servers) the ``agents`` are the file's."""
    name, text = from_file.name, settings_json(from_file)
    try:
        entry = catalog.get(name)
    except UnknownCampaignError:
        try:
            catalog.create(name, text, author=f"import:{source}", now=now,
                           note=f"first start: imported from {source}")  # fmt: skip
        except CampaignExistsError:  # another node of the campaign imported it meanwhile
            entry = catalog.get(name)
        else:
            log(f"campaign {name!r}: first start, its settings imported from {source} into "
                "the database as version 1; from now on the database is their source "
                "(callback-dialer campaign show/update/history)")  # fmt: skip
            return from_file
    stored = settings_from_json(entry.settings_json, where=f"campaign {name!r} in the database")
    if file_agents:  # each node's own agents: compared without them
        stored, compared = placed(stored, from_file.agents), placed(from_file, ())
        entry = dataclasses.replace(entry, settings_json=settings_json(placed(stored, ())))
        text, from_file = settings_json(compared), compared
    if entry.settings_json != text:
        log(differing_file_message(entry, from_file, source))
    return stored


def placed(settings: CampaignSettings, agents: tuple[str, ...]) -> CampaignSettings:
    """``settings`` with the agents this node's file places at its servers."""
    return dataclasses.replace(settings, agents=agents)


def campaigns_at_start(
    catalog: CampaignCatalog,
    from_file: Iterable[CampaignSettings],
    *,
    source: str,
    now: datetime,
    log: Callable[[str], None],
    file_agents: bool = False,
) -> list[CampaignSettings]:
    """``campaign_settings_at_start`` for each campaign of the service file, in its order."""
    return [campaign_settings_at_start(catalog, c, source=source, now=now, log=log,
                                       file_agents=file_agents)
            for c in from_file]  # fmt: skip


def differing_file_message(entry: CampaignEntry, from_file: CampaignSettings, source: str) -> str:
    """What a node says when its file's campaign is not the database's: which fields differ
    (file and database values), what it runs, and how to take one side or the other."""
    file_map, db_map = settings_mapping(from_file), json.loads(entry.settings_json)
    lines = [
        f"campaign {entry.name!r}: {source} differs from the database (version "
        f"{entry.version}, by {entry.updated_by}); running the DATABASE's settings, "
        "neither is overwritten. Differences:"
    ]
    for field in changed_fields(db_map, file_map):
        lines.append(f"  {field}: file {_at(file_map, field)}, database {_at(db_map, field)}")
    lines.append(f"  to take the file: callback-dialer campaign import {source}")
    lines.append(f"  to write the file from the database: callback-dialer campaign export "
                 f"{entry.name} --out FILE (then copy its table into {source})")  # fmt: skip
    return "\n".join(lines)


def _at(mapping: Mapping[str, Any], dotted: str) -> str:
    value: Any = mapping
    for part in dotted.split("."):
        value = value.get(part, "(unset)") if isinstance(value, Mapping) else "(unset)"
    return json.dumps(value, ensure_ascii=False)


class _Slot(Protocol):
    def dispatchers(self) -> Mapping[str, Dispatcher]: ...


def to_each(
    slots: Iterable[_Slot],
    name: str,
    *,
    changed: Callable[[CampaignSettings, CampaignSettings], None] | None = None,
) -> Callable[[CampaignSettings], None]:
    """One ``apply`` for campaign ``name``'s dispatcher on every server the node serves;
    then ``changed(old, new)`` when the settings differ (the queue's part of a change).
    The agents stay those the node started with (its pools are built at start)."""
    every = tuple(slots)

    def apply(settings: CampaignSettings) -> None:
        old = every[0].dispatchers()[name].settings if every else None
        settings = settings if old is None else placed(settings, old.agents)
        for slot in every:
            slot.dispatchers()[name].use_settings(settings)
        if changed is not None and old is not None and old != settings:
            changed(old, settings)

    return apply


class _Queue(Protocol):
    def bring_forward(
        self, campaign: str, now: datetime, due_of: Callable[[QueuedOrder], datetime | None]
    ) -> int: ...


def queue_follows(
    queue: _Queue,
    name: str,
    *,
    clock: Callable[[], datetime],
    log: Callable[[str], None] = fallback_log.warning,
) -> Callable[[CampaignSettings, CampaignSettings], None]:
    """What a new window does to ``name``'s stored queue: orders waiting for the old
    window's opening are brought forward to the new one (``campaigns.preview.reopened_due``,
    as the editor's preview said). Every node following the campaign does it; a second time
    finds nothing to move."""

    def changed(old: CampaignSettings, new: CampaignSettings) -> None:
        if (old.window, old.default_tz) == (new.window, new.default_tz):
            return
        now = clock()
        try:
            moved = queue.bring_forward(name, now, lambda o: reopened_due(o, now, old, new))
        except StorageError as exc:  # the round says the database is down; orders keep times
            log(f"campaign {name!r}: queued orders not brought forward to the new window: {exc}")
            return
        if moved:
            log(f"campaign {name!r}: {moved} queued order(s) waiting for the old window's "
                "opening brought forward to the new window")  # fmt: skip

    return changed


class SettingsFollower:
    """Keeps a running campaign on the catalog's current version: before each round, one
    look at the version number; a newer one is read, validated and handed to ``apply``
    (every dispatcher of the campaign on this node). A version that does not load, or a
    database that does not answer, leaves the running settings as they are (said once)."""

    def __init__(
        self,
        catalog: CampaignCatalog,
        name: str,
        apply: Callable[[CampaignSettings], None],
        *,
        version: Callable[[str], int] | None = None,
        log: Callable[[str], None] = fallback_log.warning,
    ) -> None:
        self._catalog, self._name, self._apply, self._log = catalog, name, apply, log
        self._version = version or (lambda n: catalog.get(n).version)
        self._seen: int = 0
        self._refused: int | None = None
        self._seen = self._look()

    @property
    def version(self) -> int:
        """The catalog version this node runs (0: none known yet)."""
        return self._seen

    def follow(self) -> bool:
        """Takes a newer version if there is one; True when the settings changed."""
        current = self._look()
        if current <= self._seen or current == self._refused:
            return False
        try:
            entry = self._catalog.get(self._name)
            where = f"campaign {self._name!r} version {entry.version}"
            settings = settings_from_json(entry.settings_json, where=where)
        except (ConfigError, StorageError, UnknownCampaignError) as exc:
            self._refused = current
            self._log(f"campaign {self._name!r}: version {current} not taken, the running "
                      f"settings stay: {exc}")  # fmt: skip
            return False
        self._apply(settings)
        self._seen = entry.version
        self._log(f"campaign {self._name!r}: now running version {entry.version} "
                  f"(by {entry.updated_by})")  # fmt: skip
        return True

    def follow_then(self, run: Callable[[], T]) -> T:
        """``follow``, then ``run`` (the dispatch round): the round uses the newest settings."""
        self.follow()
        return run()

    def _look(self) -> int:
        try:
            return self._version(self._name)
        except UnknownCampaignError:
            return 0
        except StorageError:  # the database is down: the round says so; keep what runs
            return self._seen


class CampaignFollowers:
    """One ``SettingsFollower`` per campaign the node runs, each applying its versions to
    that campaign's dispatchers on every server (``to_each``) and its window changes to the
    stored queue (``queue_follows``)."""

    def __init__(
        self,
        catalog: CampaignCatalog,
        names: Iterable[str],
        slots: Iterable[_Slot],
        queue: _Queue,
        *,
        clock: Callable[[], datetime],
        version: Callable[[str], int] | None = None,
        log: Callable[[str], None] = fallback_log.warning,
    ) -> None:
        every = tuple(slots)
        self.followers = tuple(
            SettingsFollower(
                catalog,
                name,
                to_each(every, name, changed=queue_follows(queue, name, clock=clock, log=log)),
                version=version,
                log=log,
            )
            for name in names
        )

    def then(self, run: Callable[[], T]) -> T:
        """Each campaign's ``follow``, then ``run`` (the dispatch round over every
        campaign): the round uses each campaign's newest settings."""
        for follower in self.followers:
            follower.follow()
        return run()
