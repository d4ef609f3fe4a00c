"""Column types shared by the models: timezone-aware UTC instants and instant lists."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator

_INSTANT_FORMAT = "%Y%m%dT%H%M%SZ"


class UTCDateTime(TypeDecorator[datetime]):
    """Stores an aware datetime as UTC and always returns an aware UTC datetime.

    Naive datetimes are refused on the way in: every instant in the dialer is aware.
    SQLite has no time zones, so the value is stored there as naive UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime refused (store aware UTC instants): {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def encode_instants(instants: Iterable[datetime]) -> str:
    """The compact text of ``orders.attempt_times``: comma-joined ``YYYYMMDDTHHMMSSZ``."""
    parts = []
    for instant in instants:
        if instant.tzinfo is None:
            raise ValueError(f"naive datetime refused: {instant!r}")
        parts.append(instant.astimezone(UTC).strftime(_INSTANT_FORMAT))
    return ",".join(parts)


def decode_instants(text: str) -> list[datetime]:
    """Inverse of :func:`encode_instants` (whole seconds, aware UTC)."""
    if not text:
        return []
    return [
        datetime.strptime(part, _INSTANT_FORMAT).replace(tzinfo=UTC) for part in text.split(",")
    ]
