"""Reading request values: each refusal is a 400 naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from dialer.web.api.errors import ApiError


def text(data: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    """A non-empty string (stripped), or None when absent and not required."""
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{name}: required, a non-empty string", name)
    return value.strip()


def instant(data: Mapping[str, Any], name: str) -> datetime:
    """An ISO 8601 date-time with its UTC offset."""
    value = text(data, name)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ApiError(
            400, f"{name}: expected ISO 8601, e.g. 2026-03-10T15:30:00+03:00", name
        ) from None
    if parsed.tzinfo is None:
        raise ApiError(400, f"{name}: needs a UTC offset (e.g. +03:00 or Z)", name)
    return parsed


def day(query: Mapping[str, str], name: str, default: date) -> date:
    """A calendar date YYYY-MM-DD from the query, else ``default``."""
    value = query.get(name)
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"{name}: expected a date YYYY-MM-DD, got {value!r}", name) from None


def choice(data: Mapping[str, Any], name: str, values: tuple[str, ...]) -> str:
    value = data.get(name)
    if value not in values:
        raise ApiError(400, f"{name}: one of {', '.join(values)}", name)
    return str(value)
