"""RetailCRM's ``GET /api/v5/orders/history``: the intake cursor and the history entries.

Shapes (retailcrm/api-client-php ``tests/src/ResourceGroup/OrdersTest.php`` ``testHistory``;
``src/Model/Entity/Orders/OrderHistory.php``, ``src/Model/Entity/HistoryApiKey.php``,
``src/Model/Filter/Orders/OrderHistoryFilterV4Type.php``):
``?filter[sinceId]=N&limit=100`` answers ``{"success": true, "generatedAt": "...",
"history": [{"id", "createdAt", "created"?, "deleted"?, "source" (api, user, ...), "field",
"oldValue", "newValue", "apiKey": {"current": true when made with this key}?, "order":
{"id", "externalId"?, "site", ...}}], "pagination": {...}}``, entries by ascending ``id``.

The cursor the dialer keeps is a small JSON object: the account URL (a cursor of another
account is not used), the last history id read, and when it was taken (a cursor older than
``cursor_max_age_s`` is not trusted: the history it points into may be gone, and a full
listing after a long stop costs little).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crm_adapter.errors import CrmDataError

_log = logging.getLogger("crm_adapter.retailcrm")


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last history id the dialer admitted the changes of, in one account."""

    account: str
    since_id: int
    at: datetime

    def text(self) -> str:
        return json.dumps(
            {"account": self.account, "since_id": self.since_id, "at": self.at.isoformat()},
            separators=(",", ":"),
        )


def parse_cursor(
    text: str | None, account: str, now: datetime, max_age: timedelta
) -> tuple[Cursor | None, str]:
    """The kept cursor, or None with why it is not used (then a full listing is due)."""
    if text is None:
        return None, "no cursor kept yet"
    try:
        data = json.loads(text)
        cursor = Cursor(str(data["account"]), int(data["since_id"]),
                        datetime.fromisoformat(data["at"]))  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"the kept cursor is malformed ({exc!r})"
    if cursor.at.tzinfo is None or cursor.since_id < 0:
        return None, "the kept cursor is malformed (naive time or negative id)"
    if cursor.account != account:
        return None, f"the kept cursor is of another account ({cursor.account})"
    if now - cursor.at > max_age:
        return None, f"the kept cursor is from {cursor.at:%Y-%m-%d %H:%M} UTC, older than allowed"
    return cursor, ""


@dataclass(frozen=True, slots=True)
class Entry:
    """One history entry as the intake needs it."""

    id: int
    order_id: int | None  # RetailCRM's internal order id
    own: bool  # made with the dialer's own API key
    label: str  # for a log line: the order's id/externalId and the field changed
    deleted: bool = False  # the order was deleted (or merged into another)
    order: Mapping[str, Any] | None = None  # the entry's order: its id, externalId, site


def entries(data: Mapping[str, Any], what: str) -> list[Entry]:
    """The page's entries; one that cannot be read is logged naming it and left out (its
    order is not re-read), never failing the poll. A page without a history list fails."""
    items = data.get("history")
    if not isinstance(items, list):
        raise CrmDataError(f"{what}: 'history' must be a list")
    found: list[Entry] = []
    for index, item in enumerate(items):
        try:
            found.append(_entry(item))
        except CrmDataError as exc:
            _log.warning("RetailCRM %s [%d] skipped: %s", what, index, exc)
    return found


def _entry(item: Any) -> Entry:
    if not isinstance(item, dict):
        raise CrmDataError("expected an object")
    ident = item.get("id")
    if isinstance(ident, bool) or not isinstance(ident, int) or ident <= 0:
        raise CrmDataError(f"id: {str(ident)[:40]!r} is not a positive integer")
    key = item.get("apiKey")
    own = isinstance(key, dict) and key.get("current") is True
    order = item.get("order")
    order_id = order.get("id") if isinstance(order, dict) else None
    if isinstance(order_id, bool) or not isinstance(order_id, int):
        order_id = None
    external = order.get("externalId") if isinstance(order, dict) else None
    label = f"history {ident}: order {order_id}" + (f" ({external})" if external else "")
    label += f", {item.get('field')}"
    deleted = item.get("deleted") is True
    return Entry(ident, order_id, own, label, deleted, order if isinstance(order, dict) else None)
