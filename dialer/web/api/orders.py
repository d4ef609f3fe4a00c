"""/api/v1/orders: search, one order with its history, dispositions, requeue, cancel, intake."""

from __future__ import annotations

from typing import Any

from campaigns.dispositions import Disposition, DispositionKind
from campaigns.phones import normalise_phone
from crm_adapter.errors import CrmDataError
from crm_adapter.order_json import parse_order
from dialer.app.operations import Operations
from dialer.storage.card import OrderCards
from dialer.storage.views import OrderViews
from dialer.web.api import fields
from dialer.web.api.errors import ApiError
from dialer.web.api.router import CRM, OPS, READ, ApiRequest, Reply, Router

_KINDS = tuple(k.value for k in DispositionKind)
_MAX_LIMIT = 500
_MAX_INTAKE = 1000
DISPOSITION_BODY = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"type": "string", "enum": list(_KINDS)},
        "at": {"type": "string", "format": "date-time", "description": "callback: when"},
        "reason": {
            "type": "string",
            "description": "refused: required; invalid: optional (the problem); "
            "no_answer, consult: not taken",
        },
        "comment": {"type": "string"},
        "owner": {
            "type": "string",
            "description": "callback: the agent who owns it («мой перезвон»); offered to "
            "that agent first, to any agent after the campaign's callback_owner_grace_s",
        },
    },
}
INTAKE_BODY = {
    "type": "object",
    "required": ["orders"],
    "properties": {"orders": {"type": "array", "items": {"type": "object"}}},
}


class OrdersApi:
    """Orders of the running campaign."""

    router = Router()

    def __init__(self, ops: Operations, views: OrderViews, cards: OrderCards) -> None:
        self._ops = ops
        self._views = views
        self._cards = cards

    @router.route(
        "GET",
        "/orders",
        READ,
        "Search orders by phone or id (newest first)",
        query=(
            ("phone", "any form; normalised to E.164"),
            ("id", "order id"),
            ("limit", f"1..{_MAX_LIMIT}, default 100"),
        ),
    )
    def search(self, request: ApiRequest) -> Reply:
        e164 = None
        if "phone" in request.query:
            e164 = normalise_phone(request.query["phone"])
            if e164 is None:
                raise ApiError(400, "phone: not a valid phone number", "phone")
        limit = _limit(request.query.get("limit", "100"))
        found = self._views.search(e164=e164, order_id=request.query.get("id"), limit=limit)
        return Reply({"orders": found})

    @router.route("GET", "/orders/{id}", READ, "One order with its attempts and outcomes")
    def one(self, request: ApiRequest) -> Reply:
        order = self._views.detail(request.params["id"])
        if order is None:
            raise ApiError(404, f"unknown order {request.params['id']!r}", "id")
        return Reply(order)

    @router.route(
        "GET",
        "/orders/{id}/card",
        READ,
        "The order card the agent sees: customer's local time, items, address, history",
        responses={"404": "unknown order"},
    )
    def card(self, request: ApiRequest) -> Reply:
        order_id = request.params["id"]
        now = self._ops.now()
        default_tz = self._ops.settings_for(order_id).default_tz  # the order's campaign's
        card = self._cards.card(order_id, now, default_tz=default_tz)
        if card is None:
            raise ApiError(404, f"unknown order {order_id!r}", "id")
        return Reply(card)

    @router.route(
        "POST",
        "/orders/{id}/disposition",
        CRM,
        "The verdict on an answered call (or a queued order)",
        body=DISPOSITION_BODY,
        responses={"404": "unknown order", "409": "the order cannot take it now"},
    )
    def disposition(self, request: ApiRequest) -> Reply:
        self._ops.dispose(request.params["id"], _disposition(request.json()))
        return self.one(request)

    @router.route(
        "POST",
        "/orders/{id}/requeue",
        OPS,
        "Make a queued order due now",
        responses={"404": "unknown order", "409": "not queued"},
    )
    def requeue(self, request: ApiRequest) -> Reply:
        self._ops.requeue(request.params["id"])
        return self.one(request)

    @router.route(
        "POST",
        "/orders/{id}/cancel",
        OPS,
        "Take an order out of the queue: done, skipped, nothing written to the CRM",
        responses={"404": "unknown order", "409": "dialling or already done"},
    )
    def cancel(self, request: ApiRequest) -> Reply:
        self._ops.cancel(request.params["id"])
        return self.one(request)

    @router.route(
        "POST",
        "/intake",
        CRM,
        "Orders pushed by the CRM with a bearer token (as the signed POST /intake)",
        body=INTAKE_BODY,
    )
    def intake(self, request: ApiRequest) -> Reply:
        items = request.json().get("orders")
        if not isinstance(items, list) or len(items) > _MAX_INTAKE:
            raise ApiError(400, f"orders: required, a list of at most {_MAX_INTAKE}", "orders")
        try:
            orders = [parse_order(item, f"orders[{i}]") for i, item in enumerate(items)]
        except CrmDataError as exc:
            field = str(exc).partition(":")[0]
            raise ApiError(400, str(exc), field) from exc
        return Reply({"received": len(orders), "admitted": self._ops.admit(orders)})


def _disposition(body: dict[str, Any]) -> Disposition:
    kind = DispositionKind(fields.choice(body, "kind", _KINDS))
    comment = fields.text(body, "comment", required=False) or ""
    owner = fields.text(body, "owner", required=False)
    if kind is DispositionKind.CALLBACK:
        at = fields.instant(body, "at")
        return Disposition(kind, callback_at=at, comment=comment, owner=owner)
    if owner is not None:
        raise ApiError(400, "owner: only a callback has an owner («мой перезвон»)", "owner")
    if kind in (DispositionKind.NO_ANSWER, DispositionKind.CONSULT):
        if body.get("reason") is not None:
            raise ApiError(400, f"reason: a {kind.value} result takes no reason", "reason")
        return Disposition(kind, comment=comment)
    required = kind is DispositionKind.REFUSED
    reason = fields.text(body, "reason", required=required)
    return Disposition(kind, reason=reason, comment=comment)


def _limit(value: str) -> int:
    # ASCII digits only (str.isdigit also takes "²") and short: int() raises on both
    digits = value.isascii() and value.isdigit() and len(value) <= len(str(_MAX_LIMIT))
    if not digits or not 1 <= int(value) <= _MAX_LIMIT:
        raise ApiError(400, f"limit: a whole number 1..{_MAX_LIMIT}", "limit")
    return int(value)
