"""`callback-dialer dnc`: the do-not-call list (add, remove, check, list)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from dialer.commands.db import database, storage_command
from dialer.commands.numbering import number_argument
from dialer.storage.dnc import DoNotCallList


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "dnc",
        help="manage the do-not-call list",
        description="Numbers on the do-not-call list are never dialled.",
    )
    actions = parser.add_subparsers(dest="dnc_action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="list NUMBER (no change when already listed)")
    add.add_argument("number", metavar="NUMBER")
    add.add_argument("--reason", default="", help="why (kept with the entry)")
    add.set_defaults(func=run_add)
    remove = actions.add_parser("remove", help="unlist NUMBER (exit 1 when not listed)")
    remove.add_argument("number", metavar="NUMBER")
    remove.set_defaults(func=run_remove)
    check = actions.add_parser("check", help="exit 0 when NUMBER is listed, 1 when not")
    check.add_argument("number", metavar="NUMBER")
    check.set_defaults(func=run_check)
    listing = actions.add_parser("list", help="print every listed number")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=run_list)


@storage_command
def run_add(args: argparse.Namespace) -> int:
    number = number_argument(args.number)
    added = DoNotCallList(database(args)).add(number, now=datetime.now(UTC), reason=args.reason)
    print(f"{number} added" if added else f"{number} was already listed")
    return 0


@storage_command
def run_remove(args: argparse.Namespace) -> int:
    number = number_argument(args.number)
    removed = DoNotCallList(database(args)).remove(number)
    print(f"{number} removed" if removed else f"{number} was not listed")
    return 0 if removed else 1


@storage_command
def run_check(args: argparse.Namespace) -> int:
    number = number_argument(args.number)
    listed = DoNotCallList(database(args)).contains(number)
    print(f"{number} is listed" if listed else f"{number} is not listed")
    return 0 if listed else 1


@storage_command
def run_list(args: argparse.Namespace) -> int:
    for entry in DoNotCallList(database(args)).entries():
        added = entry.added_at.isoformat(timespec="seconds")
        if args.json:
            row = {"number": entry.e164, "reason": entry.reason, "added_at": added}
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"{entry.e164}\t{added}\t{entry.reason}")
    return 0
