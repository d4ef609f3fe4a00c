"""Recordings (issue 19): the byte range asked for, the file only inside the recordings
directory, retention as a function of time, and the clean-up that never leaves the directory."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialer.recordings.files import (
    RecordingFiles,
    RecordingMissing,
    UnsafeRecordingName,
    file_name,
    inside,
)
from dialer.recordings.retention import check_days, cutoff, expired
from dialer.web.recordings import RangeNotSatisfiable, parse_range

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


# ---- ranges ------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, (0, 999)),
        ("bytes=0-", (0, 999)),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-199", (100, 199)),
        ("bytes=900-5000", (900, 999)),  # the end is clipped to the file
        ("bytes=-100", (900, 999)),  # the last 100 bytes
        ("bytes=-5000", (0, 999)),
        ("bytes=0-1,5-9", (0, 999)),  # several ranges: the whole file (allowed by RFC 9110)
        ("items=0-9", (0, 999)),  # another unit: ignored
        ("bytes=abc", (0, 999)),
        ("bytes=-", (0, 999)),
    ],
)
def test_a_range_header_picks_one_inclusive_byte_range(
    header: str | None, expected: tuple[int, int]
) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-2000", "bytes=500-100", "bytes=-0"])
def test_a_range_past_the_end_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, 1000)
    assert caught.value.size == 1000


# ---- names and containment ------


def test_the_file_name_of_what_asterisk_reported_is_used() -> None:
    assert file_name("/var/spool/asterisk/monitor/dialer/att-1.wav") == "att-1.wav"
    assert file_name("att-1.wav") == "att-1.wav"


@pytest.mark.parametrize(
    "reported",
    [
        "../../etc/passwd",
        "/var/spool/asterisk/monitor/dialer/../../../etc/passwd",
        "..",
        "a/..",
        "att-1.wav\x00.txt",
        "/var/spool/asterisk/monitor/dialer/",
        ".hidden",
        "запись.wav",  # not a name MixMonitor is given here
        "x" * 300,
    ],
)
def test_a_reported_path_that_is_no_plain_file_name_is_refused(reported: str) -> None:
    with pytest.raises(UnsafeRecordingName):
        file_name(reported)


def test_only_a_regular_file_directly_inside_the_directory_is_found(tmp_path: Path) -> None:
    root, outside = tmp_path / "rec", tmp_path / "secret.wav"
    root.mkdir()
    outside.write_bytes(b"secret")
    (root / "ok.wav").write_bytes(b"RIFF")
    (root / "sub").mkdir()
    (root / "leaves.wav").symlink_to(outside)
    (root / "stays.wav").symlink_to(root / "ok.wav")
    assert inside(root, "ok.wav") == (root / "ok.wav").resolve()
    assert inside(root, "stays.wav") == (root / "ok.wav").resolve()  # a link within is fine
    assert inside(root, "leaves.wav") is None  # a symbolic link out of the directory
    assert inside(root, "sub") is None
    assert inside(root, "absent.wav") is None
    assert inside(root, "../secret.wav") is None


def test_a_missing_file_says_whether_retention_deleted_it(tmp_path: Path) -> None:
    files = RecordingFiles(tmp_path, retention_days=30)
    with pytest.raises(RecordingMissing) as old:
        files.locate("/x/gone.wav", NOW - timedelta(days=31), NOW)
    assert old.value.expired and "сроку хранения" in str(old.value)
    with pytest.raises(RecordingMissing) as fresh:
        files.locate("/x/gone.wav", NOW - timedelta(days=29), NOW)
    assert not fresh.value.expired
    forever = RecordingFiles(tmp_path, retention_days=0)
    with pytest.raises(RecordingMissing) as kept:
        forever.locate("/x/gone.wav", NOW - timedelta(days=3000), NOW)
    assert not kept.value.expired


# ---- retention ------


def test_retention_0_keeps_recordings_forever() -> None:
    assert cutoff(NOW, 0) is None
    assert not expired(NOW - timedelta(days=10_000), NOW, 0)


def test_retention_n_days_expires_what_is_older_than_n_days() -> None:
    assert cutoff(NOW, 30) == NOW - timedelta(days=30)
    assert expired(NOW - timedelta(days=30, seconds=1), NOW, 30)
    assert not expired(NOW - timedelta(days=30), NOW, 30)


@pytest.mark.parametrize("days", [-1, 36_501, True])
def test_a_retention_setting_out_of_range_is_refused_naming_it(days: int) -> None:
    with pytest.raises(ValueError, match="recordings_retention_days"):
        check_days(days)


def _aged(path: Path, days: float, data: bytes = b"RIFF") -> Path:
    path.write_bytes(data)
    stamp = (NOW - timedelta(days=days)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_clean_up_deletes_old_files_inside_only_and_never_follows_links(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "rec", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (root / "2026").mkdir()
    old = _aged(root / "old.wav", 40)
    nested = _aged(root / "2026" / "old2.wav", 40)
    new = _aged(root / "new.wav", 5)
    outside = _aged(elsewhere / "outside-old.wav", 400)
    (root / "link.wav").symlink_to(outside)
    (root / "linkdir").symlink_to(elsewhere)
    files = RecordingFiles(root, retention_days=30)
    assert files.clean(NOW, dry_run=True) == sorted([old.resolve(), nested.resolve()])
    assert old.exists() and nested.exists()
    assert files.clean(NOW) == sorted([old.resolve(), nested.resolve()])
    assert not old.exists() and not nested.exists() and new.exists()
    assert outside.exists() and (root / "link.wav").is_symlink()


def test_clean_up_with_retention_0_deletes_nothing(tmp_path: Path) -> None:
    old = _aged(tmp_path / "old.wav", 4000)
    assert RecordingFiles(tmp_path, retention_days=0).clean(NOW) == []
    assert old.exists()
