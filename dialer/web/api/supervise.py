"""/api/v1/calls/{attempt_id}/listen and /api/v1/audit: listen, whisper, barge and their
audit log (issue 19). Both need SUPERVISE: ops tokens and signed-in supervisors hold it,
viewer and CRM tokens do not (403), nor do agents' sessions."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialer.app.supervision import Actor, Mode, Supervision, parse_bound
from dialer.web.api.router import SUPERVISE, ApiRequest, Reply, Router

LISTEN_BODY = {
    "type": "object",
    "required": ["mode"],
    "properties": {"mode": {"type": "string", "enum": [m.value for m in Mode]}},
}
DEFAULT_DAYS = 7


class SuperviseApi:
    router = Router()

    def __init__(self, supervision: Supervision, zone: str) -> None:
        self._supervision = supervision
        self._zone = ZoneInfo(zone)

    @router.route(
        "POST",
        "/calls/{attempt_id}/listen",
        SUPERVISE,
        "Listen to (listen), whisper to the agent on (whisper) or barge into (barge) a live "
        "call: the dialer rings the signed-in supervisor's own extension and runs ChanSpy on "
        "the agent's channel (options q, qw, qB). 202 when the phone is being rung; 409 when "
        "the call is not live or the caller has no extension; written to the audit log",
        body=LISTEN_BODY,
        responses={"202": "the supervisor's phone is being rung", "409": "not live, no phone"},
    )
    def listen(self, request: ApiRequest) -> Reply:
        mode = request.json().get("mode")
        caller = request.caller
        done = self._supervision.listen(Actor(caller.name, caller.kind),
                                        request.params["attempt_id"], mode)  # fmt: skip
        return Reply(done, 202)

    @router.route(
        "GET",
        "/audit",
        SUPERVISE,
        "The supervision audit log, newest first (at most 1000 rows): who listened to, "
        "whispered on or barged into whose call, when, accepted or refused; supervisors' "
        "sign-in and sign-out",
        query=(
            ("since", "YYYY-MM-DD (the campaign's zone) or ISO 8601 with offset; default "
             "7 days ago"),
            ("until", "YYYY-MM-DD (inclusive) or ISO 8601 with offset; default none"),
        ),
    )  # fmt: skip
    def audit(self, request: ApiRequest) -> Reply:
        now = self._supervision.now()
        since = self._bound(request, "since", end=False)
        if since is None:
            since = now - timedelta(days=DEFAULT_DAYS)
        until = self._bound(request, "until", end=True)
        entries = self._supervision.entries(since, until)
        return Reply({
            "entries": [entry.as_json() for entry in entries],
            "since": since.isoformat(timespec="seconds"),
            "until": None if until is None else until.isoformat(timespec="seconds"),
        })  # fmt: skip

    def _bound(self, request: ApiRequest, name: str, *, end: bool) -> datetime | None:
        value = request.query.get(name)
        return None if value is None else parse_bound(value, name, self._zone, end=end)
