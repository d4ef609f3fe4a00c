"""`callback-dialer run --config FILE.toml`: the dialing service (see docs/service.md)."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from dialer.cli import DEFAULT_DB_URL, UsageError
from dialer.config.campaign import ConfigError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h)?")
_UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="run the dialing service",
        description="Run the dialing service until Ctrl-C or SIGTERM (or --for).",
    )
    parser.add_argument("--config", required=True, type=Path, metavar="FILE.toml")
    parser.add_argument("--for", dest="duration", metavar="DURATION",
                        help="stop by itself after this long: 120s, 2m, 1h")  # fmt: skip
    parser.add_argument("--node", help="this node's name (service.node)")
    parser.add_argument("--log-file", help="service.log_file")
    parser.add_argument("--intake-port", type=int, help="service.intake_port (0: any free)")
    parser.set_defaults(func=run)


def duration_s(text: str) -> float:
    match = _DURATION.fullmatch(text.strip())
    if match is None or float(match.group(1)) <= 0:
        raise UsageError(f"--for: expected a positive duration such as 120s or 2m, not {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run(args: argparse.Namespace) -> int:
    from dialer.app.service import run_service  # noqa: PLC0415 - installs the reactor first
    from dialer.config.service import load_service_config  # noqa: PLC0415

    overrides: dict[str, Any] = {
        name: value
        for name, value in (
            ("node", args.node),
            ("log_file", args.log_file),
            ("intake_port", args.intake_port),
        )
        if value is not None
    }
    if args.db != os.environ.get("CALLBACK_DIALER_DB", DEFAULT_DB_URL):
        overrides["db_url"] = args.db
    duration = None if args.duration is None else duration_s(args.duration)
    try:
        config = load_service_config(args.config, os.environ, overrides)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    return run_service(config, duration_s=duration)
