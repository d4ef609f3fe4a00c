"""/api/v1/agents: the campaign's agents and their states; log in, log out, pause, resume;
set an agent's workspace password."""

from __future__ import annotations

from dialer.agent_auth.passwords import PasswordRuleError
from dialer.agent_auth.service import AgentAuth
from dialer.app.operations import Operations
from dialer.commands.agents import as_json
from dialer.storage.agents import Change, SqlAgentRegistry, UnknownAgentError
from dialer.web.api import fields
from dialer.web.api.errors import ApiError
from dialer.web.api.router import OPS, READ, ApiRequest, Reply, Router

PAUSE_BODY = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "description": "shown to ops"}},
}
PASSWORD_BODY = {
    "type": "object",
    "required": ["password"],
    "properties": {"password": {"type": "string", "minLength": 8, "description": "never shown"}},
}


class AgentsApi:
    """Agents through ``SqlAgentRegistry``; the running service follows the table."""

    router = Router()

    def __init__(self, ops: Operations, registry: SqlAgentRegistry, auth: AgentAuth) -> None:
        self._ops = ops
        self._registry = registry
        self._auth = auth

    @router.route("GET", "/agents", READ, "The campaign's agents with their states")
    def list(self, request: ApiRequest) -> Reply:
        del request  # every campaign's of the service (an agent's row names its home one)
        rows = [a for name in self._ops.campaigns for a in self._registry.all(name)]
        return Reply({"agents": [as_json(a) for a in sorted(rows, key=lambda a: a.id)]})

    @router.route(
        "POST",
        "/agents/{id}/login",
        OPS,
        "Log in (also lifts a pause)",
        responses={"404": "unknown agent"},
    )
    def login(self, request: ApiRequest) -> Reply:
        return _change(self._ops.agent("login", request.params["id"], by=_by(request)))

    @router.route(
        "POST",
        "/agents/{id}/logout",
        OPS,
        "Log out (after the call in progress)",
        responses={"404": "unknown agent"},
    )
    def logout(self, request: ApiRequest) -> Reply:
        return _change(self._ops.agent("logout", request.params["id"], by=_by(request)))

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
        return _change(self._ops.agent("pause", request.params["id"], reason, by=_by(request)))

    @router.route(
        "POST",
        "/agents/{id}/resume",
        OPS,
        "Lift a pause (misses forgiven)",
        responses={"404": "unknown agent"},
    )
    def resume(self, request: ApiRequest) -> Reply:
        return _change(self._ops.agent("resume", request.params["id"], by=_by(request)))

    @router.route(
        "POST",
        "/agents/{id}/password",
        OPS,
        "Set the agent's workspace password (its sessions end)",
        body=PASSWORD_BODY,
        responses={"400": "too short", "404": "unknown agent"},
    )
    def password(self, request: ApiRequest) -> Reply:
        password = request.json().get("password")
        if not isinstance(password, str):
            raise ApiError(400, "password: required, a string of at least 8 characters", "password")
        agent_id = request.params["id"]
        try:
            ended = self._auth.set_password(agent_id, password)
        except PasswordRuleError as exc:
            raise ApiError(400, str(exc), "password") from None
        except UnknownAgentError as exc:
            raise ApiError(404, str(exc), "id") from None
        return Reply({"agent": agent_id, "password_set": True, "sessions_ended": ended})


def _change(change: Change) -> Reply:
    return Reply(
        {
            "agent": as_json(change.after),
            "before": change.before.state.value,
            "changed": change.changed,
            "after_current_call": change.changed and change.before.busy,
        }
    )


def _by(request: ApiRequest) -> str:
    """Who changed the agent's state, for its history: a supervisor's id, else "ops"."""
    caller = request.caller
    return caller.name if caller.kind == "supervisor" else "ops"
