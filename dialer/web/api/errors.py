"""The API's refusals: an HTTP status, a message and, where one is to blame, the field."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Answered as ``{"error": message, "field": field}`` with ``status`` (4xx)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            data["field"] = self.field
        return data
