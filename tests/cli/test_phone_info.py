"""`callback-dialer phone-info`: one JSON object per number (business-rules §3 and §4)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_run import run

from campaigns.timezones import InMemoryNumbering
from dialer.commands.phone_info import parse_request

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "tests" / "data" / "numbering_sample.csv"
KEYS = [
    "input",
    "e164",
    "valid",
    "invalid_reason",
    "suspicious",
    "country",
    "region",
    "timezones",
    "tz_source",
    "window_open",
    "next_window_open",
]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dialer.db'}"


def info(capsys: pytest.CaptureFixture[str], db: str, *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "--db", db, "phone-info", *argv)
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    found: dict[str, Any] = json.loads(out)
    assert list(found) == KEYS
    return found


def test_rule_4_a_valid_number_with_its_region_reports_zone_and_window(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    found = info(
        capsys, db, "8 (916) 123-45-68", "--region", "Самарская обл", "--at", "2024-06-03T05:59:59Z"
    )
    assert found == {
        "input": "8 (916) 123-45-68",
        "e164": "+79161234568",
        "valid": True,
        "invalid_reason": None,
        "suspicious": None,
        "country": "RU",
        "region": "Самарская область",
        "timezones": ["Europe/Samara"],
        "tz_source": "address",
        "window_open": False,
        "next_window_open": "2024-06-03T06:00:00Z",
    }


def test_rule_4_next_window_open_equals_at_when_the_window_is_open(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    found = info(capsys, db, "+79161234568", "--at", "2024-06-03T10:00:00+03:00")
    assert (found["window_open"], found["next_window_open"]) == (True, "2024-06-03T07:00:00Z")
    assert (found["timezones"], found["tz_source"]) == (["Europe/Moscow"], "default")


def test_rule_3_an_invalid_number_exits_0_with_the_reason_and_no_window(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    found = info(capsys, db, "700000000000", "--at", "2024-06-03T08:00:00Z")
    assert found == {
        "input": "700000000000",
        "e164": None,
        "valid": False,
        "invalid_reason": "wrong_length",
        "suspicious": None,
        "country": None,
        "region": None,
        "timezones": ["Europe/Moscow"],
        "tz_source": "default",
        "window_open": None,
        "next_window_open": None,
    }


@pytest.mark.parametrize(
    ("number", "reason"),
    [("+79999999999", "fake"), ("+7 000 123 45 68", "impossible"), ("звоните", "not_a_number")],
)
def test_rule_3_every_invalid_kind_exits_0(
    capsys: pytest.CaptureFixture[str], db: str, number: str, reason: str
) -> None:
    assert info(capsys, db, number)["invalid_reason"] == reason


def test_rule_3_a_made_up_looking_number_is_valid_and_marked_suspicious(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    found = info(capsys, db, "+7 916 123-45-67")
    assert (found["valid"], found["invalid_reason"], found["e164"]) == (True, None, "+79161234567")
    assert found["suspicious"] == "subscriber part 1234567 is a straight run"


def test_rule_4_yakutia_alone_is_open_only_when_all_three_offsets_are(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    # 08:30Z: Yakutsk 17:30 and Ust-Nera 18:30 are open, Srednekolymsk 19:30 is not.
    found = info(capsys, db, "+79142712345", "--region", "Якутия", "--at", "2024-06-03T08:30Z")
    assert found["timezones"] == [
        "Asia/Yakutsk",
        "Asia/Khandyga",
        "Asia/Ust-Nera",
        "Asia/Srednekolymsk",
    ]
    assert (found["window_open"], found["next_window_open"]) == (False, "2024-06-04T01:00:00Z")
    settled = info(
        capsys,
        db,
        "+79142712345",
        "--region",
        "Якутия",
        "--city",
        "Якутск",
        "--at",
        "2024-06-03T08:30Z",
    )
    assert (settled["timezones"], settled["window_open"]) == (["Asia/Yakutsk"], True)


def test_rule_4_kazakhstan_window_differs_before_and_after_2024_03_01(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    before = info(capsys, db, "+7 701 555 12 34", "--at", "2024-02-29T04:30Z")
    after = info(capsys, db, "+7 701 555 12 34", "--at", "2024-03-02T04:30Z")
    assert before["timezones"] == after["timezones"] == ["Asia/Almaty"]
    assert before["tz_source"] == "country"
    assert (before["window_open"], after["window_open"]) == (True, False)
    assert after["next_window_open"] == "2024-03-02T05:00:00Z"


def test_rule_4_a_foreign_mobile_reports_its_countrys_zone_not_the_default(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    found = info(capsys, db, "+55 11 98765-4321", "--at", "2024-06-03T12:30:00Z")
    assert (found["country"], found["timezones"], found["tz_source"]) == (
        "BR",
        ["America/Sao_Paulo"],
        "country",
    )
    assert (found["window_open"], found["next_window_open"]) == (False, "2024-06-03T13:00:00Z")


def test_rule_4_explicit_zone_country_window_and_default_options(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    at = ("--at", "2024-06-03T20:30:00Z")
    zone = info(capsys, db, "+79161234568", "--tz", "Asia/Kamchatka", *at)
    assert (zone["timezones"], zone["tz_source"], zone["window_open"]) == (
        ["Asia/Kamchatka"],
        "order",
        False,
    )
    assert zone["next_window_open"] == "2024-06-03T22:00:00Z"
    country = info(capsys, db, "+79161234568", "--country", "kz", *at, "--window", "08:00-23:00")
    assert (country["timezones"], country["window_open"]) == (["Asia/Almaty"], False)
    default = info(capsys, db, "+79161234568", "--default-tz", "America/New_York", *at)
    assert (default["timezones"], default["window_open"]) == (["America/New_York"], True)


def test_rule_4_the_numbering_table_in_the_database_gives_a_mobiles_region(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, _, _ = run(capsys, "--db", db, "numbering", "import", str(SAMPLE_CSV))
    assert code == 0
    found = info(capsys, db, "+7 912 010-00-01", "--at", "2024-06-03T04:59:59Z")
    assert (found["region"], found["timezones"], found["tz_source"]) == (
        "Пермский край",
        ["Asia/Yekaterinburg"],
        "numbering",
    )
    assert (found["window_open"], found["next_window_open"]) == (False, "2024-06-03T05:00:00Z")


def test_the_in_memory_numbering_fake_agrees_with_the_database_lookup(db: str) -> None:
    from dialer.storage.migrate import open_database  # noqa: PLC0415 - storage only here
    from dialer.storage.numbering import (  # noqa: PLC0415
        SqlNumberingLookup,
        import_numbering_file,
        parse_numbering_csv,
    )

    engine = open_database(db)
    import_numbering_file(engine, SAMPLE_CSV, now=datetime(2024, 6, 3, tzinfo=UTC))
    rows = parse_numbering_csv(SAMPLE_CSV.read_text(encoding="utf-8"))
    fake = InMemoryNumbering((r.prefix, r.range_from, r.range_to, r.region) for _, r in rows)
    real = SqlNumberingLookup(engine)
    numbers = ["+79000061999", "+79000062000", "+79120099999", "+79120100000", "+79129999999"]
    numbers += ["+79240049999", "+79240050000", "+79999999000", "+74951234568", "+77015551234"]
    assert [fake.region_of(n) for n in numbers] == [real.region_of(n) for n in numbers]
    assert fake.region_of("+79240049999") == "Республика Саха /Якутия/"
    engine.dispose()


def test_without_a_numbering_table_the_command_still_answers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "absent.db"
    found = info(capsys, f"sqlite:///{missing}", "+79121234568", "--at", "2024-06-03T12:00Z")
    assert found["tz_source"] == "default"
    assert not missing.exists()  # phone-info never creates a database


def test_an_unreadable_numbering_table_is_a_warning_not_a_failure(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()  # a database without the numbering table
    code, out, err = run(capsys, "--db", f"sqlite:///{empty}", "phone-info", "+79121234568")
    assert code == 0
    assert json.loads(out)["tz_source"] == "default"
    assert err.startswith("callback-dialer: warning: numbering table not used: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--at", "yesterday"], "--at: not an ISO 8601 date-time: 'yesterday'"),
        (["--at", "2024-06-03T12:00"], "--at: needs a zone"),
        (["--window", "19:00-10:00"], "--window '19:00-10:00': window start 19:00:00 must be"),
        (["--window", "25:00-26:00"], "--window '25:00-26:00': hour must be in 0..23"),
        (["--window", "10-19"], "--window: expected HH:MM-HH:MM, got '10-19'"),
        (["--tz", "Mars/Olympus"], "--tz: unknown IANA time zone 'Mars/Olympus'"),
        (["--default-tz", "Moscow"], "--default-tz: unknown IANA time zone 'Moscow'"),
        (["--country", "ZZ"], "--country: unknown ISO 3166 country code 'ZZ'"),
    ],
)
def test_bad_arguments_exit_2_naming_the_problem(
    capsys: pytest.CaptureFixture[str], db: str, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "--db", db, "phone-info", "+79161234568", *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"callback-dialer: error: {message}")


def test_bad_database_url_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", "nosuchdb://x", "phone-info", "+79161234568")
    assert (code, out) == (2, "")
    assert err.startswith("callback-dialer: error: --db: ")


def test_at_defaults_to_the_clock_read_by_the_command() -> None:
    now = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
    args = argparse.Namespace(
        number="+79161234568",
        region=None,
        city=None,
        tz=None,
        country=None,
        at=None,
        window="10:00-19:00",
        default_tz="Europe/Moscow",
    )
    assert parse_request(args, now=now).at == now


def test_python_m_dialer_runs_phone_info(tmp_path: Path) -> None:
    env = {**os.environ, "CALLBACK_DIALER_DB": f"sqlite:///{tmp_path / 'absent.db'}"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "dialer", "phone-info", "+74012234567", "--at", "2024-06-03T16:59Z"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    found = json.loads(done.stdout)
    assert (found["e164"], found["region"], found["timezones"], found["tz_source"]) == (
        "+74012234567",
        "Калининградская область",
        ["Europe/Kaliningrad"],
        "landline",
    )
    assert (found["window_open"], found["next_window_open"]) == (True, "2024-06-03T16:59:00Z")
    assert list(tmp_path.iterdir()) == []
