"""Agent sign-in as a service: set a password, sign in (with the lockout), find a session,
sign out. The clock is injected; the rules it applies are pure (``lockout``, ``passwords``).

Sessions expire a fixed ``ttl`` after sign-in (not sliding: a shift is one sign-in, and a
stolen cookie is worth at most one ``ttl``). ``last_seen_at`` is written at most once a
minute, so polling the workspace does not write on every request.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialer.agent_auth import lockout
from dialer.agent_auth.errors import AgentLocked, WrongCredentials
from dialer.agent_auth.passwords import PasswordHasher, checked_password
from dialer.storage.agent_auth import SessionRecord, SqlAgentAuthStore, secret_hash

SEEN_EVERY = timedelta(seconds=60)
_AGENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # as dialer.storage.agents.checked_agent_id


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: its secret goes into the cookie and is stored nowhere."""

    secret: str
    record: SessionRecord


class AgentAuth:
    """Passwords and sessions of the agents, over ``SqlAgentAuthStore``."""

    def __init__(
        self,
        store: SqlAgentAuthStore,
        hasher: PasswordHasher,
        *,
        clock: Callable[[], datetime],
        ttl: timedelta,
    ) -> None:
        self._store, self._hasher, self._clock, self.ttl = store, hasher, clock, ttl

    def now(self) -> datetime:
        return self._clock()

    def set_password(self, agent_id: str, password: str) -> int:
        """Set the agent's password (PasswordRuleError, UnknownAgentError); its sessions end.
        Returns how many sessions ended."""
        hashed = self._hasher.hash(checked_password(password))
        return self._store.set_password(agent_id, hashed, self._clock())

    def sign_in(self, agent_id: str, password: str) -> NewSession:
        """A new session, else WrongCredentials or AgentLocked."""
        now = self._clock()
        if not _AGENT_ID.fullmatch(agent_id):  # not an id at all: refused alike, same time
            self._hasher.verify(password, None)
            raise WrongCredentials
        credential = self._store.credential(agent_id)
        if credential is not None and lockout.is_locked(credential.lock, now):
            raise AgentLocked(credential.lock.locked_until or now)
        stored = None if credential is None else credential.password_hash
        if not self._hasher.verify(password, stored):
            self._store.change_lock(agent_id, lambda state: lockout.after_failure(state, now))
            raise WrongCredentials
        state = self._store.change_lock(agent_id, lambda state: lockout.after_success(state, now))
        if lockout.is_locked(state, now):  # locked by another attempt meanwhile
            raise AgentLocked(state.locked_until or now)
        return self._open(agent_id, now)

    def session(self, secret: str) -> SessionRecord | None:
        """The live session whose cookie secret this is, else None."""
        now = self._clock()
        record = self._store.session(secret_hash(secret))
        if record is None or record.expires_at <= now:
            return None
        if now - record.last_seen_at >= SEEN_EVERY:
            self._store.touch(record.token_hash, now)
        return record

    def sign_out(self, record: SessionRecord) -> None:
        self._store.end_session(record.token_hash)

    def _open(self, agent_id: str, now: datetime) -> NewSession:
        secret = secrets.token_urlsafe(32)
        record = SessionRecord(
            secret_hash(secret),
            agent_id,
            secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + self.ttl,
            last_seen_at=now,
        )
        self._store.add_session(record)
        return NewSession(secret, record)
