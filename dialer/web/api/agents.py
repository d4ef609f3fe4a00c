"""/api/v1/agents: the campaign's agents and their states; log in, log out, pause, resume."""

from __future__ import annotations

from dialer.app.operations import Operations
from dialer.commands.agents import as_json
from dialer.storage.agents import Change, SqlAgentRegistry
from dialer.web.api import fields
from dialer.web.api.router import OPS, READ, ApiRequest, Reply, Router

PAUSE_BODY = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "description": "shown to ops"}},
}


class AgentsApi:
    """Agents through ``SqlAgentRegistry``; the running service follows the table."""

    router = Router()

    def __init__(self, ops: Operations, registry: SqlAgentRegistry) -> None:
        self._ops = ops
        self._registry = registry

    @router.route("GET", "/agents", READ, "The campaign's agents with their states")
    def list(self, request: ApiRequest) -> Reply:
        del request
        return Reply({"agents": [as_json(a) for a in self._registry.all(self._ops.campaign)]})

    @router.route(
        "POST",
        "/agents/{id}/login",
        OPS,
        "Log in (also lifts a pause)",
        responses={"404": "unknown agent"},
    )
    def login(self, request: ApiRequest) -> Reply:
        return _change(self._ops.agent("login", request.params["id"]))

    @router.route(
        "POST",
        "/agents/{id}/logout",
        OPS,
        "Log out (after the call in progress)",
        responses={"404": "unknown agent"},
    )
    def logout(self, request: ApiRequest) -> Reply:
        return _change(self._ops.agent("logout", request.params["id"]))

    @router.route(
        "POST",
        "/agents/{id}/pause",
        OPS,
        "Pause with a reason",
        body=PAUSE_BODY,
        responses={"404": "unknown agent", "409": "logged out"},
    )
    def pause(self, request: ApiRequest) -> Reply:
        reason = fields.text(request.json(), "reason")
        return _change(self._ops.agent("pause", request.params["id"], reason))

    @router.route(
        "POST",
        "/agents/{id}/resume",
        OPS,
        "Lift a pause (misses forgiven)",
        responses={"404": "unknown agent"},
    )
    def resume(self, request: ApiRequest) -> Reply:
        return _change(self._ops.agent("resume", request.params["id"]))


def _change(change: Change) -> Reply:
    return Reply(
        {
            "agent": as_json(change.after),
            "before": change.before.state.value,
            "changed": change.changed,
            "after_current_call": change.changed and change.before.busy,
        }
    )
