"""`callback-dialer campaign create|update|export|import|history|rollback|archive`: campaign
settings in the database (the catalog), their versions, and TOML in and out.

Every value goes through the campaign file's loader (``campaign_from_mapping``), so an error
names the field exactly as for the file and exits 2 with nothing written. The author of a
version is ``cli:<login user>``. ``--set KEY=VALUE`` takes a dotted key (``window.start``)
and a TOML value (``25``, ``true``, ``["1001", "1002"]``); a value that is not TOML is
taken as text (``--set window.start=09:00``, ``--set language=kk``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from campaigns.settings import CampaignSettings
from dialer.app.campaign_source import changed_fields, settings_from_json, settings_json
from dialer.app.operations import settings_mapping
from dialer.catalog.ports import CampaignEntry, CampaignState, CatalogError, UnknownCampaignError
from dialer.cli import UsageError
from dialer.commands.db import database, storage_command
from dialer.config.campaign import ConfigError, campaign_from_mapping
from dialer.config.campaign_toml import campaign_toml
from dialer.storage.catalog import SqlCampaignCatalog

T = TypeVar("T")
SET_HELP = "KEY=VALUE: a dotted setting (window.start=09:00), the value as in TOML; repeatable"


def register_actions(actions: Any) -> None:
    """The catalog's actions, beside list/show/pause/resume (``dialer.commands.campaign``)."""
    create = actions.add_parser(
        "create",
        help="a new campaign (version 1) from a TOML file "
        "and/or --set values; the rest take their defaults",
    )
    _name_sets_note(create, from_help="start from this file's [campaign] table")
    create.set_defaults(func=run_create)
    update = actions.add_parser(
        "update",
        help="a new version: --set values over the current settings (or over --from FILE's)",
    )
    _name_sets_note(
        update, from_help="start from this file's [campaign] instead of the current settings"
    )
    update.set_defaults(func=run_update)
    export = actions.add_parser("export", help="the current settings as a campaign TOML")
    export.add_argument("name", metavar="NAME")
    export.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    export.set_defaults(func=run_export)
    imported = actions.add_parser(
        "import",
        help="a TOML file's [campaign] (or every [campaigns.NAME]): creates each campaign or "
        "saves a new version of it",
    )
    imported.add_argument("file", type=Path, metavar="FILE.toml")
    imported.add_argument(
        "--name",
        help="[campaign]: import under this name (default: the file's); "
        "[campaigns.NAME] tables: import only this one",
    )
    imported.add_argument("--note", help="why (kept in the history)")
    imported.set_defaults(func=run_import)
    history = actions.add_parser("history", help="every version: when, who, why, what changed")
    history.add_argument("name", metavar="NAME")
    history.add_argument("--json", action="store_true", help="one JSON object per line")
    history.set_defaults(func=run_history)
    rollback = actions.add_parser("rollback", help="a new version with an old version's settings")
    rollback.add_argument("name", metavar="NAME")
    rollback.add_argument("version", type=int, metavar="VERSION")
    rollback.set_defaults(func=run_rollback)
    archive = actions.add_parser("archive", help="hide a campaign from lists (history kept)")
    archive.add_argument("name", metavar="NAME")
    archive.add_argument("--restore", action="store_true", help="make it active again")
    archive.set_defaults(func=run_archive)


def _name_sets_note(parser: argparse.ArgumentParser, *, from_help: str) -> None:
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--from", dest="source", type=Path, metavar="FILE.toml", help=from_help)
    parser.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help=SET_HELP
    )
    parser.add_argument("--note", help="why (kept in the history)")


