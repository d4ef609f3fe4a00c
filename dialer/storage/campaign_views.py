"""The read models of a service with several campaigns: what is asked by order id is read
in the order's own campaign (a shared agent's card, its result's check, the ops API's order
and card), the live lists (calls under way, answered calls awaiting a result, an agent's
callbacks) over every campaign of the service; the rest (stats, queue, reports, metrics)
stay the first campaign's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from dialer.storage.card import OrderCards
from dialer.storage.numbering import SqlNumberingLookup
from dialer.storage.order_admin import campaign_of
from dialer.storage.views import OrderViews


def order_views(engine: Engine, campaigns: Sequence[str]) -> OrderViews:
    """``OrderViews`` of the one campaign, or ``ServiceOrderViews`` over several."""
    if len(campaigns) == 1:
        return OrderViews(engine, campaigns[0])
    return ServiceOrderViews(engine, campaigns)


def order_cards(
    engine: Engine, campaigns: Sequence[str], *, order_url: str | None = None
) -> OrderCards:
    """``OrderCards`` of the one campaign, or ``ServiceOrderCards`` over several."""
    numbering = SqlNumberingLookup(engine)
    if len(campaigns) == 1:
        return OrderCards(engine, campaigns[0], numbering=numbering, order_url=order_url)
    return ServiceOrderCards(engine, campaigns, numbering=numbering, order_url=order_url)


class ServiceOrderViews(OrderViews):
    """``OrderViews`` of the first campaign, but an order asked by id is read in its own
    campaign, and an agent's callbacks, the calls under way and the answered calls awaiting
    a result are those of every campaign."""

    def __init__(self, engine: Engine, campaigns: Sequence[str]) -> None:
        super().__init__(engine, campaigns[0])
        self._engine_all = engine
        self._each = {name: OrderViews(engine, name) for name in campaigns}

    def _of(self, order_id: str) -> OrderViews | None:
        return self._each.get(campaign_of(self._engine_all, order_id) or "")

    def detail(self, order_id: str) -> dict[str, Any] | None:
        views = self._of(order_id)
        return None if views is None else OrderViews.detail(views, order_id)

    def search(
        self, *, e164: str | None = None, order_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        if order_id is None:  # by phone, or the newest: every campaign's, newest first
            rows = [
                row
                for views in self._each.values()
                for row in OrderViews.search(views, e164=e164, limit=limit)
            ]
            rows.sort(key=lambda row: row["id"])
            rows.sort(key=lambda row: datetime.fromisoformat(row["created_at"]), reverse=True)
            return rows[:limit]
        views = self._of(order_id)
        return [] if views is None else OrderViews.search(views, e164=e164, order_id=order_id,
                                                          limit=limit)  # fmt: skip

    def owned_callbacks(self, agent: str) -> list[dict[str, Any]]:
        every = self._each.values()
        return [row for views in every for row in OrderViews.owned_callbacks(views, agent)]

    def live_calls(self) -> list[dict[str, Any]]:
        rows = [row for views in self._each.values() for row in OrderViews.live_calls(views)]
        return sorted(rows, key=lambda row: (datetime.fromisoformat(row["started_at"]), row["id"]))

    def awaiting_result(self, now: datetime, overdue_after_s: int) -> list[dict[str, Any]]:
        rows = [
            row
            for views in self._each.values()
            for row in OrderViews.awaiting_result(views, now, overdue_after_s)
        ]
        return sorted(rows, key=lambda row: (-row["waiting_s"], row["order_id"]))


class ServiceOrderCards(OrderCards):
    """``OrderCards`` that read each order's card in the order's own campaign."""

    def __init__(
        self,
        engine: Engine,
        campaigns: Sequence[str],
        *,
        numbering: SqlNumberingLookup | None = None,
        order_url: str | None = None,
    ) -> None:
        super().__init__(engine, campaigns[0], numbering=numbering, order_url=order_url)
        self._engine_all = engine
        self._each = {
            name: OrderCards(engine, name, numbering=numbering, order_url=order_url)
            for name in campaigns
        }

    def card(self, order_id: str, now: datetime, *, default_tz: str) -> dict[str, Any] | None:
        cards = self._each.get(campaign_of(self._engine_all, order_id) or "")
        return None if cards is None else OrderCards.card(cards, order_id, now,
                                                          default_tz=default_tz)  # fmt: skip
