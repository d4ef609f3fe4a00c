"""Recording files inside the configured recordings directory, never outside it.

Asterisk reports where MixMonitor wrote a call (``/var/spool/asterisk/monitor/dialer/
<attempt>.wav``); the dialer keeps that text on the attempt. Only its file name is used,
looked up in the service's ``recordings_dir`` (Asterisk's path may differ from the service's
view of the same directory: another host, a chroot). A name is refused unless it is a plain
file name (letters, digits, ``_ . -``; no ``..``, separator, NUL), and the resolved path must
still be a regular file directly inside the directory, so a symbolic link that leaves it is
refused too.

    RecordingError
     ├── UnsafeRecordingName    what the attempt holds is no plain file name
     └── RecordingMissing       no such file inside the directory (``expired``: past retention)
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dialer.recordings.retention import cutoff

DEFAULT_RECORDINGS_DIR = "/var/spool/asterisk/monitor/dialer"  # Debian's ASTSPOOLDIR
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")


class RecordingError(Exception):
    """A recording cannot be served; the message says why (in Russian, for the page)."""


class UnsafeRecordingName(RecordingError):
    pass


class RecordingMissing(RecordingError):
    def __init__(self, message: str, *, expired: bool) -> None:
        super().__init__(message)
        self.expired = expired


def file_name(reported: str) -> str:
    """The plain file name of the path Asterisk reported, else UnsafeRecordingName."""
    name = reported.replace("\\", "/").rsplit("/", 1)[-1]
    if "\x00" in reported or ".." in name or not SAFE_NAME.fullmatch(name):
        raise UnsafeRecordingName("имя файла записи недопустимо")
    if any(part == ".." for part in reported.replace("\\", "/").split("/")):
        raise UnsafeRecordingName("имя файла записи недопустимо")
    return name


def inside(root: Path, name: str) -> Path | None:
    """``root/name`` resolved, if it is a regular file directly inside ``root`` (resolved
    too); None otherwise (absent, a directory, or a symbolic link leading out)."""
    base = root.resolve()
    path = (base / name).resolve()
    if path.parent != base or not path.is_file():
        return None
    return path


@dataclass(frozen=True, slots=True)
class RecordingFiles:
    """The recordings directory and its retention (0 days: kept forever)."""

    root: Path
    retention_days: int = 0

    def locate(self, reported: str, recorded_at: datetime | None, now: datetime) -> Path:
        """The file of a recording Asterisk reported as ``reported`` (the call ended at
        ``recorded_at``), else an error saying whether retention deleted it."""
        path = inside(self.root, file_name(reported))
        if path is not None:
            return path
        limit = cutoff(now, self.retention_days)
        if limit is not None and recorded_at is not None and recorded_at < limit:
            raise RecordingMissing(f"запись удалена по сроку хранения "
                                   f"({self.retention_days} дн.)", expired=True)  # fmt: skip
        raise RecordingMissing("файл записи не найден", expired=False)

    def clean(self, now: datetime, *, dry_run: bool = False) -> list[Path]:
        """Deletes (``dry_run``: only lists) regular files under the directory last written
        before the retention cutoff; never follows a symbolic link, never leaves the
        directory. Nothing when retention is 0."""
        limit = cutoff(now, self.retention_days)
        if limit is None or not self.root.is_dir():
            return []
        removed = []
        for path in _files(self.root.resolve()):
            written = datetime.fromtimestamp(path.lstat().st_mtime, UTC)
            if written < limit:
                if not dry_run:
                    path.unlink(missing_ok=True)
                removed.append(path)
        return sorted(removed)


def _files(root: Path) -> list[Path]:
    """Regular files under ``root``, descending into real directories only."""
    found: list[Path] = []
    with os.scandir(root) as entries:
        for entry in entries:
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                found += _files(Path(entry.path))
            elif stat.S_ISREG(mode):
                found.append(Path(entry.path))
    return found
