"""/api/v1/campaigns: the campaign catalog for ops (issue 21): list, show, create, change,
preview a change, pause, resume, archive, history and rollback.

Reading is READ (any token, a supervisor). Writing, and the preview, is OPS: an ops token
or a signed-in supervisor, the people who configure campaigns (business-rules §1); a crm or
viewer token and an agent's session get 403. The author of a version is recorded as
``supervisor:<login>`` or ``token:<name>``. Every value goes through the campaign file's
loader: a bad one is a 400 whose ``field`` names it (``campaign.window.start``) and nothing
is written; a stale ``expected_version`` is a 409; an unknown name a 404.
"""

from __future__ import annotations

import json
from typing import Any

from campaigns.preview import Preview
from dialer.app.campaign_edits import CampaignEdits, Change, VersionView
from dialer.app.operations import Operations
from dialer.catalog.ports import CampaignCatalog, CampaignEntry
from dialer.storage.catalog import SqlCampaignCatalog
from dialer.storage.engine import Database
from dialer.storage.queued import SqlQueuedOrders
from dialer.web.api import fields
from dialer.web.api.errors import ApiError
from dialer.web.api.router import OPS, READ, ApiRequest, Reply, Router

SETTINGS = {
    "type": "object",
    "description": "the [campaign] table of the campaign file as JSON (times 'HH:MM', "
    "dates 'YYYY-MM-DD', weekdays 0-6 or 'mon'...'sun'); see config/campaign.example.toml",
}
CREATE_BODY = {"type": "object", "required": ["settings"], "properties": {"settings": SETTINGS}}
CHANGE_BODY = {
    "type": "object",
    "required": ["changes"],
    "properties": {
        "changes": {**SETTINGS, "description": "the fields to change; nested tables merge"},
        "expected_version": {"type": "integer", "description": "409 when not the current one"},
    },
}
PAUSE_BODY = {
    "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}},
}  # fmt: skip
ROLLBACK_BODY = {
    "type": "object", "required": ["version"], "properties": {"version": {"type": "integer"}},
}  # fmt: skip
ONE = "/campaigns/{name}"


class CampaignCatalogApi:
    """Every campaign of the catalog, by name (any script; URL-encoded in the path)."""

    router = Router()

    def __init__(self, edits: CampaignEdits) -> None:
        self._edits = edits

    @router.route("GET", "/campaigns", READ,
                  "Campaigns: state and version (archived: ?all=1); a new one's defaults",
                  query=(("all", "1: archived ones too"),))  # fmt: skip
    def list(self, request: ApiRequest) -> Reply:
        archived = request.query.get("all") == "1"
        entries = self._edits.entries(include_archived=archived)
        return Reply({"campaigns": [_entry(e, settings=False) for e in entries],
                      "defaults": self._edits.defaults()})  # a new campaign's form  # fmt: skip

    @router.route("GET", ONE, READ, "One campaign: state, version and settings")
    def show(self, request: ApiRequest) -> Reply:
        return Reply(_entry(self._edits.get(request.params["name"])))

    @router.route("POST", "/campaigns", OPS, "Create a campaign (version 1, active)",
                  body=CREATE_BODY)  # fmt: skip
    def create(self, request: ApiRequest) -> Reply:
        settings = _table(request.json(), "settings")
        return Reply(_entry(self._edits.create(settings, _author(request))), 201)

    @router.route("PATCH", ONE, OPS, "Change settings: a new version", body=CHANGE_BODY)
    def change(self, request: ApiRequest) -> Reply:
        body = request.json()
        changes, expected = _table(body, "changes"), _version(body, "expected_version")
        entry = self._edits.change(request.params["name"], changes, _author(request), expected)
        return Reply(_entry(entry))

    @router.route("POST", ONE + "/preview", OPS, "What a change would do; writes nothing",
                  body=CHANGE_BODY)  # fmt: skip
    def preview(self, request: ApiRequest) -> Reply:
        changes = _table(request.json(), "changes")
        return Reply(_preview(self._edits.preview(request.params["name"], changes)))

    @router.route("POST", ONE + "/pause", OPS, "Pause the campaign", body=PAUSE_BODY)
    def pause(self, request: ApiRequest) -> Reply:
        reason = fields.text(request.json(), "reason")
        entry = self._edits.set_state(request.params["name"], "paused", _author(request), reason)
        return Reply(_entry(entry))

    @router.route("POST", ONE + "/resume", OPS, "Dial the campaign again (also unarchives)")
    def resume(self, request: ApiRequest) -> Reply:
        return Reply(_entry(self._edits.set_state(request.params["name"], "active",
                                                  _author(request))))  # fmt: skip

    @router.route("POST", ONE + "/archive", OPS, "Archive the campaign (no more dialling)")
    def archive(self, request: ApiRequest) -> Reply:
        return Reply(_entry(self._edits.set_state(request.params["name"], "archived",
                                                  _author(request))))  # fmt: skip

    @router.route("GET", ONE + "/history", READ, "Versions, newest first, with changed fields")
    def history(self, request: ApiRequest) -> Reply:
        views = self._edits.history(request.params["name"])
        return Reply({"name": request.params["name"], "versions": [_view(v) for v in views]})

    @router.route("POST", ONE + "/rollback", OPS, "A new version with an old one's settings",
                  body=ROLLBACK_BODY)  # fmt: skip
    def rollback(self, request: ApiRequest) -> Reply:
        version = _version(request.json(), "version", required=True)
        assert version is not None  # noqa: S101 - required above
        return Reply(_entry(self._edits.rollback(request.params["name"], version,
                                                 _author(request))))  # fmt: skip


