"""`callback-dialer crm telephony register`: register the dialer as the RetailCRM shop's
telephony (``integration-modules/{code}/edit``, issue 17 §2) and print what was sent.

Run it once after setting ``[crm.telephony]`` up, and again whenever agents, their
RetailCRM users or extension codes, or the dialer's public URL change: the edit replaces
the module's settings. The client id and other secrets are never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crm_adapter.config import load_crm_config
from crm_adapter.errors import CrmConfigError, CrmError
from crm_adapter.retailcrm_telephony import (
    TELEPHONY_RATE_PER_S,
    RetailCrmTelephonyClient,
    RetailCrmTelephonySettings,
    SharedBucket,
    parse_telephony,
)
from dialer.cli import UsageError
from dialer.commands.db import database, storage_command
from dialer.storage.telephony_queue import replay_uploads, unsent_rows


def add_actions(actions: Any) -> None:
    """Adds ``telephony register`` under ``crm``."""
    telephony = actions.add_parser("telephony", help="RetailCRM's telephony module")
    sub = telephony.add_subparsers(dest="telephony_action", required=True, metavar="ACTION")
    reg = sub.add_parser("register", help="register the dialer as the shop's telephony")
    reg.add_argument("--config", required=True, type=Path, metavar="FILE.toml")
    reg.set_defaults(func=run_register)
    queue = sub.add_parser("queue", help="call events and uploads not sent to RetailCRM yet")
    queue.set_defaults(func=run_queue)
    again = sub.add_parser("replay", help="send dead call uploads again")
    again.add_argument(
        "ids", nargs="*", type=int, metavar="ID", help="row ids (crm telephony queue)"
    )
    again.add_argument("--all", action="store_true", help="every dead upload")
    again.set_defaults(func=run_replay)


def load(path: Path) -> tuple[str, str, RetailCrmTelephonySettings]:
    """The RetailCRM URL, API key and ``[crm.telephony]`` of ``path``; UsageError naming
    the key when they are missing or wrong."""
    try:
        crm = load_crm_config(path, os.environ)
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        settings = parse_telephony(data["crm"].get("telephony"), os.environ, base=path.parent)
    except CrmConfigError as exc:
        raise UsageError(str(exc)) from exc
    if crm.retailcrm is None:
        raise UsageError(f"crm.kind: the telephony module is RetailCRM's; kind is {crm.kind!r}")
    if settings is None:
        raise UsageError("crm.telephony: missing or enabled = false; nothing to register")
    return crm.retailcrm.url, crm.retailcrm.api_key, settings


def run_register(args: argparse.Namespace) -> int:
    url, key, settings = load(args.config)
    bucket = SharedBucket(TELEPHONY_RATE_PER_S, clock=time.monotonic, sleep=time.sleep)
    client = RetailCrmTelephonyClient(url, key, bucket=bucket)
    try:
        body = client.register(settings)
    except CrmError as exc:
        print(f"callback-dialer: error: RetailCRM: {exc}", file=sys.stderr)
        return 1
    tel = body["integrations"]["telephony"]
    print(f"registered telephony module {body['code']!r} ({body['name']}) at {url}")
    print(f"  makeCallUrl:         {tel['makeCallUrl']}")
    print(f"  changeUserStatusUrl: {tel['changeUserStatusUrl']}")
    print("  events: outgoing and hangup; incoming calls: not handled by the dialer")
    for user in settings.users:
        print(f"  agent {user.agent_id}: RetailCRM user {user.user_id}, code {user.code}")
    if settings.external_phone:
        print(f"  external phone: {settings.external_phone}")
    return 0


@storage_command
def run_queue(args: argparse.Namespace) -> int:
    """The rows of ``telephony_outbox`` not delivered: waiting (with their next try) or dead
    (with RetailCRM's reason)."""
    rows = unsent_rows(database(args))
    for row in rows:
        state = "dead" if row.dead else f"next try {row.next_try_at:%Y-%m-%d %H:%M:%S}"
        print(f"{row.id}\t{row.node}\t{row.kind}\t{row.attempt_id}\ttries {row.tries}\t"
              f"{state}\t{row.last_error or ''}")  # fmt: skip
    if not rows:
        print("nothing waiting for RetailCRM")
    return 0


@storage_command
def run_replay(args: argparse.Namespace) -> int:
    if bool(args.ids) == bool(args.all):
        raise UsageError("crm telephony replay: give row ids or --all (not both)")
    done = replay_uploads(database(args), datetime.now(UTC), None if args.all else args.ids)
    for row_id in done:
        print(f"{row_id} replayed")
    missing = sorted(set(args.ids) - set(done))
    for row_id in missing:
        print(f"{row_id} is not a dead upload (events are never replayed)")
    if args.all and not done:
        print("no dead uploads")
    return 1 if missing else 0
