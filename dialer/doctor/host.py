"""The doctor's checks of this host and its neighbours: files, clock, time zones, the
database and the CRM. Each gathers its facts and hands them to ``verdicts`` (or, for the
file-system checks, judges what it just tried)."""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.doctor import verdicts
from dialer.doctor.findings import Finding, fail, ok, skipped
from dialer.storage.engine import DATABASE_ERRORS, make_engine
from dialer.storage.migrate import current_revision, head_revision
from dialer.storage.numbering import numbering_source

PROMPTS = (*(f"digits/{n}" for n in range(10)), "beep")
SOUND_FORMATS = ("gsm", "ulaw", "alaw", "wav", "sln", "sln16", "wav16", "g722", "g729", "ogg")
_SQL_ERRORS = DATABASE_ERRORS  # SQLAlchemy's own errors reach here unwrapped


def on_host(root: Path, asterisk_path: str) -> Path:
    """A path Asterisk reports, as this host sees it (``root``: a chroot or container's
    root directory; ``/`` when Asterisk runs here)."""
    return root / asterisk_path.lstrip("/")


def missing_prompts(sounds: Path) -> list[str] | None:
    """The Russian prompts the dialplan plays that ``sounds``/ru lacks (any format); None
    when ``sounds`` is not a directory here."""
    if not sounds.is_dir():
        return None
    ru = sounds / "ru"
    return [p for p in PROMPTS if not any((ru / f"{p}.{ext}").is_file() for ext in SOUND_FORMATS)]


def recordings(directory: Path, whose: str) -> Finding:
    """Writable means a file can be made in it here: tried, then removed."""
    fix = f"create {directory} and let the {whose} write to it (chown / chmod)"
    if not directory.is_dir():
        return fail("recordings-dir", f"{directory} ({whose}) is not a directory", fix)
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".doctor-"):
            pass
    except OSError as exc:
        return fail(
            "recordings-dir", f"{directory} ({whose}) is not writable: {exc.strerror or exc}", fix
        )
    return ok("recordings-dir", f"{directory} ({whose}) is writable")


def clock() -> Finding:
    program = shutil.which("timedatectl")
    if program is None:
        return verdicts.clock(None)
    try:
        done = subprocess.run(  # noqa: S603 - a fixed command, found on PATH
            [program, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return verdicts.clock(None)
    return verdicts.clock(done.stdout if done.returncode == 0 and done.stdout.strip() else None)


def tzdata() -> Finding:
    try:
        zone = ZoneInfo("Asia/Almaty")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        return verdicts.tzdata(None, str(exc))
    return verdicts.tzdata(datetime(2024, 6, 1, 12, tzinfo=zone).utcoffset())


def database(url: str) -> Finding:
    try:
        return verdicts.migration(current_revision(make_engine(url)), head_revision())
    except _SQL_ERRORS as exc:
        return fail(
            "database",
            f"cannot read {url.rpartition('@')[2]}: {_first_line(exc)}",
            "check the URL ([service] db_url or --db) and that the server runs",
        )


def numbering(url: str, now: datetime, max_days: int) -> Finding:
    try:
        source = numbering_source(make_engine(url))
    except _SQL_ERRORS as exc:
        return skipped("numbering-age", f"not checked: {_first_line(exc)}")
    if source is None:
        return verdicts.numbering_age(None, 0, now, max_days)
    imported = source.imported_at
    imported = imported if imported.tzinfo else imported.replace(tzinfo=UTC)
    return verdicts.numbering_age(imported, source.row_count, now, max_days)


def crm(config: Path) -> Finding:
    """``crm check`` itself (dialer/commands/crm.py), its output kept for the line."""
    from dialer.cli import UsageError  # noqa: PLC0415 - the command table imports this module
    from dialer.commands.crm import run_check  # noqa: PLC0415

    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(config=config, conformance=False, order=None, suggest=False)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_check(args)
    except UsageError as exc:
        return fail("crm", f"configuration: {exc}", "correct [crm] (callback-dialer crm check)")
    if code != 0:
        said = _first_line(err.getvalue() or out.getvalue()).removeprefix("callback-dialer: ")
        return fail(
            "crm",
            said or f"crm check exited {code}",
            "see 'callback-dialer crm check --config FILE'",
        )
    return ok("crm", _first_line(out.getvalue()))


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else ""
