"""The campaigns one service dials, as the composition root hands them on.

The root takes the list of ``CampaignSettings`` it is given (today the service file's,
``ServiceConfig.campaigns``; later the campaign catalog's) and asks this object for what
each part needs: the first campaign (the singular routes, the leader lock, the pool's
timers), the offer order, each campaign's intake filter, the servers agents are placed on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from campaigns.settings import CampaignSettings
from crm_adapter.port import IntakeFilter
from dialer.dispatch.campaign_offer import offer_order


class CampaignSet:
    """The service's campaigns: ``first`` is the file's first, ``ordered`` the offer order."""

    def __init__(self, campaigns: Sequence[CampaignSettings]) -> None:
        if not campaigns:
            raise ValueError("campaigns: a service dials at least one campaign")
        names = [c.name for c in campaigns]
        if len(set(names)) != len(names):
            raise ValueError(f"campaigns: a name is given twice in {names}")
        self.all = tuple(campaigns)
        self.first = campaigns[0]
        self.ordered = tuple(offer_order(campaigns))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.all)

    @property
    def several(self) -> bool:
        return len(self.all) > 1

    def intakes(
        self, intake_filter: Callable[[CampaignSettings], IntakeFilter]
    ) -> IntakeFilter | Mapping[str, IntakeFilter]:
        """The one campaign's filter, or with several each one's by name in the offer order
        (the first that admits an order takes it)."""
        if not self.several:
            return intake_filter(self.first)
        return {c.name: intake_filter(c) for c in self.ordered}

    def poll_intakes(
        self, intake_filter: Callable[[CampaignSettings], IntakeFilter]
    ) -> Mapping[str, IntakeFilter] | None:
        """What the CRM poll pulls with: None for one campaign (its own filter)."""
        found = self.intakes(intake_filter)
        return found if isinstance(found, Mapping) else None

    def agent_servers(self, servers_of: Callable[[str], set[str]]) -> Callable[[], set[str]]:
        """The servers the agents of any of the campaigns are placed on (the leader's look
        for unserved servers)."""
        return lambda: set().union(*(servers_of(c.name) for c in self.all))
