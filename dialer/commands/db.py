"""`callback-dialer db`: migrate the schema, show its revision; the commands' database access.

Storage errors reach the user as one line: a bad URL, value or input file exits 2
(``UsageError``), any other storage failure exits 1.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

from dialer.cli import UsageError
from dialer.storage.engine import Database, make_engine
from dialer.storage.errors import (
    DatabaseUrlError,
    InvalidValueError,
    NumberingImportError,
    StorageError,
)
from dialer.storage.migrate import current_revision, head_revision, open_database, upgrade

Command = Callable[[argparse.Namespace], int]


def storage_command(command: Command) -> Command:
    """Runs ``command`` with storage errors turned into exit statuses (see module doc)."""

    @functools.wraps(command)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (DatabaseUrlError, InvalidValueError, NumberingImportError) as exc:
            raise UsageError(str(exc)) from exc
        except StorageError as exc:
            print(f"callback-dialer: error: {exc}", file=sys.stderr)
            return 1

    return guarded


def database(args: argparse.Namespace) -> Database:
    """The database named by ``--db``, migrated to the newest schema first if needed."""
    return open_database(args.db)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "db",
        help="migrate or inspect the database schema",
        description="Manage the schema of the database named by --db. The dialer also "
        "migrates automatically on first use; 'db upgrade' does it explicitly.",
    )
    actions = parser.add_subparsers(dest="db_action", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="migrate the schema to the newest revision")
    up.set_defaults(func=run_upgrade)
    current = actions.add_parser("current", help="print the schema revision (does not migrate)")
    current.set_defaults(func=run_current)


@storage_command
def run_upgrade(args: argparse.Namespace) -> int:
    engine = make_engine(args.db)
    before = current_revision(engine)
    after = upgrade(engine)
    if before == after:
        print(f"database already at revision {after} (newest)")
    else:
        print(f"database migrated from {before or 'empty'} to revision {after} (newest)")
    return 0


@storage_command
def run_current(args: argparse.Namespace) -> int:
    revision = current_revision(make_engine(args.db))
    head = head_revision()
    if revision is None:
        print(f"empty (no schema); newest is {head}")
    elif revision == head:
        print(f"{revision} (newest)")
    else:
        print(f"{revision}; newest is {head}: run 'callback-dialer db upgrade'")
    return 0
