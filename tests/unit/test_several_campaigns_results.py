"""Where an answered call's result comes from is each campaign's own setting, in a service
with several campaigns too (issue 15 §3 with issue 21): the CRM is followed for the
campaigns whose ``disposition_source`` says so, whichever of them is the file's first; the
agent's page takes a result, offers its problems and holds the agent for it by the order's
own campaign. SQLite, real stores and dispatchers; a CRM double answers the status reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from campaign_pair import CampaignPair

from campaigns.calls import CallReport, CallResult
from campaigns.orders import Order
from campaigns.settings import CallingWindow, CampaignSettings
from crm_adapter.port import CrmOrderStatus
from dialer.app.crm_results import CrmResults
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.storage.campaign_views import order_views
from dialer.web.agent.results import AgentResults
from dialer.web.agent.state import owed_results
from dialer.web.api.errors import ApiError

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
ALL_DAY = CallingWindow(start=time(0, 0), end=time(23, 59))
FOLLOWS_CRM = CampaignSettings(name="shop", agents=("1011",), window=ALL_DAY,
                               disposition_source="crm", crm_result_read_s=1,
                               refusal_problems=("Дорого",))  # fmt: skip
FROM_AGENTS = CampaignSettings(name="НФ-опт", agents=("1001",), window=ALL_DAY,
                               refusal_problems=("Не тот объём партии",))  # fmt: skip
CONFIRMED = "Подтвержден"  # one of the default crm_confirmed_statuses


class StatusCrm:
    """Answers the CRM's status reads from a dict; counts what was read."""

    def __init__(self) -> None:
        self.statuses: dict[str, str] = {}
        self.read: list[str] = []

    def read_status(self, order_id: str) -> CrmOrderStatus:
        self.read.append(order_id)
        return CrmOrderStatus(order_id, self.statuses[order_id])


class Slot:
    """What ``CrmResults`` may ask of a server slot (``ServerSlot``): its campaigns'
    dispatchers, the first campaign's, its pool."""

    def __init__(self, dispatchers: dict[str, Dispatcher], agents: AgentPool) -> None:
        self._dispatchers, self.agents = dispatchers, agents
        self.dispatcher = next(iter(dispatchers.values()))  # the file's first campaign's

    def dispatchers(self) -> dict[str, Dispatcher]:
        return self._dispatchers


class Slots:
    def __init__(self, slot: Slot) -> None:
        self.first = slot

    def __iter__(self) -> Iterator[Slot]:
        return iter([self.first])


class CrmWatchRecord:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def answered(self) -> None:
        pass

    def failed(self, why: str) -> None:
        self.failures.append(why)


class Service(CampaignPair):
    """Two campaigns (``first`` is the file's first, the one the singular routes and, before,
    the CRM follower used), the agents' read models and the CRM follower over them."""

    def __init__(self, tmp_path: Path, first: CampaignSettings, second: CampaignSettings):
        super().__init__(tmp_path, first, second, T0)
        self.views = order_views(self.engine, self.ops.campaigns)
        self.crm, self.watch = StatusCrm(), CrmWatchRecord()
        self.spawned: list[Coroutine[Any, Any, None]] = []
        self.results = CrmResults(
            self.crm,  # type: ignore[arg-type]  # only read_status is asked
            Slots(Slot(self.dispatchers, self.pool)),  # type: ignore[arg-type]
            self.engine,
            self.watch,  # type: ignore[arg-type]
            read_timeout_s=5, executor=ThreadPoolExecutor(1), clock=lambda: self.now,
            spawn=self.spawned.append, wake=lambda: None,  # type: ignore[arg-type]
        )  # fmt: skip

    def answered(self, campaign: str, order_id: str, n: int) -> str:
        """``order_id`` admitted to ``campaign``, dialled, answered; the agent who talked."""
        dispatcher = self.dispatchers[campaign]
        phone = f"+7916{n:07d}"
        dispatcher.admit([Order(order_id, phone, "Иван", "Мака", self.now)], self.now)
        assert dispatcher.dispatch(self.now) == 1
        call = self.rec.originated[-1]
        report = CallReport(call.attempt_id, CallResult.ANSWERED, self.now, answered_at=self.now)
        assert dispatcher.on_report(report) == order_id
        return call.agent

    def phase(self, campaign: str, order_id: str) -> tuple[str, str | None]:
        entry = self.stores[campaign].get(order_id)
        assert entry is not None
        outcome = entry.state.outcome
        return entry.state.phase.value, None if outcome is None else outcome.value

    def run_reads(self) -> None:
        async def all_of() -> None:
            for read in self.spawned:
                await read

        asyncio.run(all_of())
        self.spawned.clear()


