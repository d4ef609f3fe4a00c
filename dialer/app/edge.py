"""The node's web edge on Twisted (installed on the asyncio loop by ``run_service``):
/intake, /healthz, /metrics, /api/v1 and the dashboard, and the start-up banner."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campaigns.orders import Order
from crm_adapter.http_json import IntakeHandler
from crm_adapter.retailcrm_telephony import RetailCrmTelephonySettings
from crm_adapter.signing import SeenEvents
from dialer.agent_auth.service import AgentAuth
from dialer.app.agent_feed import AgentFeed
from dialer.app.lock_watch import LockSupervisor
from dialer.app.operations import Operations
from dialer.app.server_slot import ServerSlots
from dialer.app.why import WhyLive
from dialer.config.service import ServiceSettings
from dialer.delivery.outbox import OutboxWorker
from dialer.storage.engine import Database

if TYPE_CHECKING:
    from dialer.web.metrics import LatencyHistogram

log = logging.getLogger("dialer.service")  # the log lines ops grep name the service


class WebEdge:
    """``listen`` opens the port (``url`` then says where), ``stop`` closes it."""

    def __init__(
        self,
        settings: ServiceSettings,
        campaign: str,
        *,
        engine: Database,
        ops: Operations,
        slots: ServerSlots,
        locks: LockSupervisor,
        outbox: OutboxWorker,
        latency: LatencyHistogram,
        accept: Callable[[list[Order]], int],
        health: Callable[[], tuple[bool, Mapping[str, Any]]],
        clock: Callable[[], datetime],
        agent_auth: AgentAuth,
        feed: AgentFeed,
        telephony: RetailCrmTelephonySettings | None = None,
        held: Callable[[str], str | None] | None = None,
        crm_kind: object = None,
    ) -> None:
        self._settings, self._campaign, self._engine, self._ops = settings, campaign, engine, ops
        self._slots, self._locks, self._outbox, self._latency = slots, locks, outbox, latency
        self._accept, self._health, self._clock = accept, health, clock
        self._agent_auth, self._feed, self._telephony = agent_auth, feed, telephony
        self._held = held  # the CRM re-check's hold on an order, for «почему не звоним?»
        self._crm_kind = crm_kind  # a new campaign's defaults in the editor (RetailCRM's codes)
        self._listening: Any = None
        self.url = ""

    def listen(self) -> None:
        from twisted.internet import reactor  # noqa: PLC0415 - installed in run_service

        from dialer.app.supervision import SlotSpy  # noqa: PLC0415
        from dialer.recordings.files import RecordingFiles  # noqa: PLC0415
        from dialer.web import site as web  # noqa: PLC0415
        from dialer.web.api.app import build_api  # noqa: PLC0415
        from dialer.web.supervisor import build_supervisors  # noqa: PLC0415

        secret = self._settings.intake_secret
        handler = None if secret is None else IntakeHandler(secret, SeenEvents())
        supervisors = build_supervisors(self._engine, self._ops, self._agent_auth,
                                        SlotSpy(self._slots),
                                        secure=self._settings.agent_cookie_secure)  # fmt: skip
        files = RecordingFiles(Path(self._settings.recordings_dir),
                               self._settings.recordings_retention_days)  # fmt: skip
        why = WhyLive(line_cap=self._settings.campaign_lines, held=self._held)
        api = build_api(self._engine, self._ops, self._agent_auth, supervisors,
                        recordings=files, why=why, reactor=reactor,
                        crm_kind=self._crm_kind)  # fmt: skip
        extra = {b"api": api,
                 b"metrics": self._metrics(), b"agent": self._agent(reactor),
                 b"supervisor": supervisors.resource}  # fmt: skip
        if self._telephony is not None:  # RetailCRM's telephony module calls these
            from dialer.web.retailcrm_telephony import build_telephony  # noqa: PLC0415

            extra[b"retailcrm"] = build_telephony(self._telephony, self._ops, self._engine,
                                                  self._clock)  # fmt: skip
        site = web.build_site(reactor, handler, self._accept, self._health, self._clock,
                              extra=extra)  # fmt: skip
        host, port = self._settings.intake_host, self._settings.intake_port
        self._listening = web.listen(reactor, site, host, port)
        self.url = f"http://{host}:{self._listening.getHost().port}"

    def _metrics(self) -> Any:
        from dialer.storage.views import OrderViews  # noqa: PLC0415
        from dialer.web.metrics import MetricsResource  # noqa: PLC0415

        return MetricsResource(OrderViews(self._engine, self._campaign),
                               lambda: (self._slots.ami_up(), self._clock()), self._campaign,
                               latency=self._latency, servers=lambda: self._locks.unserved,
                               outbox_dead=self._outbox.dead_counts)  # fmt: skip

    def _agent(self, reactor: Any) -> Any:
        from dialer.web.agent.app import build_agent  # noqa: PLC0415
        from dialer.web.agent.phone import PhoneSettings  # noqa: PLC0415

        s = self._settings
        phone = PhoneSettings(s.agent_phone_ws_url, s.agent_phone_domain,
                              Path(s.agent_phone_secrets_file)
                              if s.agent_phone_secrets_file else None)  # fmt: skip
        return build_agent(self._engine, self._ops, self._agent_auth, self._feed,
                           reactor=reactor, secure=s.agent_cookie_secure, phone=phone)  # fmt: skip

    async def stop(self) -> None:
        if self._listening is not None:
            await self._listening.stopListening().asFuture(asyncio.get_running_loop())

    def announce(self) -> None:
        """The start-up banner on stderr, and the "started" log line."""
        s = self._settings
        servers = ", ".join(f"{slot.name}" + ("" if slot.serving else " (standby)")
                            for slot in self._slots)  # fmt: skip
        agents = sorted({a.id for slot in self._slots for a in slot.agents.all()})
        lines = [
            f"callback-dialer run: campaign {self._campaign!r}, node {s.node}, "
            f"server {servers}, agents {', '.join(agents) or '(none)'}",
            f"  log:     {Path(s.log_file).resolve()}",
            f"  healthz: {self.url}/healthz",
            f"  intake:  POST {self.url}/intake"
            + ("" if s.intake_secret else " (off: no intake secret)"),
            "  stop:    Ctrl-C or SIGTERM (calls in progress finish; a second Ctrl-C hurries)",
        ]
        print("\n".join(lines), file=sys.stderr, flush=True)
        log.info("started; healthz %s/healthz", self.url)
