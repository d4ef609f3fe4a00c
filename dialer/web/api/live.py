"""/api/v1/queue and /api/v1/calls/live: the queue by seed 001's tabs, the calls under way."""

from __future__ import annotations

from typing import Any

from campaigns.crm_results import no_result_after_s, no_result_reason
from campaigns.settings import CampaignSettings
from campaigns.tabs import TITLES
from dialer.app.operations import Operations
from dialer.storage.views import OrderViews
from dialer.web.api.router import READ, ApiRequest, Reply, Router


class LiveApi:
    """What the dashboard polls besides /campaign, /agents and /stats."""

    router = Router()

    def __init__(self, ops: Operations, views: OrderViews) -> None:
        self._ops = ops
        self._views = views

    @router.route(
        "GET",
        "/queue",
        READ,
        "Unfinished orders counted by the operator tabs of seed 001 (Новый, Быстрый "
        "перезвон, В работе, Недозвон за сегодня / вчера / позавчера, Недозвон (раньше))",
    )
    def queue(self, request: ApiRequest) -> Reply:
        del request
        counts = self._views.queue_tabs(self._ops.now(), self._ops.settings.default_tz)
        tabs = [
            {"tab": tab.value, "title": title, "count": counts[tab.value]}
            for tab, title in TITLES.items()
        ]
        return Reply({"tabs": tabs, "total": sum(counts.values())})

    @router.route(
        "GET",
        "/calls/awaiting-result",
        READ,
        "Answered calls still without their result, oldest first; `overdue` («нет "
        "результата», with its `reason`) after the campaign's wrap_up_max_s, or with "
        "disposition_source crm its crm_result_timeout_s (both: the later)",
    )
    def awaiting_result(self, request: ApiRequest) -> Reply:
        del request
        now, settings = self._ops.now(), self._ops.settings
        limit = no_result_after_s(settings)
        calls = [
            _overdue_by_its_campaign(call, self._ops.campaign_settings(call["campaign"]))
            for call in self._views.awaiting_result(now, limit)
        ]
        body = {
            "calls": calls,
            "overdue": sum(1 for call in calls if call["overdue"]),
            "wrap_up_max_s": settings.wrap_up_max_s,
            "no_result_after_s": limit,
            "disposition_source": settings.disposition_source,
            "at": now.isoformat(),
        }
        return Reply(body)

    @router.route("GET", "/calls/live", READ, "Calls under way: attempt, agent, order, since")
    def live(self, request: ApiRequest) -> Reply:
        del request
        return Reply({"calls": self._views.live_calls(), "at": self._ops.now().isoformat()})


def _overdue_by_its_campaign(call: dict[str, Any], settings: CampaignSettings) -> dict[str, Any]:
    """``call`` overdue, and why, by the limit of its own campaign (several campaigns may
    wait differently long: their ``wrap_up_max_s``, ``disposition_source``)."""
    overdue = call["waiting_s"] > no_result_after_s(settings)
    return {**call, "overdue": overdue, "reason": no_result_reason(settings) if overdue else None}
