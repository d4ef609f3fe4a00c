"""/api/v1/orders/{id}/why: «почему не звоним?» for one order (issue 19). SUPERVISE: ops
tokens and signed-in supervisors; viewer and CRM tokens and agents' sessions get 403. Each
look-up is written to the supervision audit log (action "why")."""

from __future__ import annotations

from dialer.app.operations import Operations
from dialer.app.supervision import Actor
from dialer.app.why import WhyLive, WhyService
from dialer.storage.audit import SqlAuditLog
from dialer.storage.engine import Database
from dialer.storage.numbering import SqlNumberingLookup
from dialer.storage.why import SqlWhyReads
from dialer.web.api.router import SUPERVISE, ApiRequest, Reply, Router


class WhyApi:
    router = Router()

    def __init__(self, why: WhyService) -> None:
        self._why = why

    @router.route(
        "GET",
        "/orders/{id}/why",
        SUPERVISE,
        "Why the order is or is not being called now, in plain Russian (sentences) and as "
        "data: its zones and where they came from, the calling window there, the next due "
        "time and why, its place in the queue, or its final outcome; audited (action why)",
        responses={"404": "unknown order"},
    )
    def why(self, request: ApiRequest) -> Reply:
        caller = request.caller
        answer = self._why.explain(request.params["id"], Actor(caller.name, caller.kind))
        return Reply(answer.as_json())


def why_service(engine: Database, ops: Operations, live: WhyLive | None) -> WhyService:
    """The running campaign's WhyService, audited, with the numbering plan in ``engine``."""
    return WhyService(SqlWhyReads(engine, ops.campaign), settings=lambda: ops.settings,
                      clock=ops.now, numbering=SqlNumberingLookup(engine), live=live,
                      audit=SqlAuditLog(engine))  # fmt: skip
