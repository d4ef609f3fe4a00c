"""API tokens in the database: create (the secret is shown once), revoke, list, authenticate.

Only the SHA-256 of a secret is stored. ``authenticate`` hashes the presented secret and
compares it with every active token's hash by ``hmac.compare_digest``, so neither the
comparison nor the lookup depends on how much of a guess was right.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialer.storage.engine import retry_locked
from dialer.storage.errors import InvalidValueError
from dialer.storage.models import ApiToken

_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
SECRET_PREFIX = "cbd_"  # noqa: S105 - a marker, not a secret


class Role(enum.StrEnum):
    """What a token may do: ops everything, crm intake and dispositions, viewer only read."""

    OPS = "ops"
    CRM = "crm"
    VIEWER = "viewer"


class UnknownTokenError(InvalidValueError):
    """No active token has this name."""


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One token as listed (never with its secret)."""

    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class SqlTokenStore:
    """The api_tokens table over SQLAlchemy."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, name: str, role: str, now: datetime) -> str:
        """A new token; returns its secret, which is stored nowhere."""
        if not _NAME.fullmatch(name):
            raise InvalidValueError(f"token name: letters, digits, _ . @ - (1-64), not {name!r}")
        try:
            checked = Role(role)
        except ValueError:
            raise InvalidValueError(f"role: one of ops, crm, viewer, not {role!r}") from None
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)

        def work() -> None:
            with Session(self._engine) as session, session.begin():
                if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
                    raise InvalidValueError(f"a token named {name!r} exists (revoked or not)")
                session.add(
                    ApiToken(
                        name=name, role=checked.value, token_hash=token_hash(secret), created_at=now
                    )
                )

        retry_locked(work)
        return secret

    def revoke(self, name: str, now: datetime) -> None:
        def work() -> None:
            with Session(self._engine) as session, session.begin():
                row = session.scalar(
                    select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
                )
                if row is None:
                    raise UnknownTokenError(f"no active token named {name!r}")
                row.revoked_at = now

        retry_locked(work)

    def all(self) -> list[TokenRecord]:
        with Session(self._engine) as session:
            rows = session.scalars(select(ApiToken).order_by(ApiToken.name))
            return [
                TokenRecord(
                    r.name,
                    Role(r.role),
                    _aware(r.created_at),
                    None if r.revoked_at is None else _aware(r.revoked_at),
                )
                for r in rows
            ]

    def authenticate(self, secret: str) -> TokenRecord | None:
        """The active token whose secret this is, else None."""
        presented = token_hash(secret)
        found: TokenRecord | None = None
        with Session(self._engine) as session:
            rows = session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None)))
            for row in rows:
                if hmac.compare_digest(row.token_hash, presented):
                    found = TokenRecord(row.name, Role(row.role), _aware(row.created_at), None)
        return found


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
