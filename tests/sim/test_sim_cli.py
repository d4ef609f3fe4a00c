"""`simulate --faults/--soak/--result-delay` on the command line: a bad SPEC exits 2 naming
its part; a planted bug in the core is found, printed with the seed, and exits 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from campaigns import window
from campaigns.settings import CallingWindow
from dialer.cli import main

START = "2026-03-10T05:00:00Z"


def orders_file(path: Path, n: int = 6) -> Path:
    lines = [
        {"id": f"70{i:02d}", "phone": f"+7916583{i:04d}", "tz": "Europe/Moscow",
         "created_at": f"2026-03-10T0{5 + i % 4}:{i:02d}:00Z",
         "sim": {"answer_on_attempt": None if i % 3 == 0 else 1 + i % 4}}
        for i in range(n)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(o) + "\n" for o in lines), "utf-8")
    return path


def simulate(tmp_path: Path, *extra: str) -> list[str]:
    return ["--db", f"sqlite:///{tmp_path}/sim.db", "simulate", "--orders",
            str(orders_file(tmp_path / "o.jsonl")), "--start", START, "--days", "2",
            "--agents", "2", *extra]  # fmt: skip


def plant_window_an_hour_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plant: the core's window test opens an hour early (09:00 instead of 10:00)."""
    real = window._open_in

    def an_hour_early(instant: datetime, tz: Any, calling: CallingWindow) -> bool:
        return real(instant + timedelta(hours=1), tz, calling)

    monkeypatch.setattr(window, "_open_in", an_hour_early)


def events(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("crash=2", "'crash=2'"),
        ("crash=0.9", "between 0 and 0.5"),
        ("all,lost-report=x", "'lost-report=x'"),
        ("slow-read=5 parsecs", "'slow-read=5 parsecs'"),
        ("db-outage-s=-1", "'db-outage-s=-1'"),
        ("explode=1", "'explode=1'"),
        ("lost-report", "'lost-report'"),
        (",", "empty SPEC"),
    ],
)
def test_a_bad_faults_spec_exits_2_naming_the_part(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, spec: str, named: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(simulate(tmp_path, "--faults", spec))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--faults" in err and named in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [("--soak", "soon"), ("--result-delay", "-1")])
def test_bad_soak_or_result_delay_exits_2_naming_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: tuple[str, str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(simulate(tmp_path, *argv))
    assert exited.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_a_run_with_faults_keeps_the_invariants_and_counts_its_faults(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(simulate(tmp_path, "--faults", "all,crash=0.05,db-outage=0.02",
                         "--result-delay", "30", "--seed", "3"))  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = events(out)[-1]
    assert summary["violations"] == 0
    assert summary["faults"]["crashes"] > 0 and summary["faults"]["db_outages"] > 0


def test_a_planted_window_bug_is_found_with_its_seed_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_window_an_hour_early(monkeypatch)
    code = main(simulate(tmp_path, "--seed", "11"))
    out, err = capsys.readouterr()
    assert code == 1
    found = [e for e in events(out) if e["event"] == "violation"]
    assert found and {e["rule"] for e in found} == {"window"} and {e["seed"] for e in found} == {11}
    assert events(out)[-1]["violations"] == len(found)
    assert "violation: seed 11 order 70" in err and "[window]" in err


def test_soak_prints_only_the_failing_seeds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = main(simulate(tmp_path, "--soak", "0.2s", "--seed", "5"))
    out, _ = capsys.readouterr()
    assert code == 0
    (tally,) = events(out)
    assert tally["event"] == "soak" and tally["failed"] == 0 and tally["first_seed"] == 5
    assert tally["seeds"] >= 1

    plant_window_an_hour_early(monkeypatch)
    code = main(simulate(tmp_path, "--soak", "0.2s", "--seed", "5"))
    out, err = capsys.readouterr()
    assert code == 1
    lines = events(out)
    assert lines[-1]["failed"] == lines[-1]["seeds"] >= 1
    assert all(e["event"] == "violation" for e in lines[:-1]) and lines[0]["seed"] == 5
    assert "seed 5:" in err and "--seed 5" in err


def test_a_seed_with_faults_prints_the_same_bytes_whatever_the_string_hash_seed(
    tmp_path: Path,
) -> None:
    argv = [sys.executable, "-m", "dialer", *simulate(tmp_path, "--seed", "9", "--faults",
            "all,crash=0.05", "--result-delay", "40")]  # fmt: skip
    runs = [
        subprocess.run(
            argv,
            capture_output=True,
            check=False,
            timeout=300,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        for seed in ("1", "2")
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    assert b'"crashes": 0,' not in runs[0].stdout.splitlines()[-1]
