"""`callback-dialer db` and the DNC commands, run through ``dialer.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run
from sqlalchemy import inspect

from dialer.storage.engine import make_engine
from dialer.storage.migrate import head_revision


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_db_upgrade_migrates_an_empty_database_then_is_a_no_op(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--db", url, "db", "upgrade")
    assert (code, out) == (
        0,
        f"database migrated from empty to revision {head_revision()} (newest)\n",
    )
    assert "orders" in inspect(make_engine(url)).get_table_names()
    code, out, _ = run(capsys, "--db", url, "db", "upgrade")
    assert (code, out) == (0, f"database already at revision {head_revision()} (newest)\n")


def test_db_current_reports_empty_then_the_newest_revision(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "--db", url, "db", "current")[:2] == (
        0,
        f"empty (no schema); newest is {head_revision()}\n",
    )
    run(capsys, "--db", url, "db", "upgrade")
    assert run(capsys, "--db", url, "db", "current")[:2] == (0, f"{head_revision()} (newest)\n")


def test_the_db_url_comes_from_the_environment(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLBACK_DIALER_DB", url)
    assert run(capsys, "db", "upgrade")[0] == 0
    assert "orders" in inspect(make_engine(url)).get_table_names()


@pytest.mark.parametrize(
    ("bad_url", "message"),
    [
        ("nonsense", "malformed database URL 'nonsense'"),
        ("oracle://scott@host/db", "unsupported database 'oracle'"),
        ("sqlite:////no/such/folder/x.db", "folder '/no/such/folder' does not exist"),
    ],
)
def test_a_bad_url_exits_2_naming_the_problem(
    capsys: pytest.CaptureFixture[str], bad_url: str, message: str
) -> None:
    code, out, err = run(capsys, "--db", bad_url, "db", "upgrade")
    assert (code, out) == (2, "")
    assert err.startswith("callback-dialer: error: ") and message in err
    assert "Traceback" not in err


def test_a_database_from_a_newer_version_exits_1(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "--db", url, "db", "upgrade")
    with make_engine(url).begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff'")
    code, _, err = run(capsys, "--db", url, "db", "upgrade")
    assert code == 1
    assert "unknown to this version" in err


def test_dnc_add_check_list_remove(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--db", url, "dnc", "add", "8 (916) 123-45-67", "--reason", "asked")[:2] == (
        0,
        "+79161234567 added\n",
    )
    assert run(capsys, "--db", url, "dnc", "add", "+79161234567")[:2] == (
        0,
        "+79161234567 was already listed\n",
    )
    assert run(capsys, "--db", url, "dnc", "check", "79161234567")[:2] == (
        0,
        "+79161234567 is listed\n",
    )
    code, out, _ = run(capsys, "--db", url, "dnc", "list", "--json")
    row = json.loads(out)
    assert (code, row["number"], row["reason"]) == (0, "+79161234567", "asked")
    assert run(capsys, "--db", url, "dnc", "remove", "+79161234567")[:2] == (
        0,
        "+79161234567 removed\n",
    )
    assert run(capsys, "--db", url, "dnc", "remove", "+79161234567")[0] == 1
    assert run(capsys, "--db", url, "dnc", "check", "+79161234567")[:2] == (
        1,
        "+79161234567 is not listed\n",
    )
    assert run(capsys, "--db", url, "dnc", "list")[:2] == (0, "")


def test_dnc_refuses_what_is_not_a_phone_number(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--db", url, "dnc", "add", "call me")
    assert code == 2
    assert "not a phone number: 'call me'" in err