def campaign_edits(
    engine: Database, ops: Operations, catalog: CampaignCatalog | None, crm_kind: object = None
) -> CampaignEdits:
    """The editor's service over ``catalog`` (none: the database's catalog) and the
    database's queued orders, on the service's clock; ``crm_kind`` picks a new campaign's
    defaults as the service file's ``[crm] kind`` does."""
    queued = SqlQueuedOrders(engine).of_campaign
    return CampaignEdits(catalog or SqlCampaignCatalog(engine), queued, ops.now,
                         crm_kind=crm_kind)  # fmt: skip


def _author(request: ApiRequest) -> str:
    caller = request.caller
    return f"{caller.kind}:{caller.name}"  # supervisor:<login> or token:<name>


def _table(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise ApiError(400, f"{name}: required, a JSON object of settings", name)
    return value


def _version(body: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ApiError(400, f"{name}: a version number (1 or more)", name)
    return value


def _entry(entry: CampaignEntry, *, settings: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": entry.name,
        "state": entry.state,
        "paused_reason": entry.paused_reason,
        "version": entry.version,
        "updated_at": entry.updated_at.isoformat(),
        "updated_by": entry.updated_by,
    }
    if settings:
        data["settings"] = json.loads(entry.settings_json)
    return data


def _view(view: VersionView) -> dict[str, Any]:
    v = view.version
    return {
        "version": v.version,
        "author": v.author,
        "note": v.note,
        "created_at": v.created_at.isoformat(),
        "changes": [_change(c) for c in view.changes],
    }


def _change(change: Change) -> dict[str, Any]:
    return {"field": change.field, "before": change.before, "after": change.after}


def _preview(preview: Preview) -> dict[str, Any]:
    return {
        "queued": preview.queued,
        "callable_now_before": preview.callable_now_before,
        "callable_now_after": preview.callable_now_after,
        "become_callable_now": preview.become_callable_now,
        "stop_now": preview.stop_now,
        "move_to_later_day": preview.move_to_later_day,
        "brought_forward": preview.brought_forward,
        "sentences": list(preview.sentences),
        "text": " ".join(preview.sentences),
    }
