"""`callback-dialer init`: writes a commented starter service config for one CRM kind.

The starter is put together from the package's ``dialer/config/starters/`` pieces (the
service and campaign, the ``[crm]`` of the kind, the AMI link). It names its secrets only as
``<name>_env`` references, listed in its header; it loads with the service's own loader once
those variables are set. Without ``--out`` (or with ``--out -``) it is printed; an existing
file is never overwritten without ``--force`` (exit 2 naming it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm_adapter.config import KINDS
from dialer.cli import UsageError

if TYPE_CHECKING:
    from argparse import _SubParsersAction

STARTERS = ("dialer.config", "starters")  # package data: dialer/config/starters/*.toml


def register(sub: _SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "init",
        help="write a commented starter service config for a CRM kind",
        description="Writes a starter config for `run --config`: secrets only as *_env "
        "references. Without --out (or with --out -) prints it. Never overwrites a file "
        "without --force.",
    )
    parser.add_argument("--crm", required=True, choices=KINDS, help="the CRM's kind")
    parser.add_argument("--out", metavar="FILE", default="-", help="file to write")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = starter(args.crm)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out: {out} is a directory; give a file name")
    if out.exists() and not args.force:
        raise UsageError(f"--out: {out} exists; --force overwrites it")
    try:
        _write(out, text)
    except OSError as exc:
        print(f"callback-dialer: cannot write {out}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    print("set before `run`: " + ", ".join(secret_variables(text)))
    print(f"then: callback-dialer doctor --config {out}")
    return 0


def starter(kind: str) -> str:
    """The starter config for ``kind`` (one of crm_adapter.config.KINDS), as TOML text."""
    if kind not in KINDS:
        raise UsageError(f"--crm: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    pieces = ("service.toml", f"crm-{kind}.toml", "ami.toml")
    text = "".join(_piece(name) for name in pieces)
    names = "\n#   ".join(secret_variables(text))
    return text.replace("@KIND@", kind).replace("@SECRETS@", names)


def secret_variables(text: str) -> list[str]:
    """The environment variables a config names with ``*_env`` keys, in the file's order."""
    found: list[str] = []
    _collect(tomllib.loads(text), found)
    return found


def _collect(table: Mapping[str, Any], found: list[str]) -> None:
    for key, value in table.items():
        if isinstance(value, dict):
            _collect(value, found)
        elif key.endswith("_env") and isinstance(value, str) and value not in found:
            found.append(value)


def _piece(name: str) -> str:
    package, folder = STARTERS
    return resources.files(package).joinpath(folder, name).read_text(encoding="utf-8")


def _write(out: Path, text: str) -> None:
    """Mode 0640 from the start: the file names where the secrets are."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
