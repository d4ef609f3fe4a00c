"""An agent changes its own state from the page, through the same ``Operations.agent`` as
the ops API and the CLI: ready, a pause with a reason from the campaign's
``pause_reasons``, or logged out (no more calls until ready again).

An agent who owes the result of an answered call cannot make itself ready before giving
it: the rules offer no new call until the result is in (business-rules §7), and that holds
after the dialer paused the agent with «нет результата» too.
"""

from __future__ import annotations

from typing import Any

from dialer.app.operations import Operations
from dialer.storage.views import OrderViews
from dialer.web.api import fields
from dialer.web.api.errors import ApiError

_STATES = ("ready", "pause", "logout")


def change_state(ops: Operations, views: OrderViews, agent_id: str, body: dict[str, Any]) -> None:
    """Apply the page's ``{"state", "reason"}``; 400/409 naming the field when refused."""
    state = fields.choice(body, "state", _STATES)
    if state == "pause":
        reasons = ops.settings.pause_reasons
        reason = fields.choice(body, "reason", reasons)
        ops.agent("pause", agent_id, reason, by=agent_id)
        return
    if state == "ready":
        owed = owed_results(views, ops, agent_id)
        if owed:
            raise ApiError(409, f"give the result of order {owed[0]} first: no new call is "
                                "offered before it", "state")  # fmt: skip
        ops.agent("login", agent_id, by=agent_id)
        return
    ops.agent("logout", agent_id, by=agent_id)


def owed_results(views: OrderViews, ops: Operations, agent_id: str) -> list[str]:
    """The orders whose answered call by ``agent_id`` still waits for its result from the
    agent: none of a campaign that takes its results from the CRM only (each order's own
    campaign decides, in a service with several)."""
    waiting = views.awaiting_result(ops.now(), ops.settings.wrap_up_max_s)
    return [
        row["order_id"]
        for row in waiting
        if row["agent"] == agent_id
        and ops.campaign_settings(row["campaign"]).disposition_source != "crm"
    ]


def session_extras(ops: Operations, views: OrderViews, agent_id: str) -> dict[str, Any]:
    """What the page needs beside the session: the pause reasons and the owed results."""
    return {
        "pause_reasons": list(ops.settings.pause_reasons),
        "awaiting_result": owed_results(views, ops, agent_id),
        "crm_link": ops.order_url is not None,
        "disposition_source": ops.settings.disposition_source,
    }