def result_body(**form: object) -> bytes:
    return json.dumps(form, ensure_ascii=False).encode()


@pytest.mark.parametrize("crm_first", [True, False])
def test_the_crm_is_followed_for_the_campaign_that_says_so_whichever_is_first(
    tmp_path: Path, crm_first: bool
) -> None:
    first, second = (FOLLOWS_CRM, FROM_AGENTS) if crm_first else (FROM_AGENTS, FOLLOWS_CRM)
    service = Service(tmp_path, first, second)
    service.answered("shop", "SHOP-1", 1)
    service.answered("НФ-опт", "НФ-00123", 2)
    service.crm.statuses = {"SHOP-1": CONFIRMED, "НФ-00123": CONFIRMED}

    service.now = T0 + timedelta(seconds=2)  # the first read (crm_result_read_s 1) is due
    service.results.tick()
    service.run_reads()
    assert service.crm.read == ["SHOP-1"]  # «опт» takes its results from its agents
    assert service.phase("shop", "SHOP-1") == ("done", "confirmed")
    assert service.phase("НФ-опт", "НФ-00123") == ("awaiting_disposition", None)
    assert service.watch.failures == []


def test_a_pushed_status_is_a_result_only_for_a_campaign_that_follows_the_crm(
    tmp_path: Path,
) -> None:
    service = Service(tmp_path, FROM_AGENTS, FOLLOWS_CRM)
    service.answered("shop", "SHOP-1", 1)
    service.answered("НФ-опт", "НФ-00123", 2)
    service.results.noted([CrmOrderStatus("НФ-00123", CONFIRMED),
                           CrmOrderStatus("SHOP-1", CONFIRMED)])  # fmt: skip
    assert service.phase("shop", "SHOP-1") == ("done", "confirmed")
    assert service.phase("НФ-опт", "НФ-00123") == ("awaiting_disposition", None)
    assert service.spawned == []  # a push needs no read


def test_the_agents_page_takes_a_result_by_the_orders_own_campaign(tmp_path: Path) -> None:
    """The first campaign takes its results from the CRM; the second from its agents. The
    second's agent owes its result, is offered its campaign's problems and gives it; the
    first's is refused on the page (it is set in the CRM) and owed nothing there."""
    service = Service(tmp_path, FOLLOWS_CRM, FROM_AGENTS)
    shop_agent = service.answered("shop", "SHOP-1", 1)
    opt_agent = service.answered("НФ-опт", "НФ-00123", 2)
    results = AgentResults(service.views, service.ops)

    assert owed_results(service.views, service.ops, opt_agent) == ["НФ-00123"]
    assert owed_results(service.views, service.ops, shop_agent) == []
    options = results.options("НФ-00123").data
    assert options["refusal_problems"] == ["Не тот объём партии"]
    assert results.options("SHOP-1").data["refusal_problems"] == ["Дорого"]
    assert results.options(None).data["refusal_problems"] == ["Дорого"]  # the first's

    refused = result_body(result="refused", problem="Не тот объём партии", reason="много")
    results.give(opt_agent, "НФ-00123", refused)
    assert service.phase("НФ-опт", "НФ-00123") == ("done", "refused")
    with pytest.raises(ApiError, match="takes results from the CRM") as refusal:
        results.give(shop_agent, "SHOP-1", result_body(result="confirmed"))
    assert refusal.value.status == 409
    assert service.phase("shop", "SHOP-1") == ("awaiting_disposition", None)


def test_a_problem_of_another_campaign_is_refused_naming_it(tmp_path: Path) -> None:
    service = Service(tmp_path, FROM_AGENTS, FOLLOWS_CRM)
    agent = service.answered("НФ-опт", "НФ-00123", 2)
    results = AgentResults(service.views, service.ops)
    with pytest.raises(ApiError, match="Дорого") as wrong:
        results.give(agent, "НФ-00123", result_body(result="refused", problem="Дорого",
                                                    reason="много"))  # fmt: skip
    assert wrong.value.status == 400 and wrong.value.field == "problem"
    assert service.phase("НФ-опт", "НФ-00123") == ("awaiting_disposition", None)
