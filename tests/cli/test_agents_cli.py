"""`callback-dialer agents`: what ops see and do, run through ``dialer.cli.main``."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_run import run

from dialer.agent_auth.passwords import PasswordHasher
from dialer.agent_auth.service import AgentAuth
from dialer.dispatch.agents import AgentPool, AgentState
from dialer.storage.agent_auth import SqlAgentAuthStore
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.migrate import open_database

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    SqlAgentRegistry(open_database(url)).configure("shop", ["101", "102"], T0)
    return url


def listed(capsys: pytest.CaptureFixture[str], url: str) -> dict[str, dict[str, object]]:
    code, out, _ = run(capsys, "--db", url, "agents", "list", "--json")
    assert code == 0
    return {row["id"]: row for row in map(json.loads, out.splitlines())}


def test_list_shows_each_agent_with_its_state_in_codes_and_russian(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--db", url, "agents", "list")
    assert code == 0
    header, first, second = out.splitlines()
    assert header.split()[:3] == ["AGENT", "CAMPAIGN", "STATE"]
    assert first.startswith("101") and "logged_out (не в системе)" in first
    assert second.startswith("102")


def test_login_pause_resume_logout_change_what_list_json_shows(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "--db", url, "agents", "login", "101")[:2] == (
        0,
        "101: logged_out -> idle\n",
    )
    assert listed(capsys, url)["101"]["state"] == "idle"

    code, out, _ = run(capsys, "--db", url, "agents", "pause", "101", "--reason", "обед")
    assert (code, out) == (0, "101: idle -> paused (обед)\n")
    row = listed(capsys, url)["101"]
    assert (row["state"], row["state_ru"], row["paused_reason"]) == ("paused", "пауза", "обед")

    assert run(capsys, "--db", url, "agents", "resume", "101")[1] == "101: paused (обед) -> idle\n"
    assert run(capsys, "--db", url, "agents", "logout", "101")[1] == "101: idle -> logged_out\n"
    assert listed(capsys, url)["101"]["state"] == "logged_out"


def test_a_request_that_changes_nothing_says_so(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--db", url, "agents", "resume", "102")
    assert (code, out) == (0, "102: unchanged, logged_out\n")


def test_pausing_an_agent_on_a_call_says_when_it_takes_effect(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = SqlAgentRegistry(open_database(url))
    registry.login("101", T0)
    pool = AgentPool(["101"], T0, wrap_up_s=0, miss_pause_after=3)
    pool.acquire(T0)
    registry.record(pool.get("101"), expected=(AgentState.IDLE, None))

    code, out, _ = run(capsys, "--db", url, "agents", "pause", "101", "--reason", "обед")
    assert code == 0
    assert out == "101: ringing -> paused (обед); takes effect when the current call ends\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("login", "999"), "unknown agent '999'"),
        (("pause", "999", "--reason", "x"), "unknown agent '999'"),
        (("pause", "101", "--reason", "обед"), "agent 101 is logged out; log in first"),
        (("pause", "101"), "--reason"),
    ],
)
def test_bad_requests_exit_2_naming_the_problem(
    url: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, "--db", url, "agents", *argv)
    assert code == 2
    assert message in err


def test_configure_adds_the_agents_of_a_campaign_file(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        '[campaign]\nname = "kz"\nagents = ["102", "201"]\n'
        'agent_channel_template = "PJSIP/{agent}"\n',
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "--db", url, "agents", "configure", str(campaign))
    assert (code, out) == (0, "campaign kz: 1 agent(s) added, 1 already configured\n")
    rows = listed(capsys, url)
    assert (rows["201"]["campaign"], rows["201"]["channel"]) == ("kz", "PJSIP/201")
    code, out, _ = run(capsys, "--db", url, "agents", "list", "--campaign", "kz", "--json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["102", "201"]


def test_configure_with_a_bad_campaign_file_exits_2(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign = tmp_path / "campaign.toml"
    campaign.write_text("[campaign]\nagentz = []\n", encoding="utf-8")
    code, _, err = run(capsys, "--db", url, "agents", "configure", str(campaign))
    assert code == 2
    assert "agentz" in err


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_password_from_stdin_is_set_as_a_hash_and_the_agent_can_sign_in(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin(monkeypatch, "пароль оператора\n")
    code, out, err = run(capsys, "--db", url, "agents", "password", "101", "--stdin")
    assert (code, out) == (0, "101: password set; 0 session(s) ended\n")
    assert "пароль" not in out + err
    auth = AgentAuth(SqlAgentAuthStore(open_database(url)), PasswordHasher(),
                     clock=lambda: T0, ttl=timedelta(hours=1))  # fmt: skip
    assert auth.sign_in("101", "пароль оператора").record.agent_id == "101"


def test_password_from_the_terminal_is_asked_twice(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["long enough", "long enough"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    assert run(capsys, "--db", url, "agents", "password", "101")[0] == 0
    answers = iter(["long enough", "different!"])
    code, _, err = run(capsys, "--db", url, "agents", "password", "101")
    assert code == 2 and "differ" in err


@pytest.mark.parametrize(
    ("agent", "typed", "message"),
    [
        ("101", "short\n", "at least 8 characters"),
        ("101", "", "at least 8 characters"),
        ("999", "long enough\n", "unknown agent '999'"),
    ],
)
def test_password_too_short_or_for_an_unknown_agent_exits_2(
    url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *,
    agent: str,
    typed: str,
    message: str,
) -> None:
    stdin(monkeypatch, typed)
    code, out, err = run(capsys, "--db", url, "agents", "password", agent, "--stdin")
    assert (code, out) == (2, "")
    assert message in err
