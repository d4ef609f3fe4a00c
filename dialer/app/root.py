"""The composition root: builds the running node from its configuration by constructor calls
only, and hands it to ``Service`` to run.

Nothing here decides or does work: every branch, query and loop lives in the object that
owns it. The one late binding is the leader flag the periodic jobs read (``locks.leads``):
the jobs are built before the lock supervisor, which calls them when the node becomes leader.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial

from campaigns.outcomes import DEFAULT_CRM_MAPPING, CrmFields, OutcomeKind
from crm_adapter.demo import DemoCrm
from crm_adapter.factory import make_adapter
from crm_adapter.port import CrmAdapter
from crm_adapter.recheck import dialer_statuses
from dialer.agent_auth.passwords import PasswordHasher
from dialer.agent_auth.service import AgentAuth
from dialer.app.admission import Admission
from dialer.app.auto_disposition import AutoDisposition
from dialer.app.campaign_set import CampaignSet
from dialer.app.campaign_source import CampaignFollowers, campaigns_at_start
from dialer.app.control import NodeControl
from dialer.app.crm_results import CrmResults
from dialer.app.crm_watch import CrmWatch
from dialer.app.edge import WebEdge
from dialer.app.health import NodeHealth
from dialer.app.jobs import PeriodicJobs
from dialer.app.lock_watch import LockSupervisor
from dialer.app.log_journal import LogJournal
from dialer.app.operations import Operations
from dialer.app.pump import WakePump
from dialer.app.retailcrm_telephony import build_feed
from dialer.app.screener import make_screen
from dialer.app.server_slot import ServerSlots
from dialer.app.server_start import ServerStarter
from dialer.app.service import Service
from dialer.app.slot_factory import SlotFactory
from dialer.app.status_reads import CrmStatusReads
from dialer.config.service import DemoCrmConfig, ServiceConfig
from dialer.delivery.outbox import Backoff, OutboxWorker
from dialer.dispatch.pacing import Pacer
from dialer.dispatch.status_recheck import StatusRecheck
from dialer.storage.agent_auth import SqlAgentAuthStore
from dialer.storage.agents import SqlAgentRegistry
from dialer.storage.campaigns import SqlCampaignStore
from dialer.storage.catalog import SqlCampaignCatalog
from dialer.storage.coordination import open_coordinator
from dialer.storage.cursors import SqlCursorStore
from dialer.storage.engine import database_state, failure_line, outage
from dialer.storage.migrate import open_database
from dialer.storage.order_admin import phase_counts
from dialer.storage.outbox import SqlOutboxStore
from dialer.storage.queued import SqlQueuedOrders

Clock = Callable[[], datetime]


def build_service(config: ServiceConfig, clock: Clock) -> Service:
    """The node, wired; raises ``DatabaseUnavailableError`` when the database cannot be opened."""
    engine, log = open_database(config.service.db_url), logging.getLogger("dialer.service")
    catalog = SqlCampaignCatalog(engine)  # the campaigns' settings: the database's (issue 21)
    source = str(config.source or "the service file")
    chosen = CampaignSet(campaigns_at_start(  # the one place the campaigns come from
        catalog, config.campaigns, source=source, now=clock(), log=log.warning,
        file_agents=config.places_agents))  # fmt: skip
    config = dataclasses.replace(config, campaign=chosen.first, campaigns=chosen.all)
    settings, campaign, node = config.service, chosen.first, config.service.node
    control, rng, intake = NodeControl(), random.Random(), config.intake_filter(campaign)
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="crm")
    # live events for the agents' pages (and, with [crm.telephony], for RetailCRM)
    feed = build_feed(config, clock, engine=engine, executor=executor)
    crm, mapping = make_crm(config, clock), crm_mapping(config)
    recheck = StatusRecheck(campaign, dialer_statuses(mapping), clock=clock,
                            max_age=timedelta(seconds=settings.status_max_age_s),
                            retry_after=timedelta(seconds=settings.status_retry_s))  # fmt: skip
    backoff = Backoff(timedelta(seconds=settings.outbox_backoff_s),
                      timedelta(seconds=settings.outbox_backoff_max_s))  # fmt: skip
    outbox = OutboxWorker(SqlOutboxStore(engine), crm, rng=rng, backoff=backoff)
    campaigns = SqlCampaignStore(engine)
    crm_watch = CrmWatch(outbox, executor=executor, clock=clock, spawn=control.spawn,
                         stopping=lambda: control.stopping, why=failure_line)  # fmt: skip
    from dialer.web.metrics import LatencyHistogram  # noqa: PLC0415 - twisted.web inside

    latency, auto = LatencyHistogram(), AutoDisposition(settings.auto_disposition, crm)
    status_reads = CrmStatusReads(crm, recheck, crm_watch, settings, executor=executor,
                                  clock=clock, spawn=control.spawn, wake=control.wake)  # fmt: skip
    slots = SlotFactory(
        settings, chosen.all, ServerSlots(campaign_lines=settings.campaign_lines,
                                          tick_s=settings.tick_s),
        engine=engine, clock=clock, mapping=mapping, journal=LogJournal(),
        screen=partial(make_screen, db_url=settings.db_url), recheck=recheck,
        pacer=Pacer(settings.cps, clock()), status_reader=status_reads, auto_disposition=auto,
        paused=campaigns.stops_dialling, outage=outage, on_originate_latency=latency.observe,
        wake=control.wake, rng=rng, feed=feed,
    ).add_all(config.served())  # fmt: skip
    crm_results = CrmResults(crm, slots, engine, crm_watch,
                             read_timeout_s=settings.status_timeout_s, executor=executor,
                             clock=clock, spawn=control.spawn, wake=control.wake)  # fmt: skip
    admission = Admission(recheck, slots, chosen.intakes(config.intake_filter), crm_results,
                          clock=clock, wake=control.wake,
                          archived=campaigns.is_archived)  # fmt: skip
    jobs = PeriodicJobs(settings, campaign, clock=clock, crm=crm, crm_watch=crm_watch,
                        intake=intake, outbox=outbox, recheck=recheck, executor=executor,
                        accept=admission.accept, follow_crm=crm_results.tick,
                        queue_summary=partial(phase_counts, engine, campaign.name),
                        wake=control.wake, leader=lambda: locks.leads,
                        stopping=lambda: control.stopping, spawn=control.spawn,
                        why=failure_line, cursors=SqlCursorStore(engine),
                        intakes=chosen.poll_intakes(config.intake_filter))  # fmt: skip
    starter = ServerStarter(campaign, node=node, engine=engine, auto_disposition=auto,
                            clock=clock, wake=control.wake, feed=feed)  # fmt: skip
    locks = LockSupervisor(open_coordinator(settings.db_url, node), list(slots), node=node,
                           campaign=campaign.name, executor=executor,
                           agent_servers=chosen.agent_servers(SqlAgentRegistry(engine).servers),
                           serve=starter.serve, stop_with=control.stop_with,
                           became_leader=jobs.run_leader_jobs_now, wake=control.wake,
                           spawn=control.spawn, stopping=lambda: control.stopping,
                           why=failure_line)  # fmt: skip
    ops = Operations(engine=engine, dispatcher=slots.first.dispatcher, clock=clock,
                     wake=control.wake, accept=admission.accept,
                     order_url=config.crm.order_url,
                     dispatchers=slots.first.dispatchers())  # fmt: skip
    health = NodeHealth(campaign=campaign.name, node=node, slots=slots, control=control,
                        locks=locks, crm_watch=crm_watch, paused=campaigns.is_paused,
                        database_state=partial(database_state, engine), clock=clock)  # fmt: skip
    agent_auth = AgentAuth(SqlAgentAuthStore(engine), PasswordHasher(), clock=clock,
                           ttl=timedelta(seconds=settings.agent_session_ttl_s))  # fmt: skip
    edge = WebEdge(settings, campaign.name, engine=engine, ops=ops, slots=slots, locks=locks,
                   outbox=outbox, latency=latency, accept=admission.accept, health=health,
                   clock=clock, agent_auth=agent_auth, feed=feed,
                   telephony=config.telephony, held=recheck.holding,
                   crm_kind=getattr(config.crm, "kind", None))  # fmt: skip
    followers = CampaignFollowers(catalog, chosen.names, slots, SqlQueuedOrders(engine),
                                  clock=clock, version=catalog.version,
                                  log=log.warning)  # fmt: skip
    rounds = partial(followers.then, lambda: slots.run_rounds(clock()))
    pump = WakePump(control.woken, rounds,
                    tick_s=settings.tick_s, stopping=lambda: control.stopping,
                    why=failure_line)  # fmt: skip
    return Service(settings, control=control, slots=slots, locks=locks, jobs=jobs,
                   starter=starter, edge=edge, pump=pump,
                   closing=(executor, crm, engine))  # fmt: skip


def make_crm(config: ServiceConfig, clock: Clock) -> CrmAdapter:
    """The configured CRM: the demo's file of orders, or an adapter of ``[crm] kind``."""
    crm = config.crm
    if isinstance(crm, DemoCrmConfig):
        return DemoCrm.from_file(crm.orders, clock())
    return make_adapter(crm, clock=clock, monotonic=time.monotonic, sleep=time.sleep)


def crm_mapping(config: ServiceConfig) -> Mapping[OutcomeKind, CrmFields]:
    """How outcomes are written to the CRM (the demo CRM takes the default wording)."""
    crm = config.crm
    return DEFAULT_CRM_MAPPING if isinstance(crm, DemoCrmConfig) else crm.mapping
