"""What a doctor check found: one ``Finding`` per check, its line, its JSON and the exit code.

Pure: no I/O. ``OK`` and ``WARN`` pass; ``FAIL`` makes the command exit 1; ``SKIP`` (asked
for with ``--skip``, or not checkable because an earlier check failed) counts as neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class Finding:
    """``check``: the check's name (as ``--skip`` takes it); ``found``: what was seen;
    ``fix``: what to do about it (empty when nothing is to be done)."""

    check: str
    status: Status
    found: str
    fix: str = ""


def ok(check: str, found: str) -> Finding:
    return Finding(check, Status.OK, found)


def warn(check: str, found: str, fix: str = "") -> Finding:
    return Finding(check, Status.WARN, found, fix)


def fail(check: str, found: str, fix: str) -> Finding:
    return Finding(check, Status.FAIL, found, fix)


def skipped(check: str, why: str) -> Finding:
    return Finding(check, Status.SKIP, why)


def line(finding: Finding) -> str:
    """``FAIL  ami-login: Asterisk refused ... — fix: ...`` on one line."""
    text = f"{finding.status.value:<4}  {finding.check}: {finding.found}"
    return f"{text} — fix: {finding.fix}" if finding.fix else text


def as_json(finding: Finding) -> dict[str, str]:
    return {key: str(value) for key, value in asdict(finding).items()}


def exit_code(findings: Sequence[Finding]) -> int:
    """0 when nothing failed (warnings allowed), 1 when any check failed."""
    return 1 if any(f.status is Status.FAIL for f in findings) else 0
