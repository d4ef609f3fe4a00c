"""/api/v1/campaign: the running campaign; pause and resume dialling; change its settings.

One service runs one campaign; its settings live in the database (the campaign catalog,
docs/campaigns.md), so a change here is a new version that every node follows.
"""

from __future__ import annotations

import json
from typing import Any

from dialer.app.operations import Operations, settings_mapping
from dialer.storage.campaigns import CampaignRecord
from dialer.web.api import fields
from dialer.web.api.router import OPS, READ, ApiRequest, Reply, Router

PAUSE_BODY = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string"}},
}
SETTINGS_BODY = {
    "type": "object",
    "description": "the [campaign] table of the campaign file as JSON (times 'HH:MM', "
    "dates 'YYYY-MM-DD'); see config/campaign.example.toml",
}


class CampaignApi:
    """The campaign this service dials."""

    router = Router()

    def __init__(self, ops: Operations) -> None:
        self._ops = ops

    @router.route("GET", "/campaign", READ, "The running campaign: paused?, settings")
    def show(self, request: ApiRequest) -> Reply:
        del request
        return self._reply(self._ops.campaign_record())

    @router.route(
        "POST",
        "/campaign/pause",
        OPS,
        "Stop originating new calls (calls in progress finish)",
        body=PAUSE_BODY,
    )
    def pause(self, request: ApiRequest) -> Reply:
        return self._reply(self._ops.pause(fields.text(request.json(), "reason") or ""))

    @router.route("POST", "/campaign/resume", OPS, "Dial again")
    def resume(self, request: ApiRequest) -> Reply:
        del request
        return self._reply(self._ops.resume())

    @router.route(
        "PUT",
        "/campaign/settings",
        OPS,
        "Replace the settings (missing keys take their defaults); saved as a new version in "
        "the database, which every node follows at its next round",
        body=SETTINGS_BODY,
    )
    def replace(self, request: ApiRequest) -> Reply:
        return self._reply(
            self._ops.change_settings(request.json(), replace=True, by=_author(request))
        )

    @router.route(
        "PATCH",
        "/campaign/settings",
        OPS,
        "Change some settings (nested tables merge); saved as a new version in the database, "
        "which every node follows at its next round",
        body=SETTINGS_BODY,
    )
    def patch(self, request: ApiRequest) -> Reply:
        return self._reply(
            self._ops.change_settings(request.json(), replace=False, by=_author(request))
        )

    def _reply(self, record: CampaignRecord) -> Reply:
        data: dict[str, Any] = {
            "name": record.name,
            "paused": record.paused,
            "paused_reason": record.paused_reason,
            "updated_at": record.updated_at.isoformat(),
            "settings": settings_mapping(self._ops.settings),
            "stored_settings": json.loads(record.settings_json or "{}"),
        }
        return Reply(data)


def _author(request: ApiRequest) -> str:
    """Who saved a settings version: ``supervisor:<id>`` or ``token:<name>``."""
    caller = request.caller
    return f"{caller.kind}:{caller.name}"
