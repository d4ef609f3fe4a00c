"""`callback-dialer asterisk-config` (issue 20): the package's PBX files, written or listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_run import run

from dialer.commands.asterisk_config import shipped_files

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "dialer" / "asterisk_files"
EXPECTED = {
    "README.md",
    "extensions-dialer.conf",
    "manager.conf",
    "pjsip.conf",
    "pjsip-webrtc.conf",
    "sounds/kk.txt",
    "systemd/callback-dialer@.service",
    "systemd/callback-dialer.conf",
}


def written(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


def test_the_set_is_every_data_file_of_the_package_folder() -> None:
    on_disk = {
        str(p.relative_to(SHIPPED))
        for p in SHIPPED.rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"}
    }
    assert {f.name for f in shipped_files()} == on_disk == EXPECTED


def test_without_out_it_lists_what_it_would_write_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "asterisk-config")
    assert (code, err) == (0, "")
    assert "would write" in out
    assert all(name in out for name in EXPECTED)
    assert list(tmp_path.iterdir()) == []


def test_out_dash_lists_like_no_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "asterisk-config", "--out", "-") == run(capsys, "asterisk-config")


def test_out_writes_every_file_byte_for_byte(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "pbx"  # made when missing
    code, out, err = run(capsys, "asterisk-config", "--out", str(out_dir))
    assert (code, err) == (0, "")
    assert written(out_dir) == EXPECTED
    for name in EXPECTED:
        assert (out_dir / name).read_bytes() == (SHIPPED / name).read_bytes(), name
        assert f"wrote {out_dir / name}" in out
    assert "replace secret = change-me" in out  # the next steps say how to set it


def test_the_manager_user_is_written_private_with_a_placeholder_secret(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "asterisk-config", "--out", str(tmp_path))
    manager = tmp_path / "manager.conf"
    assert manager.stat().st_mode & 0o777 == 0o600
    secrets = re.findall(r"^secret *= *(.*)$", manager.read_text(encoding="utf-8"), re.M)
    assert secrets == ["change-me"]
    assert (tmp_path / "extensions-dialer.conf").stat().st_mode & 0o777 == 0o644


def test_an_existing_file_is_refused_naming_it_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pjsip.conf").write_text("; mine\n", encoding="utf-8")
    code, out, err = run(capsys, "asterisk-config", "--out", str(tmp_path))
    assert code == 2
    assert f"--out: {tmp_path / 'pjsip.conf'} exists; --force overwrites it" in err
    assert out == ""
    assert written(tmp_path) == {"pjsip.conf"}
    assert (tmp_path / "pjsip.conf").read_text(encoding="utf-8") == "; mine\n"


def test_a_file_in_a_subfolder_is_refused_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "systemd").mkdir()
    (tmp_path / "systemd" / "callback-dialer@.service").write_text("x", encoding="utf-8")
    code, _, err = run(capsys, "asterisk-config", "--out", str(tmp_path))
    assert code == 2
    assert "systemd/callback-dialer@.service exists" in err


def test_force_overwrites(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "pjsip.conf").write_text("; mine\n", encoding="utf-8")
    code, _, err = run(capsys, "asterisk-config", "--out", str(tmp_path), "--force")
    assert (code, err) == (0, "")
    assert (tmp_path / "pjsip.conf").read_bytes() == (SHIPPED / "pjsip.conf").read_bytes()


def test_a_run_twice_is_refused_the_second_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "asterisk-config", "--out", str(tmp_path))[0] == 0
    code, _, err = run(capsys, "asterisk-config", "--out", str(tmp_path))
    assert code == 2
    assert "exists; --force overwrites it" in err


def test_out_naming_a_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("", encoding="utf-8")
    code, _, err = run(capsys, "asterisk-config", "--out", str(target))
    assert code == 2
    assert f"--out: {target} exists and is not a directory" in err


def test_an_unwritable_directory_exits_1_with_the_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("", encoding="utf-8")  # a file where a parent folder should be
    code, _, err = run(capsys, "asterisk-config", "--out", str(blocked / "pbx"))
    assert code == 1
    assert f"cannot write into {blocked / 'pbx'}" in err


def test_a_cyrillic_directory_name_is_fine(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "АТС-НФ-00123"
    assert run(capsys, "asterisk-config", "--out", str(out_dir))[0] == 0
    assert written(out_dir) == EXPECTED
