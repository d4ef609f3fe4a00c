"""`callback-dialer outbox`: list dead outcome deliveries and replay them."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from dialer.cli import UsageError
from dialer.commands.db import database, storage_command
from dialer.delivery.ports import DeadDelivery
from dialer.storage.outbox import dead_deliveries, replay


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "outbox",
        help="outcomes the CRM never acknowledged",
        description="An outcome the CRM could not take for 3 days (expired) or that no retry "
        "can deliver (permanent) is dead; it holds back the later outcomes of its order until "
        "it is replayed.",
    )
    actions = parser.add_subparsers(dest="outbox_action", required=True, metavar="ACTION")
    dead = actions.add_parser("dead", help="list dead deliveries, oldest first")
    dead.add_argument("--json", action="store_true", help="one JSON object per line")
    dead.set_defaults(func=run_dead)
    again = actions.add_parser("replay", help="make dead deliveries due again now")
    again.add_argument("ids", nargs="*", type=int, metavar="ID", help="outbox row ids")
    again.add_argument("--all", action="store_true", help="every dead delivery")
    again.set_defaults(func=run_replay)


@storage_command
def run_dead(args: argparse.Namespace) -> int:
    rows = dead_deliveries(database(args))
    for row in rows:
        print(json.dumps(_as_json(row), ensure_ascii=False) if args.json else _line(row))
    if not rows and not args.json:
        print("no dead deliveries")
    return 0


@storage_command
def run_replay(args: argparse.Namespace) -> int:
    if bool(args.ids) == bool(args.all):
        raise UsageError("outbox replay: give outbox row ids or --all (not both)")
    ids = None if args.all else list(args.ids)
    done = replay(database(args), datetime.now(UTC), ids)
    missing = sorted(set(args.ids) - set(done))
    for row_id in done:
        print(f"{row_id} replayed")
    for row_id in missing:
        print(f"{row_id} is not a dead delivery")
    if args.all and not done:
        print("no dead deliveries")
    return 1 if missing else 0


def _line(row: DeadDelivery) -> str:
    held = f", holds back {row.held_back}" if row.held_back else ""
    return (
        f"{row.id}\torder {row.order_id}\tkey {row.idempotency_key}\t{row.tries} tries since "
        f"{row.created_at.isoformat(timespec='seconds')}{held}\t{row.last_error or ''}"
    )


def _as_json(row: DeadDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "order_id": row.order_id,
        "idempotency_key": row.idempotency_key,
        "tries": row.tries,
        "created_at": row.created_at.isoformat(),
        "last_error": row.last_error,
        "held_back": row.held_back,
        "payload": json.loads(row.payload_json),
    }
