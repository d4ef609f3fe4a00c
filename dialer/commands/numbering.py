"""`callback-dialer numbering`: import the Russian numbering plan, look a number up in it.

A malformed input file exits 2 with the line number and the problem, like any other bad
argument; the table is then left exactly as it was.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from dialer.cli import UsageError
from dialer.commands.db import database, storage_command
from dialer.storage.numbering import SqlNumberingLookup, import_numbering_file, numbering_source

_SEPARATORS = re.compile(r"[\s()\-.]")


def number_argument(text: str) -> str:
    """A phone number typed by a person, as E.164: ``+7 916 123-45-67``, ``89161234567``.

    Eleven digits starting with 7 or 8, or ten digits, are read as Russian (+7).
    """
    digits = _SEPARATORS.sub("", text)
    if digits.startswith("+") and digits[1:].isdigit() and 7 <= len(digits) - 1 <= 15:  # noqa: PLR2004
        return digits
    if digits.isascii() and digits.isdigit():
        if len(digits) == 11 and digits[0] in "78":  # noqa: PLR2004
            return "+7" + digits[1:]
        if len(digits) == 10:  # noqa: PLR2004
            return "+7" + digits
    raise UsageError(f"not a phone number: {text!r} (expected e.g. +79161234567 or 89161234567)")


class TextProgress:
    """Draws ``numbering import: 120000/500000 lines (24%)`` on one terminal line."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // total if total else 100
        self._stream.write(f"\rnumbering import: {done}/{total} lines ({percent}%)")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "numbering",
        help="import or query the Russian numbering plan (DEF/ABC ranges)",
        description="The numbering plan maps a +7 number to the region of its range.",
    )
    actions = parser.add_subparsers(dest="numbering_action", required=True, metavar="ACTION")
    imp = actions.add_parser(
        "import",
        help="replace the table by the regulator's CSV extract",
        description="Replace the numbering table by FILE, a semicolon-separated extract "
        "(UTF-8 or Windows-1251) with the columns 'АВС/ DEF', 'От', 'До', 'Регион' and "
        "optionally 'Емкость', 'Оператор'; other columns are ignored. All or nothing: a "
        "malformed line exits 2 naming the line, and the previous table stays.",
    )
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    imp.add_argument(
        "--progress",
        action="store_true",
        help="draw a progress line on stderr even when it is not a terminal",
    )
    imp.set_defaults(func=run_import)
    look = actions.add_parser(
        "lookup",
        help="print the range holding NUMBER as JSON (exit 1 when not found)",
    )
    look.add_argument("number", metavar="NUMBER")
    look.set_defaults(func=run_lookup)
    status = actions.add_parser("status", help="print where the current table came from")
    status.set_defaults(func=run_status)


@storage_command
def run_import(args: argparse.Namespace) -> int:
    engine = database(args)
    progress = TextProgress(sys.stderr) if args.progress or sys.stderr.isatty() else None
    try:
        count, encoding = import_numbering_file(
            engine, args.file, now=datetime.now(UTC), progress=progress
        )
    finally:
        if progress is not None:
            progress.close()
    print(f"imported {count} ranges from {args.file} ({encoding})")
    return 0


@storage_command
def run_lookup(args: argparse.Namespace) -> int:
    number = number_argument(args.number)
    record = SqlNumberingLookup(database(args)).record_of(number)
    found: dict[str, object] = {"number": number, "region": None}
    if record is not None:
        found |= {
            "region": record.region,
            "operator": record.operator,
            "prefix": f"{record.prefix:03d}",
            "range_from": f"{record.range_from:07d}",
            "range_to": f"{record.range_to:07d}",
        }
    print(json.dumps(found, ensure_ascii=False))
    return 0 if record is not None else 1


@storage_command
def run_status(args: argparse.Namespace) -> int:
    source = numbering_source(database(args))
    if source is None:
        print("no numbering table imported yet: run 'callback-dialer numbering import FILE.csv'")
        return 1
    print(
        f"{source.row_count} ranges from {source.source}, "
        f"imported {source.imported_at.isoformat(timespec='seconds')}"
    )
    return 0