def author() -> str:
    """``cli:<login user>``: who saved a version from the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in the environment or passwd
        return f"cli:uid-{os.getuid()}"


@storage_command
def run_create(args: argparse.Namespace) -> int:
    if args.source is None and not args.sets:
        raise UsageError("create: give --from FILE.toml and/or --set KEY=VALUE")
    table = file_table(args.source)[0] if args.source else {}
    settings = validated(with_sets({**table, "name": args.name}, args.sets), args.name)
    catalog = SqlCampaignCatalog(database(args))
    entry = _catalog_call(
        lambda: catalog.create(
            args.name,
            settings_json(settings),
            author=author(),
            now=datetime.now(UTC),
            note=args.note or "created from the command line",
        )
    )
    print(f"campaign {entry.name}: created, version {entry.version}")
    return 0


@storage_command
def run_update(args: argparse.Namespace) -> int:
    if args.source is None and not args.sets:
        raise UsageError("update: give --set KEY=VALUE and/or --from FILE.toml")
    catalog = SqlCampaignCatalog(database(args))
    entry = _get(catalog, args.name)
    if args.source is not None:
        base = {**file_table(args.source, args.name)[0], "name": args.name}
    else:
        base = json.loads(entry.settings_json)
    settings = validated(with_sets(base, args.sets), args.name)
    saved = _catalog_call(
        lambda: catalog.update(
            args.name,
            settings_json(settings),
            author=author(),
            now=datetime.now(UTC),
            expected_version=entry.version,
            note=args.note,
        )
    )
    _said_saved(saved, entry)
    return 0


@storage_command
def run_import(args: argparse.Namespace) -> int:
    tables, kind = file_tables(args.file, args.name)
    chosen = [
        validated(table, name, where=f"{args.file}: {where}", crm_kind=kind)
        for where, name, table in tables
    ]  # every table checked before any is saved
    catalog, now, who = SqlCampaignCatalog(database(args)), datetime.now(UTC), author()
    for settings in chosen:
        _import_one(catalog, settings, args, who=who, now=now)
    return 0


def _import_one(
    catalog: SqlCampaignCatalog,
    settings: CampaignSettings,
    args: argparse.Namespace,
    *,
    who: str,
    now: datetime,
) -> None:
    note, text = args.note or f"imported from {args.file}", settings_json(settings)
    try:
        entry = catalog.get(settings.name)
    except UnknownCampaignError:
        made = _catalog_call(
            lambda: catalog.create(settings.name, text, author=who, now=now, note=note)
        )
        print(f"campaign {made.name}: created from {args.file}, version {made.version}")
        return
    saved = _catalog_call(
        lambda: catalog.update(
            settings.name, text, author=who, now=now, expected_version=entry.version, note=note
        )
    )
    _said_saved(saved, entry)


@storage_command
def run_export(args: argparse.Namespace) -> int:
    entry = _get(SqlCampaignCatalog(database(args)), args.name)
    settings = settings_from_json(entry.settings_json, where=f"campaign {entry.name!r}")
    when = entry.updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = campaign_toml(
        settings_mapping(settings),
        header=[
            f"campaign {entry.name}, version {entry.version} ({entry.updated_by}, {when}),",
            "exported by 'callback-dialer campaign export'; 'campaign import' reads it back",
        ],
    )
    if args.out is None:
        print(text, end="")
        return 0
    written = args.out.with_name(args.out.name + ".tmp")
    try:
        written.write_text(text, encoding="utf-8")
        written.replace(args.out)
    except OSError as exc:
        raise UsageError(f"--out: cannot write {args.out}: {exc}") from exc
    print(f"campaign {entry.name}: version {entry.version} written to {args.out}")
    return 0


@storage_command
def run_history(args: argparse.Namespace) -> int:
    catalog = SqlCampaignCatalog(database(args))
    versions = _catalog_call(lambda: catalog.history(args.name))
    for version, older in zip(versions, [*versions[1:], None], strict=True):
        changed = (
            None
            if older is None
            else changed_fields(json.loads(older.settings_json), json.loads(version.settings_json))
        )
        at = version.created_at.astimezone(UTC)
        if args.json:
            print(
                json.dumps(
                    {
                        "version": version.version,
                        "at": at.isoformat(timespec="seconds"),
                        "author": version.author,
                        "note": version.note,
                        "changed": changed,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        what = (
            "first version"
            if changed is None
            else ("changed: " + ", ".join(changed) if changed else "no change")
        )
        note = f"\t{version.note}" if version.note else ""
        print(f"v{version.version}\t{at:%Y-%m-%d %H:%M:%S} UTC\t{version.author}\t{what}{note}")
    return 0


@storage_command
def run_rollback(args: argparse.Namespace) -> int:
    catalog = SqlCampaignCatalog(database(args))
    old = next(
        (v for v in _catalog_call(lambda: catalog.history(args.name)) if v.version == args.version),
        None,
    )
    if old is not None:  # a version that no longer loads is refused before anything is written
        validated(
            json.loads(old.settings_json),
            args.name,
            where=f"campaign {args.name!r} version {args.version}",
        )
    entry = _catalog_call(
        lambda: catalog.rollback(args.name, args.version, author=author(), now=datetime.now(UTC))
    )
    print(f"campaign {entry.name}: version {entry.version} = version {args.version}'s settings")
    return 0


@storage_command
def run_archive(args: argparse.Namespace) -> int:
    catalog = SqlCampaignCatalog(database(args))
    state: CampaignState = "active" if args.restore else "archived"
    entry = _catalog_call(
        lambda: catalog.set_state(args.name, state, author=author(), now=datetime.now(UTC))
    )
    print(f"campaign {entry.name}: {entry.state}")
    return 0


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc


def file_tables(
    path: Path, name: str | None = None
) -> tuple[list[tuple[str, str, dict[str, Any]]], object]:
    """The campaign tables of ``path`` as (where, name, table), and its ``[crm] kind`` (for
    the defaults). A ``[campaign]`` table is one campaign (``name`` renames it); a file of
    ``[campaigns.NAME]`` tables gives every one, or only ``name``'s when given."""
    data = _read_toml(path)
    crm = data.get("crm")
    kind = crm.get("kind") if isinstance(crm, dict) else None
    several = data.get("campaigns")
    if several is None:
        table = data.get("campaign")
        if not isinstance(table, dict):
            raise UsageError(f"{path}: no [campaign] or [campaigns.NAME] table")
        chosen = name if name is not None else str(table.get("name", "default"))
        return [("campaign", chosen, {**table, "name": chosen})], kind
    if "campaign" in data:
        raise UsageError(f"{path}: campaign: a file has either [campaign] or [campaigns.NAME] "
                         "tables, not both")  # fmt: skip
    if not isinstance(several, dict) or not all(isinstance(t, dict) for t in several.values()):
        raise UsageError(f"{path}: campaigns: expected [campaigns.NAME] tables")
    if name is not None and name not in several:
        raise UsageError(f"{path}: no [campaigns.{name}] table (it has: {', '.join(several)})")
    return [
        (f"campaigns.{key}", key, {**table, "name": key})
        for key, table in several.items()
        if name is None or key == name
    ], kind


