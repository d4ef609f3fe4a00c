"""`callback-dialer recordings clean --config FILE [--dry-run]`: delete the recordings older
than ``[service] recordings_retention_days`` from ``[service] recordings_dir`` (what the
service does nightly), printing each file removed; ``--dry-run`` only prints them."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dialer.cli import UsageError
from dialer.config.campaign import ConfigError
from dialer.recordings.files import RecordingFiles


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "recordings",
        help="call recordings: delete those past the retention setting",
        description="Recordings are kept [service] recordings_retention_days days (0: "
        "forever) in [service] recordings_dir; the service deletes older ones nightly.",
    )
    actions = parser.add_subparsers(dest="recordings_action", required=True, metavar="ACTION")
    clean = actions.add_parser(
        "clean",
        help="delete recordings older than the retention, printing each",
        description="Deletes regular files under recordings_dir last written more than "
        "recordings_retention_days days ago; never follows a symbolic link out of it.",
    )
    clean.add_argument("--config", type=Path, required=True, metavar="FILE",
                       help="the service's TOML configuration")  # fmt: skip
    clean.add_argument("--dry-run", action="store_true", help="print, delete nothing")
    clean.set_defaults(func=run_clean)


def run_clean(args: argparse.Namespace) -> int:
    from dialer.config.service import load_service_config  # noqa: PLC0415

    try:
        service = load_service_config(args.config, os.environ).service
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    files = RecordingFiles(Path(service.recordings_dir), service.recordings_retention_days)
    if files.retention_days == 0:
        print(f"recordings_retention_days is 0: recordings in {files.root} are kept forever")
        return 0
    if not files.root.is_dir():
        raise UsageError(f"service.recordings_dir: {files.root} is not a directory")
    removed = files.clean(datetime.now(UTC), dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path in removed:
        print(f"{verb} {path}")
    print(f"{len(removed)} recording(s) older than {files.retention_days} days {verb} "
          f"from {files.root}")  # fmt: skip
    return 0
