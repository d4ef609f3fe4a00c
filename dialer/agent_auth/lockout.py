"""The lockout rule for agent sign-in, as pure functions of the time (issue 15 §2).

Five wrong passwords in a row lock the agent for 60 s. While locked, every attempt is
refused without looking at the password, and it neither counts nor extends the lock (so a
guesser gets at most five tries a minute, and the agent is free again a minute after the
last of them). The first attempt after the lock ends starts a fresh run of five; a right
password clears the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILURES = 5
LOCK_FOR = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class LockState:
    """The wrong passwords in a row and, once there were ``MAX_FAILURES``, when the lock ends."""

    failures: int = 0
    locked_until: datetime | None = None


CLEAR = LockState()


def is_locked(state: LockState, now: datetime) -> bool:
    return state.locked_until is not None and now < state.locked_until


def after_failure(state: LockState, now: datetime) -> LockState:
    """The state after a wrong password at ``now`` (unchanged while locked)."""
    if is_locked(state, now):
        return state
    failures = (0 if state.locked_until is not None else state.failures) + 1
    if failures >= MAX_FAILURES:
        return LockState(failures, now + LOCK_FOR)
    return LockState(failures, None)


def after_success(state: LockState, now: datetime) -> LockState:
    """The state after a right password at ``now``: cleared, unless still locked."""
    return state if is_locked(state, now) else CLEAR
