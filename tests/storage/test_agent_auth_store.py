"""Agent sign-in storage (issue 15 §2) on real SQLite and PostgreSQL: only hashes are kept,
setting a password ends the agent's sessions, the lockout counts every try, sessions expire."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from local_services import fresh_database
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialer.agent_auth.errors import AgentLocked, WrongCredentials
from dialer.agent_auth.lockout import CLEAR, LockState, after_failure
from dialer.agent_auth.passwords import PasswordHasher, PasswordRuleError
from dialer.agent_auth.service import AgentAuth
from dialer.storage.agent_auth import SqlAgentAuthStore, secret_hash
from dialer.storage.agents import SqlAgentRegistry, UnknownAgentError
from dialer.storage.migrate import open_database
from dialer.storage.models import AgentCredential, AgentSessionRow

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
HASHER = PasswordHasher(n=2**10)  # the storage, not the cost, is under test here


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = open_database(f"sqlite:///{tmp_path / 'auth.db'}")
        yield engine
        engine.dispose()
        return
    with fresh_database(request.getfixturevalue("postgres_url"), "agent_auth") as url:
        engine = open_database(url)
        yield engine
        engine.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(backend: Engine, clock: Clock) -> AgentAuth:
    SqlAgentRegistry(backend).configure("shop", ["101", "102"], T0, names={"101": "Анна"})
    return AgentAuth(SqlAgentAuthStore(backend), HASHER, clock=clock, ttl=timedelta(hours=12))


def test_only_a_salted_hash_of_the_password_is_stored(auth: AgentAuth, backend: Engine) -> None:
    auth.set_password("101", "секрет-анны")
    with Session(backend) as session:
        row = session.get(AgentCredential, "101")
        assert row is not None
        assert row.password_hash.startswith("scrypt$") and "секрет" not in row.password_hash
        assert row.changed_at == T0


def test_a_password_for_an_unknown_agent_or_too_short_is_refused(auth: AgentAuth) -> None:
    with pytest.raises(UnknownAgentError, match="unknown agent '999'"):
        auth.set_password("999", "long enough")
    with pytest.raises(PasswordRuleError, match="at least 8"):
        auth.set_password("101", "short")


def test_sign_in_opens_a_session_stored_by_the_hash_of_its_secret(
    auth: AgentAuth, backend: Engine
) -> None:
    auth.set_password("101", "секрет-анны")
    opened = auth.sign_in("101", "секрет-анны")
    assert opened.record.expires_at == T0 + timedelta(hours=12)
    with Session(backend) as session:
        [row] = session.scalars(select(AgentSessionRow)).all()
        assert row.token_hash == secret_hash(opened.secret) != opened.secret
        assert row.csrf_token == opened.record.csrf_token
    assert auth.session(opened.secret) == opened.record
    assert auth.session(opened.secret + "x") is None


def test_unknown_agent_no_password_and_wrong_password_are_refused_alike(
    auth: AgentAuth,
) -> None:
    auth.set_password("101", "секрет-анны")
    texts = set()
    for agent, password in (("101", "wrong one"), ("102", "anything"), ("999", "x"), ("Оля", "y")):
        with pytest.raises(WrongCredentials) as refused:
            auth.sign_in(agent, password)
        texts.add(str(refused.value))
    assert texts == {"unknown agent or wrong password"}


def test_rule_7_five_wrong_then_locked_until_the_minute_ends(auth: AgentAuth, clock: Clock) -> None:
    auth.set_password("101", "секрет-анны")
    for _ in range(5):
        with pytest.raises(WrongCredentials):
            auth.sign_in("101", "wrong password")
    clock.now = T0 + timedelta(seconds=59)
    with pytest.raises(AgentLocked, match=r"locked .* until 2026-03-10T09:01:00"):
        auth.sign_in("101", "секрет-анны")
    clock.now = T0 + timedelta(seconds=60)
    assert auth.sign_in("101", "секрет-анны").record.agent_id == "101"


def test_concurrent_wrong_passwords_all_count(backend: Engine, auth: AgentAuth) -> None:
    auth.set_password("101", "секрет-анны")
    store = SqlAgentAuthStore(backend)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: store.change_lock("101", lambda s: after_failure(s, T0)), range(4)))
    assert store.change_lock("101", lambda s: s) == LockState(4, None)
    assert store.change_lock("102", lambda s: after_failure(s, T0)) == CLEAR  # no password


def test_setting_a_password_ends_the_agents_sessions_and_clears_the_lock(
    auth: AgentAuth,
) -> None:
    auth.set_password("101", "секрет-анны")
    auth.set_password("102", "секрет-бориса")
    first, second = auth.sign_in("101", "секрет-анны"), auth.sign_in("101", "секрет-анны")
    other = auth.sign_in("102", "секрет-бориса")
    for _ in range(5):
        with pytest.raises(WrongCredentials):
            auth.sign_in("101", "wrong password")
    assert auth.set_password("101", "новый-пароль") == 2
    assert auth.session(first.secret) is None and auth.session(second.secret) is None
    assert auth.session(other.secret) is not None
    assert auth.sign_in("101", "новый-пароль").record.agent_id == "101"  # lock cleared


def test_a_session_expires_after_its_ttl_and_sign_out_ends_it(
    auth: AgentAuth, clock: Clock
) -> None:
    auth.set_password("101", "секрет-анны")
    opened = auth.sign_in("101", "секрет-анны")
    clock.now = T0 + timedelta(hours=11, minutes=59)
    assert auth.session(opened.secret) is not None
    clock.now = T0 + timedelta(hours=12)
    assert auth.session(opened.secret) is None
    clock.now = T0
    again = auth.sign_in("101", "секрет-анны")
    auth.sign_out(again.record)
    assert auth.session(again.secret) is None


def test_last_seen_is_written_at_most_once_a_minute(
    auth: AgentAuth, backend: Engine, clock: Clock
) -> None:
    auth.set_password("101", "секрет-анны")
    opened = auth.sign_in("101", "секрет-анны")
    store = SqlAgentAuthStore(backend)
    clock.now = T0 + timedelta(seconds=30)
    auth.session(opened.secret)
    assert store.session(opened.record.token_hash).last_seen_at == T0  # type: ignore[union-attr]
    clock.now = T0 + timedelta(seconds=90)
    auth.session(opened.secret)
    assert store.session(opened.record.token_hash).last_seen_at == clock.now  # type: ignore[union-attr]


def test_expired_sessions_are_dropped_when_a_new_one_opens(
    auth: AgentAuth, backend: Engine, clock: Clock
) -> None:
    auth.set_password("101", "секрет-анны")
    auth.sign_in("101", "секрет-анны")
    clock.now = T0 + timedelta(hours=13)
    auth.sign_in("101", "секрет-анны")
    with Session(backend) as session:
        assert len(session.scalars(select(AgentSessionRow)).all()) == 1
