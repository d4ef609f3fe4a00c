"""The agent's result buttons on the ``/agent`` edge (issue 15 §2): who may give a result,
the form → ``campaigns.agent_results``, the verdict → ``Operations.dispose``.

    POST /agent/orders/{id}/result   the button's form → 200 the order (GET /agent/orders/{id})
    GET  /agent/result-options       what the page builds its buttons and picker from

Only the agent whose answered call awaits its verdict may give it: the order is
``awaiting_disposition`` and its last attempt was theirs. The same call's result a second
time is 409 (exactly once); anything else — another agent's order, an unknown one — is 403
alike, so ids cannot be probed. The session, CSRF and Origin checks stay with the resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from campaigns import wording
from campaigns.agent_results import ResultContext, ResultError, disposition_from_form
from dialer.agent_auth.scope import AWAITING, facts_of
from dialer.app.operations import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    Operations,
)
from dialer.storage.views import OrderViews
from dialer.web.agent.guard import unstorable_id
from dialer.web.api.errors import ApiError
from dialer.web.api.router import Reply, json_object

_ANSWERED = "answered"


class AgentResults:
    """The result route and its options for one campaign (``ops``' campaign)."""

    def __init__(self, views: OrderViews, ops: Operations) -> None:
        self._views = views
        self._ops = ops

    def options(self, order_id: str | None = None) -> Reply:
        """The refusal and invalid problems, the window and the calling days, as the
        campaign of ``order_id`` has them now (without one, or for an order it does not
        know: the service's first campaign's). A service with several campaigns may give
        them different problems and windows, so the page asks for the order it shows."""
        settings = self._ops.settings
        if order_id is not None and not unstorable_id(order_id):
            settings = self._ops.settings_for(order_id)
        return Reply({
            "refusal_problems": list(settings.refusal_problems),
            "invalid_problems": list(wording.INVALID_PROBLEMS),
            "window": {"start": settings.window.start.strftime("%H:%M"),
                       "end": settings.window.end.strftime("%H:%M")},
            "calling_days": settings.retry.calling_days,
        })  # fmt: skip

    def give(self, agent_id: str, order_id: str, body: bytes) -> Reply:
        """The signed-in ``agent_id``'s result for ``order_id``, from the JSON ``body``."""
        order = self._awaiting_verdict_of(agent_id, order_id)
        if self._ops.settings_for(order_id).disposition_source == "crm":
            raise ApiError(409, "this campaign takes results from the CRM (disposition_source "
                                "= crm): set the order's status there", "result")  # fmt: skip
        form = json_object(body)
        try:
            disposition = disposition_from_form(form, self._context(order, agent_id))
        except ResultError as exc:
            raise ApiError(400, str(exc), exc.field) from None
        try:
            self._ops.dispose(order_id, disposition)
        except NotFoundError as exc:
            raise ApiError(404, str(exc), exc.field or "id") from None
        except ConflictError as exc:
            raise ApiError(409, str(exc), exc.field or "id") from None
        except InvalidRequestError as exc:
            raise ApiError(400, str(exc), exc.field) from None
        return Reply(self._views.detail(order_id))

    def _awaiting_verdict_of(self, agent_id: str, order_id: str) -> Mapping[str, Any]:
        order = None if unstorable_id(order_id) else self._views.detail(order_id)
        facts = facts_of(order)
        if order is not None and facts is not None and facts.phase == AWAITING:
            if facts.current_agent == agent_id:
                return order
        elif order is not None and _last_answered_by(order, agent_id):
            raise ApiError(409, f"order {order_id!r} no longer awaits the result of your call: "
                                f"it is {_state(order)}; a result is given once", "id")  # fmt: skip
        raise ApiError(403, f"order {order_id!r} is not awaiting a result from agent "
                            f"{agent_id}", "id")  # fmt: skip

    def _context(self, order: Mapping[str, Any], agent_id: str) -> ResultContext:
        settings = self._ops.settings_for(str(order["id"]))  # the order's own campaign's
        zones = tuple(order.get("zones") or ()) or (settings.default_tz,)
        return ResultContext(
            order_id=str(order["id"]),
            zones=zones,
            horizon_start=date.fromisoformat(str(order["horizon_start"])),
            agent=agent_id,
            now=self._ops.now(),
            settings=settings,
            known_order=self._known,
        )

    def _known(self, order_id: str) -> bool:
        return not unstorable_id(order_id) and bool(self._views.search(order_id=order_id, limit=1))


def _last_answered_by(order: Mapping[str, Any], agent_id: str) -> bool:
    """The order's last attempt was this agent's answered call (its result already given)."""
    attempts = order.get("attempts") or ()
    if not attempts:
        return False
    last = attempts[-1]
    return bool(last.get("agent") == agent_id and last.get("result") == _ANSWERED)


def _state(order: Mapping[str, Any]) -> str:
    outcome = order.get("outcome")
    return str(order.get("phase")) + (f" ({outcome})" if outcome else "")
