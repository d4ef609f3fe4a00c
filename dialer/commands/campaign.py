"""`callback-dialer campaign`: list, show, pause and resume campaigns (the campaigns table);
create, update, export, import, history, rollback and archive (``campaign_versions``).

A running service reads the pause at every dispatch round, exactly as after
``POST /api/v1/campaign/pause``, and takes a new settings version at its next round too:
the campaign's settings live in the database (docs/campaigns.md).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from dialer.cli import UsageError
from dialer.commands.campaign_versions import register_actions
from dialer.commands.db import database, storage_command
from dialer.storage.campaigns import CampaignRecord, SqlCampaignStore


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "campaign",
        help="campaigns in the database: list, show, create, update, export/import TOML, "
        "history, rollback, pause, resume, archive",
        description="Campaigns and their settings live in the database, each change a "
        "version (who, when, why). A running service follows a pause, a resume or a new "
        "version at its next dispatch round; calls in progress finish. See "
        "docs/campaigns.md.",
    )
    actions = parser.add_subparsers(dest="campaign_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every campaign: state, version")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.add_argument("--all", action="store_true", help="archived campaigns too")
    listing.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one campaign with its stored settings")
    show.add_argument("name", metavar="NAME", nargs="?", help="default: the only campaign")
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(func=run_show)
    pause = actions.add_parser("pause", help="stop originating new calls (with a reason)")
    pause.add_argument("name", metavar="NAME", nargs="?", help="default: the only campaign")
    pause.add_argument("--reason", required=True, help="why (shown to ops)")
    pause.add_argument("--json", action="store_true", help="print the campaign as JSON")
    pause.set_defaults(func=run_pause)
    resume = actions.add_parser("resume", help="dial again")
    resume.add_argument("name", metavar="NAME", nargs="?", help="default: the only campaign")
    resume.add_argument("--json", action="store_true", help="print the campaign as JSON")
    resume.set_defaults(func=run_resume)
    register_actions(actions)


def as_json(record: CampaignRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "paused": record.paused,
        "paused_reason": record.paused_reason,
        "state": record.state,
        "version": record.version,
        "updated_at": record.updated_at.isoformat(timespec="seconds"),
        "updated_by": record.updated_by,
        "stored_settings": json.loads(record.settings_json or "{}"),
    }


def _state(record: CampaignRecord) -> str:
    if record.state == "archived":
        return "archived"
    return f"paused ({record.paused_reason or 'no reason'})" if record.paused else "dialling"


def _pick(store: SqlCampaignStore, name: str | None) -> CampaignRecord:
    records = store.all()
    names = ", ".join(r.name for r in records) or "none yet (a service creates its campaign)"
    if name is None:
        if len(records) != 1:
            raise UsageError(f"name the campaign; campaigns: {names}")
        return records[0]
    found = next((r for r in records if r.name == name), None)
    if found is None:
        raise UsageError(f"no campaign named {name!r}; campaigns: {names}")
    return found


@storage_command
def run_list(args: argparse.Namespace) -> int:
    records = [r for r in SqlCampaignStore(database(args)).all()
               if args.all or r.state != "archived"]  # fmt: skip
    if args.json:
        for record in records:
            print(json.dumps(as_json(record), ensure_ascii=False))
        return 0
    if not records:
        print("no campaigns (a service creates its campaign when it starts)")
    for record in records:
        updated = record.updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        version = f"version {record.version}" if record.version else "no settings yet"
        print(f"{record.name}\t{_state(record)}\t{version}\tupdated {updated}")
    return 0


def _print(record: CampaignRecord, as_json_output: bool) -> None:
    if as_json_output:
        print(json.dumps(as_json(record), ensure_ascii=False, sort_keys=True))
        return
    updated = record.updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    by = f" by {record.updated_by}" if record.updated_by else ""
    print(f"campaign {record.name}: {_state(record)}, version {record.version}, "
          f"updated {updated}{by}")  # fmt: skip


@storage_command
def run_show(args: argparse.Namespace) -> int:
    record = _pick(SqlCampaignStore(database(args)), args.name)
    _print(record, args.json)
    if not args.json:
        stored = json.loads(record.settings_json or "{}")
        if stored:
            print(f"settings, version {record.version} (the database's: a running service "
                  "uses them; 'campaign export' writes them as TOML):")  # fmt: skip
            print(json.dumps(stored, ensure_ascii=False, indent=2, sort_keys=True))
        else:
            print("stored settings: none yet (the service imports its campaign file at its "
                  "first start; or 'campaign import FILE')")  # fmt: skip
    return 0


@storage_command
def run_pause(args: argparse.Namespace) -> int:
    if not args.reason.strip():
        raise UsageError("--reason: a pause needs a reason")
    store = SqlCampaignStore(database(args))
    name = _pick(store, args.name).name
    _print(store.set_paused(name, datetime.now(UTC), args.reason.strip()), args.json)
    return 0


@storage_command
def run_resume(args: argparse.Namespace) -> int:
    store = SqlCampaignStore(database(args))
    name = _pick(store, args.name).name
    _print(store.set_paused(name, datetime.now(UTC), None), args.json)
    return 0