def file_table(path: Path, name: str | None = None) -> tuple[dict[str, Any], object]:
    """The one campaign table of ``path`` (``[campaign]``, or ``[campaigns.NAME]`` of
    ``name``, or the only one) and its ``[crm] kind``."""
    tables, kind = file_tables(path, name)
    if len(tables) > 1:
        names = ", ".join(n for _, n, _ in tables)
        raise UsageError(f"{path}: has several [campaigns.NAME] tables ({names}); "
                         "this command takes one: name it")  # fmt: skip
    return tables[0][2], kind


def with_sets(base: dict[str, Any], sets: list[str]) -> dict[str, Any]:
    """``base`` with each ``KEY=VALUE`` of ``--set`` applied (a copy)."""
    merged: dict[str, Any] = json.loads(json.dumps(base, default=str))
    for item in sets:
        key, sign, text = item.partition("=")
        parts = key.strip().split(".")
        if not sign or not all(parts):
            raise UsageError(f"--set {item}: expected KEY=VALUE, e.g. window.start=09:00")
        table = merged
        for i, part in enumerate(parts[:-1]):
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise UsageError(f"--set {key}: {'.'.join(parts[: i + 1])} is not a table")
        table[parts[-1]] = _toml_value(text.strip())
    return merged


def _toml_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def validated(
    table: dict[str, Any], name: str, *, where: str = "campaign", crm_kind: object = None
) -> CampaignSettings:
    """``table`` through the campaign file's loader; exit 2 naming the field."""
    try:
        settings = campaign_from_mapping(table, where=where, crm_kind=crm_kind)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    if settings.name != name:
        raise UsageError(f"{where}.name: a campaign's name cannot change ({name!r})")
    if not settings.name.strip():
        raise UsageError(f"{where}.name: a campaign needs a name")
    return settings


def _get(catalog: SqlCampaignCatalog, name: str) -> CampaignEntry:
    return _catalog_call(lambda: catalog.get(name))


def _catalog_call(call: Callable[[], T]) -> T:
    try:
        return call()
    except CatalogError as exc:
        raise UsageError(str(exc)) from exc


def _said_saved(saved: CampaignEntry, before: CampaignEntry) -> None:
    if saved.version == before.version:
        print(f"campaign {saved.name}: unchanged, version {saved.version}")
        return
    fields = changed_fields(json.loads(before.settings_json), json.loads(saved.settings_json))
    print(f"campaign {saved.name}: version {saved.version} ({', '.join(fields)})")
