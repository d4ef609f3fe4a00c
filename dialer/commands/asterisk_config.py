"""`callback-dialer asterisk-config`: writes the PBX's files shipped in the package.

The files are ``dialer/asterisk_files/`` as installed (``importlib.resources``): the dialplan
include, the AMI user (its secret a placeholder), the PJSIP examples (SIP phones, carrier,
WebRTC), the Kazakh prompts' texts and the systemd units. Without ``--out`` (or with
``--out -``) it lists what it would write. An existing file is never overwritten without
``--force``: every target is checked before the first is written, so a refusal (exit 2,
naming the file) leaves the directory as it was.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from dialer.cli import UsageError

if TYPE_CHECKING:
    from argparse import _SubParsersAction

PACKAGE = "dialer.asterisk_files"
PRIVATE = frozenset({"manager.conf"})  # gets the operator's AMI secret: not world-readable
_WHAT = {
    "README.md": "what each file is, how to point the dialer at your Asterisk",
    "extensions-dialer.conf": "the dialplan include: #include it from extensions.conf",
    "manager.conf": "the least-privilege AMI user [dialer]: set its secret (placeholder)",
    "pjsip.conf": "PJSIP example: SIP phones for agents and a carrier trunk",
    "pjsip-webrtc.conf": "PJSIP example: browser agents (WebRTC over WSS)",
    "sounds/kk.txt": "the Kazakh announcement's prompts (texts to record or synthesise)",
    "systemd/callback-dialer@.service": "systemd unit template, one node per instance",
    "systemd/callback-dialer.conf": "sysusers.d: the dedicated callback-dialer user",
}
NEXT_STEPS = """\
Next steps (README "From a wheel to your own PBX"):
  1. manager.conf: replace secret = change-me with a long random one (openssl rand -hex 24),
     copy the [dialer] section and the channelvars line into your manager.conf; manager reload.
     Give the dialer the same secret: CALLBACK_DIALER_AMI_SECRET or ami.secret_file.
  2. extensions-dialer.conf next to extensions.conf, #include it; dialplan reload.
  3. callback-dialer init --crm http|sql|retailcrm --out service.toml, then
     callback-dialer doctor --config service.toml.
"""


@dataclass(frozen=True, slots=True)
class ShippedFile:
    """One file of the package's set: its path relative to the set, and its bytes."""

    name: str
    data: bytes

    @property
    def what(self) -> str:
        return _WHAT.get(self.name, "")


def register(sub: _SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "asterisk-config",
        help="write the dialplan, AMI user, PJSIP examples and systemd units for your PBX",
        description="Writes the files your Asterisk and host need, from the installed "
        "package. Without --out (or with --out -) lists them. Never overwrites a file "
        "without --force.",
    )
    parser.add_argument("--out", metavar="DIR", default="-", help="directory to write into")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = shipped_files()
    if args.out == "-":
        return _list(files)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} exists and is not a directory")
    if not args.force:
        existing = [f.name for f in files if (out / f.name).exists()]
        if existing:
            raise UsageError(f"--out: {out / existing[0]} exists; --force overwrites it")
    try:
        written = [_write(out, f) for f in files]
    except OSError as exc:
        print(f"callback-dialer: cannot write into {out}: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(NEXT_STEPS, end="")
    return 0


def shipped_files() -> list[ShippedFile]:
    """Every data file of the set (no Python code), sorted by name."""
    found: list[ShippedFile] = []
    _walk(resources.files(PACKAGE), PurePosixPath(), found)
    return sorted(found, key=lambda f: f.name)


def _walk(node: Traversable, at: PurePosixPath, found: list[ShippedFile]) -> None:
    for child in node.iterdir():
        if child.is_dir():
            if child.name != "__pycache__":
                _walk(child, at / child.name, found)
        elif not child.name.endswith((".py", ".pyc")):
            found.append(ShippedFile(str(at / child.name), child.read_bytes()))


def _list(files: list[ShippedFile]) -> int:
    print("asterisk-config would write (give --out DIR to write them):")
    width = max(len(f.name) for f in files)
    for f in files:
        print(f"  {f.name:<{width}}  {f.what}".rstrip())
    return 0


def _write(out: Path, shipped: ShippedFile) -> Path:
    target = out / shipped.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(shipped.data)
    target.chmod(0o600 if shipped.name in PRIVATE else 0o644)
    return target
