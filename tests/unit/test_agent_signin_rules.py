"""Agent sign-in rules (issue 15 §2), pure: password hashes, the lockout as a function of
time, the cross-site checks and which orders an agent's session may reach."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from dialer.agent_auth.lockout import (
    CLEAR,
    LOCK_FOR,
    LockState,
    after_failure,
    after_success,
    is_locked,
)
from dialer.agent_auth.passwords import PasswordHasher, PasswordRuleError, checked_password
from dialer.agent_auth.scope import OrderFacts, facts_of, may_access
from dialer.web.agent.guard import check_csrf, check_origin
from dialer.web.api.errors import ApiError

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
CHEAP = PasswordHasher(n=2**10)  # the format and the checks; the default cost is tested below


# ---- passwords ---------------------------------------------------------------------------


def test_a_password_is_stored_as_salted_scrypt_with_its_parameters() -> None:
    stored = PasswordHasher().hash("пароль-оператора")
    scheme, params, salt, digest = stored.split("$")
    assert (scheme, params) == ("scrypt", "n=32768,r=8,p=1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32
    assert "пароль" not in stored


def test_the_same_password_hashes_differently_each_time_and_verifies_both() -> None:
    first, second = CHEAP.hash("correct horse"), CHEAP.hash("correct horse")
    assert first != second
    assert CHEAP.verify("correct horse", first) and CHEAP.verify("correct horse", second)


def test_a_wrong_password_or_no_stored_hash_does_not_verify() -> None:
    stored = CHEAP.hash("correct horse")
    assert not CHEAP.verify("correct hors", stored)
    assert not CHEAP.verify("correct horse", None)  # unknown agent: a dummy hash is checked


def test_a_hash_with_other_parameters_still_verifies_and_a_tampered_one_never_does() -> None:
    stored = PasswordHasher(n=2**11, r=4).hash("correct horse")
    assert CHEAP.verify("correct horse", stored)
    for bad in (
        stored.replace("n=2048", "n=2000"),  # not a power of two
        stored.replace("n=2048", f"n={2**24}"),  # would allocate gigabytes
        stored.replace("scrypt$", "md5$"),
        stored.rsplit("$", 1)[0] + "$not base64!",
        "",
    ):
        assert not CHEAP.verify("correct horse", bad)


def test_a_password_shorter_than_8_characters_is_refused_naming_the_minimum() -> None:
    with pytest.raises(PasswordRuleError, match="at least 8 characters"):
        checked_password("1234567")
    assert checked_password("12345678") == "12345678"
    assert checked_password("пароль12") == "пароль12"  # characters, not bytes


# ---- lockout -----------------------------------------------------------------------------


def failures(count: int, at: datetime, state: LockState = CLEAR) -> LockState:
    for _ in range(count):
        state = after_failure(state, at)
    return state


def test_four_wrong_passwords_do_not_lock() -> None:
    state = failures(4, T0)
    assert state == LockState(4, None)
    assert not is_locked(state, T0)


def test_rule_7_five_wrong_passwords_in_a_row_lock_the_agent_for_a_minute() -> None:
    state = failures(5, T0)
    assert state.locked_until == T0 + timedelta(seconds=60)
    assert is_locked(state, T0 + timedelta(seconds=59))
    assert not is_locked(state, T0 + LOCK_FOR)


def test_a_right_password_while_locked_changes_nothing() -> None:
    state = failures(5, T0)
    assert after_success(state, T0 + timedelta(seconds=30)) == state


def test_tries_while_locked_neither_count_nor_extend_the_lock() -> None:
    state = failures(5, T0)
    assert failures(10, T0 + timedelta(seconds=30), state) == state


def test_a_right_password_after_the_lock_ends_resets_the_count() -> None:
    state = failures(5, T0)
    assert after_success(state, T0 + LOCK_FOR) == CLEAR


def test_after_the_lock_ends_a_fresh_run_of_five_starts() -> None:
    state = failures(5, T0)
    later = T0 + LOCK_FOR
    assert after_failure(state, later) == LockState(1, None)
    assert failures(5, later, state).locked_until == later + LOCK_FOR


def test_a_right_password_between_wrong_ones_breaks_the_run() -> None:
    state = after_success(failures(4, T0), T0)
    assert failures(4, T0, state) == LockState(4, None)


# ---- cross-site checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [None, "http://dialer.local:8080", "https://dialer.local:8080", "HTTP://Dialer.Local:8080"],
)
def test_no_origin_or_the_services_own_origin_passes(origin: str | None) -> None:
    check_origin(origin, "dialer.local:8080")


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://dialer.local:9999",
        "null",
        "file://",
        "dialer.local:8080",
        "",
    ],
)
def test_a_foreign_origin_is_refused_naming_the_header(origin: str) -> None:
    with pytest.raises(ApiError) as refused:
        check_origin(origin, "dialer.local:8080")
    assert (refused.value.status, refused.value.field) == (403, "Origin")


def test_an_origin_without_a_host_to_compare_with_is_refused() -> None:
    with pytest.raises(ApiError):
        check_origin("http://dialer.local:8080", None)


def test_the_csrf_token_must_be_present_and_equal() -> None:
    check_csrf("tok-1", "tok-1")
    for presented in (None, "", "tok-2", "tok-1 ", "ток"):
        with pytest.raises(ApiError) as refused:
            check_csrf(presented, "tok-1")
        assert (refused.value.status, refused.value.field) == (403, "X-CSRF-Token")


# ---- scope -------------------------------------------------------------------------------


def order(
    phase: str, attempts: list[tuple[str, str]], live: str | None = None
) -> dict[str, object]:
    return {
        "id": "НФ-00123",
        "phase": phase,
        "live_attempt": live,
        "attempts": [{"id": i, "agent": a} for i, a in attempts],
    }


def test_rule_7_an_agent_reaches_the_order_whose_live_call_was_offered_to_them() -> None:
    facts = facts_of(order("dialing", [("a1", "101"), ("a2", "102")], live="a2"))
    assert facts == OrderFacts("dialing", "102")
    assert may_access("102", facts)
    assert not may_access("101", facts)  # an earlier attempt does not make it theirs


def test_rule_7_an_agent_reaches_the_answered_order_awaiting_their_verdict() -> None:
    facts = facts_of(order("awaiting_disposition", [("a1", "101"), ("a2", "Оля")]))
    assert may_access("Оля", facts)
    assert not may_access("101", facts)


@pytest.mark.parametrize("phase", ["queued", "done"])
def test_an_order_no_longer_under_way_is_nobodys(phase: str) -> None:
    facts = facts_of(order(phase, [("a1", "101")], live="a1"))
    assert not may_access("101", facts)


def test_rule_7_the_owner_of_a_callback_reaches_it_until_it_is_done() -> None:
    queued = facts_of(order("queued", [("a1", "101")]), owner="102")
    assert may_access("102", queued)
    assert not may_access("101", queued)
    assert not may_access("102", facts_of(order("done", []), owner="102"))


def test_an_unknown_order_is_refused_like_another_agents() -> None:
    assert facts_of(None) is None
    assert not may_access("101", None)
