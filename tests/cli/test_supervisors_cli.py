"""`callback-dialer supervisors` and `callback-dialer audit` (issue 19), through
``dialer.cli.main``: accounts with an extension, passwords as hashes, the audit lines."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_run import run

from dialer.agent_auth.passwords import PasswordHasher
from dialer.agent_auth.service import AgentAuth
from dialer.storage.agent_auth import SUPERVISORS, SqlAgentAuthStore
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.audit import AuditEntry, SqlAuditLog
from dialer.storage.migrate import open_database

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    SqlAgentRegistry(open_database(url)).configure("shop", ["101"], T0)
    return url


def listed(capsys: pytest.CaptureFixture[str], url: str) -> list[dict[str, object]]:
    code, out, _ = run(capsys, "--db", url, "supervisors", "list", "--json")
    assert code == 0
    return [json.loads(row) for row in out.splitlines()]


def test_add_set_and_remove_change_what_list_shows(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    code, out, _ = run(capsys, "--db", url, "supervisors", "add", "anna", "--name", "Анна",
                       "--extension", "201")  # fmt: skip
    assert code == 0 and "anna: added (name 'Анна', extension 201)" in out
    assert listed(capsys, url) == [{"id": "anna", "name": "Анна", "extension": "201"}]
    assert run(capsys, "--db", url, "supervisors", "set", "anna", "--no-extension")[0] == 0
    assert listed(capsys, url) == [{"id": "anna", "name": "Анна", "extension": None}]
    assert run(capsys, "--db", url, "supervisors", "remove", "anna")[0] == 0
    assert listed(capsys, url) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "../x"), "not a supervisor id"),
        (("add", "101"), "is an agent's id"),
        (("add", "anna", "--extension", "20a"), "not an extension (digits only"),
        (("add", "anna", "--extension", "PJSIP/201"), "not an extension"),
        (("set", "nobody", "--extension", "201"), "unknown supervisor 'nobody'"),
        (("password", "nobody", "--stdin"), "unknown supervisor 'nobody'"),
        (("remove", "nobody"), "unknown supervisor"),
    ],
)
def test_bad_requests_exit_2_naming_the_problem(
    capsys: pytest.CaptureFixture[str], url: str, args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, "--db", url, "supervisors", *args)
    assert code == 2 and message in err, err


def test_a_password_from_stdin_is_stored_as_a_hash_and_signs_in(
    capsys: pytest.CaptureFixture[str], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "--db", url, "supervisors", "add", "anna")
    monkeypatch.setattr("sys.stdin", io.StringIO("наблюдатель-1\n"))
    code, out, _ = run(capsys, "--db", url, "supervisors", "password", "anna", "--stdin")
    assert (code, out) == (0, "anna: password set; 0 session(s) ended\n")
    store = SqlAgentAuthStore(open_database(url), SUPERVISORS)
    credential = store.credential("anna")
    assert credential is not None and credential.password_hash.startswith("scrypt$")
    auth = AgentAuth(store, PasswordHasher(), clock=lambda: T0, ttl=timedelta(hours=1))
    assert auth.sign_in("anna", "наблюдатель-1").record.agent_id == "anna"
    assert SqlAgentAuthStore(open_database(url)).credential("anna") is None  # not an agent's


def test_audit_prints_the_entries_newest_first_and_filters_by_date(
    capsys: pytest.CaptureFixture[str], url: str
) -> None:
    log = SqlAuditLog(open_database(url))
    now = datetime.now(UTC).replace(microsecond=0)
    log.write(AuditEntry(now - timedelta(days=30), "anna", "supervisor", "listen", "accepted"))
    log.write(AuditEntry(now, "anna", "supervisor", "barge", "refused", "a1", "O-7", "101",
                         "call a1 is not live"))  # fmt: skip
    code, out, _ = run(capsys, "--db", url, "audit")
    assert code == 0
    assert out.splitlines() == [
        f"{now:%Y-%m-%d %H:%M:%S} supervisor anna: barge (вмешался) agent 101 order O-7 "
        "attempt a1: refused (call a1 is not live)"
    ]
    since = (now - timedelta(days=31)).date().isoformat()
    code, out, _ = run(capsys, "--db", url, "audit", "--since", since, "--json")
    assert [json.loads(row)["action"] for row in out.splitlines()] == ["barge", "listen"]
    code, _, err = run(capsys, "--db", url, "audit", "--until", "soon")
    assert code == 2 and "--until: expected YYYY-MM-DD" in err
