"""Several campaigns on one server: who is offered what, and how many calls each may start.

The stated rule (docs/campaigns.md, "Several campaigns in one service"): at each round the
campaigns are dispatched in ``offer_order`` (``priority``, 1 first, then name); each offers
its due orders to its free member agents, longest idle first. One ``AgentPool`` per server
is shared by the campaigns, so an agent is never offered two calls at once; a campaign sees
it through ``dialer.dispatch.members.MemberAgents``, the pool restricted to the agents the
campaign names. A free shared agent therefore gets the due order of the first campaign in
that order that has one.

Caps hold together (``CampaignRounds``): each campaign's own ``lines`` on the server, the
server's line cap over every campaign, and the pacer (cps, the carrier's limit) that all
campaigns' rounds draw from. Pure: every method takes ``now``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from campaigns.calls import CallReport
from campaigns.settings import CampaignSettings
from dialer.dispatch.round import DialRound


def offer_order(campaigns: Iterable[CampaignSettings]) -> list[CampaignSettings]:
    """The order in which campaigns offer their due orders at each round: ``priority``
    (1 first), then name. The same order decides which campaign takes an order that several
    campaigns' intake filters admit (the first)."""
    return sorted(campaigns, key=lambda c: (c.priority, c.name))


@dataclass(frozen=True, slots=True)
class Lane:
    """One campaign on one server: its settings and its dial round."""

    settings: CampaignSettings
    round: DialRound

    @property
    def name(self) -> str:
        return self.settings.name


def line_room(lane_live: int, lane_lines: int, server_live: int, server_cap: int) -> int:
    """How many more calls a campaign may start on a server: its own ``lines`` less its
    live calls there, and the server's cap less every campaign's live calls there."""
    return max(0, min(lane_lines - lane_live, server_cap - server_live))


class CampaignRounds:
    """The rounds of a server's campaigns, run in ``offer_order``; reports and dispositions
    reach the campaign whose dispatcher owns the attempt or order."""

    def __init__(self, lanes: Sequence[Lane]) -> None:
        by_rule = {lane.settings.name: lane for lane in lanes}
        self.lanes: tuple[Lane, ...] = tuple(
            by_rule[c.name] for c in offer_order(lane.settings for lane in lanes)
        )

    @property
    def kept(self) -> int:
        return sum(lane.round.kept for lane in self.lanes)

    @property
    def started(self) -> int:
        return sum(lane.round.started for lane in self.lanes)

    def run(self, now: datetime) -> datetime | None:
        """Every campaign's round at ``now``, first in offer order first; returns the
        earliest time one of them next has work."""
        wakes = [lane.round.run(now) for lane in self.lanes]
        due = [at for at in wakes if at is not None]
        return min(due) if due else None

    def lane_of_attempt(self, attempt_id: str) -> Lane | None:
        for lane in self.lanes:
            if lane.round.dispatcher.has_live(attempt_id):
                return lane
        return None

    def on_report(self, report: CallReport) -> bool:
        """Apply a report in the campaign that started the attempt (the first campaign's
        round logs an attempt nobody knows)."""
        lane = self.lane_of_attempt(report.attempt_id) or self.lanes[0]
        return lane.round.on_report(report)

    def lane(self, campaign: str) -> Lane:
        for lane in self.lanes:
            if lane.name == campaign:
                return lane
        raise KeyError(f"no campaign {campaign!r} on this server")

    def each(self, call: Callable[[Lane], None]) -> None:
        for lane in self.lanes:
            call(lane)
