"""`callback-dialer tokens`: create, revoke and list the web API's bearer tokens."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from dialer.commands.db import database, storage_command
from dialer.storage.tokens import Role, SqlTokenStore


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "tokens",
        help="bearer tokens of the web API (/api/v1)",
        description="Tokens of the web API. Roles: ops (everything), crm (intake and "
        "dispositions, and reading), viewer (read only). Only a hash is stored: the secret "
        "is printed once, at creation.",
    )
    actions = parser.add_subparsers(dest="tokens_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token and print its secret once")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.set_defaults(func=run_create)
    revoke = actions.add_parser("revoke", help="revoke a token (requests with it get 401)")
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(func=run_revoke)
    listing = actions.add_parser("list", help="every token: name, role, created, revoked")
    listing.set_defaults(func=run_list)


@storage_command
def run_create(args: argparse.Namespace) -> int:
    secret = SqlTokenStore(database(args)).create(args.name, args.role, datetime.now(UTC))
    print(secret)
    print(f"token {args.name!r} ({args.role}) created; the secret above is not shown again")
    return 0


@storage_command
def run_revoke(args: argparse.Namespace) -> int:
    SqlTokenStore(database(args)).revoke(args.name, datetime.now(UTC))
    print(f"token {args.name!r} revoked")
    return 0


@storage_command
def run_list(args: argparse.Namespace) -> int:
    tokens = SqlTokenStore(database(args)).all()
    if not tokens:
        print("no tokens")
    for token in tokens:
        revoked = "" if token.revoked_at is None else token.revoked_at.isoformat(timespec="seconds")
        created = token.created_at.isoformat(timespec="seconds")
        print(
            f"{token.name}\t{token.role.value}\tcreated {created}\t"
            f"{'revoked ' + revoked if revoked else 'active'}"
        )
    return 0
