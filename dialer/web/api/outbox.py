"""/api/v1/outbox: dead outcome deliveries and their replay."""

from __future__ import annotations

import json

from dialer.app.operations import Operations
from dialer.storage.engine import Database
from dialer.storage.outbox import dead_deliveries
from dialer.web.api.errors import ApiError
from dialer.web.api.router import OPS, READ, ApiRequest, Reply, Router

REPLAY_BODY = {
    "type": "object",
    "properties": {
        "ids": {"type": "array", "items": {"type": "integer"}},
        "all": {"type": "boolean"},
    },
    "description": "either ids or all: true",
}


class OutboxApi:
    """Outcomes the CRM never acknowledged."""

    router = Router()

    def __init__(self, ops: Operations, engine: Database) -> None:
        self._ops = ops
        self._engine = engine

    @router.route("GET", "/outbox/dead", READ, "Dead deliveries, oldest first")
    def dead(self, request: ApiRequest) -> Reply:
        del request
        rows = dead_deliveries(self._engine)
        return Reply(
            {
                "dead": [
                    {
                        "id": r.id,
                        "order_id": r.order_id,
                        "idempotency_key": r.idempotency_key,
                        "tries": r.tries,
                        "created_at": r.created_at.isoformat(),
                        "last_error": r.last_error,
                        "held_back": r.held_back,
                        "payload": json.loads(r.payload_json),
                    }
                    for r in rows
                ]
            }
        )

    @router.route("POST", "/outbox/replay", OPS, "Make dead deliveries due now", body=REPLAY_BODY)
    def replay(self, request: ApiRequest) -> Reply:
        body = request.json()
        ids, every = body.get("ids"), body.get("all", False)
        if not isinstance(every, bool):
            raise ApiError(400, "all: true or false", "all")
        if (ids is None) == (not every):
            raise ApiError(400, "ids: give ids or all: true (not both)", "ids")
        if ids is not None and not (
            isinstance(ids, list) and all(type(i) is int and 0 < i < 2**62 for i in ids)
        ):
            raise ApiError(400, "ids: a list of outbox row ids", "ids")
        done = self._ops.replay(None if every else ids)
        missing = sorted(set(ids or []) - set(done))
        return Reply({"replayed": done, "not_dead": missing})
