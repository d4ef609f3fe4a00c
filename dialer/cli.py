"""The `callback-dialer` command line: global options and the sub-command table.

Each sub-command lives in ``dialer/commands/<name>.py`` and exposes
``register(subparsers) -> None``; its parser sets ``func(args) -> int``.
Bad arguments exit 2 with a message naming the problem (argparse's convention).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

DEFAULT_DB_URL = "sqlite:///callback-dialer.db"

COMMAND_MODULES: tuple[str, ...] = (
    "dialer.commands.agents",
    "dialer.commands.asterisk_config",
    "dialer.commands.campaign",
    "dialer.commands.crm",
    "dialer.commands.db",
    "dialer.commands.dnc",
    "dialer.commands.doctor",
    "dialer.commands.init_config",
    "dialer.commands.numbering",
    "dialer.commands.orders",
    "dialer.commands.outbox",
    "dialer.commands.phone_info",
    "dialer.commands.reports",
    "dialer.commands.recordings",
    "dialer.commands.run",
    "dialer.commands.simulate",
    "dialer.commands.supervisors",
    "dialer.commands.tokens",
)


class UsageError(Exception):
    """A command's argument is wrong; the message names it. Exits 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callback-dialer",
        description="Callback dialer for order-confirmation call centres on Asterisk.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        default=os.environ.get("CALLBACK_DIALER_DB", DEFAULT_DB_URL),
        help="database URL (default: $CALLBACK_DIALER_DB or %(default)s)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except UsageError as exc:
        parser.exit(2, f"callback-dialer: error: {exc}\n")
    except KeyboardInterrupt:
        return 130
    sys.stdout.flush()
    return code
