"""Taking a server on: this node holds its lock now, so it adopts the calls a previous owner
left live, hears the server's agents and connects AMI."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from campaigns.settings import CampaignSettings
from dialer.ami.telephony import AmiAuthError, AmiUnavailable
from dialer.app.agent_events import AgentEvents
from dialer.app.agent_feed import AgentFeed
from dialer.app.auto_disposition import AutoDisposition
from dialer.app.node_role import ServerRole
from dialer.app.server_slot import ServerSlot
from dialer.dispatch.agents import AgentState
from dialer.dispatch.dispatcher import originate_request
from dialer.storage.engine import Database
from dialer.storage.order_admin import awaiting_disposition

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service


class ServerStarter:
    """``serve(slot)``: 0 when the server is served (AMI may come later), 1 when its AMI
    refused the login (the node stops)."""

    def __init__(
        self,
        campaign: CampaignSettings,
        *,
        node: str,
        engine: Database,
        auto_disposition: AutoDisposition,
        clock: Callable[[], datetime],
        wake: Callable[[], None],
        feed: AgentFeed,
    ) -> None:
        self._campaign, self._node, self._engine = campaign, node, engine
        self._auto, self._clock, self._wake = auto_disposition, clock, wake
        self._feed = feed

    async def serve(self, slot: ServerSlot) -> int:
        """This node owns the server now: adopt the server's live calls, connect AMI."""
        slot.move(ServerRole.SERVING)
        log.info("server %s: node %s owns it (campaign %s); recovering its live calls",
                 slot.name, self._node, self._campaign.name)  # fmt: skip
        self._recover(slot)
        events = AgentEvents(slot.agents, self._clock, self._wake)
        telephony = slot.telephony
        telephony.watch_agent_devices(self._campaign.agent_channel_template, events.device)
        telephony.watch_accepts(events.accepted)
        telephony.watch_accepts(self._feed.accepted)  # the agent's page shows the card
        telephony.watch_answers(self._feed.answered)
        await telephony.start()
        try:
            await telephony.wait_ready()
        except AmiAuthError as exc:
            log.error("AMI of server %s refused the login: %s", slot.name, exc)
            return 1
        except AmiUnavailable as exc:
            log.warning("AMI of server %s not ready yet (%s); dialling starts when it is",
                        slot.name, exc)  # fmt: skip
        self._wake()
        return 0

    def _recover(self, slot: ServerSlot) -> None:
        """Attempts a previous owner of this server left live are awaited again (found on
        Asterisk by ChannelId, or settled from AstDB at the first resync), each by its own
        campaign's dispatcher; their agents are busy. Other servers' attempts belong to
        their own owners."""
        live = slot.store.live_attempts()
        slot.agent_sync.load(self._clock(), busy={a.agent for a in live})
        for lane in slot.round.lanes:
            store = slot.stores.get(lane.name, slot.store)
            mine = live if len(slot.round.lanes) == 1 else store.live_attempts(own_campaign=True)
            lane.round.dispatcher.recover(mine)
            for attempt in mine:
                slot.agents.restore(attempt.agent, AgentState.ON_CALL, attempt.started_at)
                slot.telephony.adopt(originate_request(lane.settings, attempt),
                                     attempt.started_at)  # fmt: skip
                log.info("recovering attempt %s of order %s (agent %s, server %s, campaign %s)",
                         attempt.id, attempt.order_id, attempt.agent, slot.name,
                         lane.name)  # fmt: skip
        if not self._auto.enabled:
            return  # answered calls wait for their agent's verdict
        for lane in slot.round.lanes:
            for order_id in awaiting_disposition(self._engine, lane.name, slot.name):
                lane.round.dispose(order_id, self._clock())
