"""`callback-dialer recordings clean`: deletes recordings past retention inside
recordings_dir only, printing each; --dry-run deletes nothing; a bad setting exits 2."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dialer.cli import main


def _setup(tmp_path: Path, days: str) -> tuple[Path, Path, Path]:
    root = tmp_path / "rec"
    root.mkdir()
    old, new = root / "old.wav", root / "new.wav"
    for path, age_days in ((old, 40), (new, 1)):
        path.write_bytes(b"RIFF")
        stamp = time.time() - age_days * 86400
        os.utime(path, (stamp, stamp))
    (tmp_path / "ami.secret").write_text("test-secret", "utf-8")
    config = tmp_path / "s.toml"
    config.write_text(f'[service]\nrecordings_dir = "rec"\nrecordings_retention_days = {days}\n'
                      '[crm]\nkind = "demo"\norders = "o.jsonl"\n[campaign]\nname = "shop"\n'
                      'agents = ["1001"]\n[ami]\nsecret_file = "ami.secret"\n',
                      "utf-8")  # fmt: skip
    return config, old, new


def test_clean_removes_old_recordings_and_prints_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, old, new = _setup(tmp_path, "30")
    assert main(["recordings", "clean", "--config", str(config), "--dry-run"]) == 0
    assert f"would remove {old.resolve()}" in capsys.readouterr().out and old.exists()
    assert main(["recordings", "clean", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"removed {old.resolve()}" in out and "new.wav" not in out
    assert not old.exists() and new.exists()


def test_retention_0_keeps_everything(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config, old, _ = _setup(tmp_path, "0")
    assert main(["recordings", "clean", "--config", str(config)]) == 0
    assert "kept forever" in capsys.readouterr().out and old.exists()


def test_a_negative_retention_exits_2_naming_the_setting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, old, _ = _setup(tmp_path, "-1")
    with pytest.raises(SystemExit) as exited:
        main(["recordings", "clean", "--config", str(config)])
    assert exited.value.code == 2
    assert "service.recordings_retention_days" in capsys.readouterr().err and old.exists()
