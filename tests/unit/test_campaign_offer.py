"""Issue 21: several campaigns on one server share its agent pool. The stated rule: at each
round the campaigns are dispatched in order of ``priority`` (then name); each offers its due
orders to its free member agents, longest idle first. Caps hold together: each campaign's
``lines``, the server's cap over all campaigns, and one pacer (cps) for all."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fakes import Recorder

from campaigns.calls import CallReport, CallResult
from campaigns.orders import Order
from campaigns.screening import Screening, Verdict
from campaigns.settings import CampaignSettings
from crm_adapter.port import CrmOrderStatus, IntakeFilter
from dialer.app.admission import Admission
from dialer.dispatch.agents import AgentPool, AgentState
from dialer.dispatch.campaign_offer import CampaignRounds, Lane, line_room, offer_order
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.members import MemberAgents, members_on_server
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.pacing import Pacer
from dialer.dispatch.round import DialRound
from dialer.dispatch.status_recheck import StatusRecheck

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 in Moscow: the default window is open
WHOLESALE = CampaignSettings(name="НФ-опт", priority=1, agents=("101", "102"))
SHOP = CampaignSettings(name="shop", priority=5, agents=("102", "103"))


def screen(order: Order, now: datetime) -> Screening:
    return Screening(Verdict.DIAL, order.phone, ("Europe/Moscow",), order.id)


def order(oid: str, n: int) -> Order:
    return Order(id=oid, phone=f"+7916{n:07d}", name="Иван", product="Мака", created_at=T0)


class Server:
    """One server's shared pool and one dispatcher per campaign, as the service builds them."""

    def __init__(
        self,
        campaigns: Sequence[CampaignSettings],
        *,
        agents: Sequence[str] = ("101", "102", "103"),
        server_cap: int = 30,
        cps: float = 100.0,
    ) -> None:
        self.pool = AgentPool(agents, T0, wrap_up_s=0, miss_pause_after=3)
        self.rec, self.pacer, ids = Recorder(), Pacer(cps, T0), itertools.count(1)
        self.dispatchers: dict[str, Dispatcher] = {}
        lanes = []
        self.stores: dict[str, MemoryOrderStore] = {}
        for campaign in campaigns:
            store = self.stores[campaign.name] = MemoryOrderStore()
            dispatcher = Dispatcher(
                settings=campaign, store=store, telephony=self.rec,
                agents=MemberAgents(self.pool, members_on_server(campaign, agents)),
                journal=self.rec, screen=screen, new_attempt_id=lambda: f"att{next(ids)}",
                jitter=lambda: 0.0,
            )  # fmt: skip
            self.dispatchers[campaign.name] = dispatcher
            room = self._room(dispatcher, campaign.lines or 10, server_cap)
            lanes.append(Lane(campaign, DialRound(dispatcher, pacer=self.pacer, line_room=room)))
        self.rounds = CampaignRounds(lanes)

    def _room(self, mine: Dispatcher, lines: int, cap: int) -> Callable[[], int]:
        return lambda: line_room(mine.live_attempts, lines, self.live(), cap)

    def live(self) -> int:
        return sum(d.live_attempts for d in self.dispatchers.values())

    def admit(self, campaign: str, *orders: Order) -> None:
        self.dispatchers[campaign].admit(list(orders), T0)

    def calls(self) -> list[tuple[str, str]]:
        """(order, agent) of every Originate so far."""
        return [(r.order_id, r.agent) for r in self.rec.originated]

    def only_ready(self, *agents: str) -> None:
        for agent in self.pool.all():
            if agent.id not in agents:
                self.pool.pause(agent.id, T0, "обед")


def test_campaigns_are_offered_in_order_of_priority_then_name() -> None:
    a, b, c = (CampaignSettings(name=n, priority=p) for n, p in (("b", 5), ("a", 5), ("z", 1)))
    assert [x.name for x in offer_order([a, b, c])] == ["z", "a", "b"]
    assert [lane.name for lane in Server([SHOP, WHOLESALE]).rounds.lanes] == ["НФ-опт", "shop"]


def test_a_free_shared_agent_gets_the_due_order_of_the_higher_priority_campaign() -> None:
    server = Server([SHOP, WHOLESALE])  # the file's order does not matter
    server.admit("shop", order("SHOP-1", 1))
    server.admit("НФ-опт", order("НФ-00123", 2))
    server.only_ready("102")  # the shared agent
    server.rounds.run(T0)
    assert server.calls() == [("НФ-00123", "102")]


def test_between_equal_priorities_the_name_decides() -> None:
    first = CampaignSettings(name="alpha", agents=("102",))
    second = CampaignSettings(name="beta", agents=("102",))
    server = Server([second, first], agents=("102",))
    server.admit("beta", order("B-1", 1))
    server.admit("alpha", order("A-1", 2))
    server.rounds.run(T0)
    assert server.calls() == [("A-1", "102")]


def test_the_shared_agent_takes_the_lower_priority_campaigns_order_when_the_first_has_none() -> (
    None
):
    server = Server([WHOLESALE, SHOP])
    server.admit("shop", order("SHOP-1", 1))
    server.only_ready("102")
    server.rounds.run(T0)
    assert server.calls() == [("SHOP-1", "102")]


def test_a_campaign_offers_only_to_its_own_agents() -> None:
    server = Server([WHOLESALE, SHOP])
    server.admit("НФ-опт", order("НФ-1", 1), order("НФ-2", 2), order("НФ-3", 3))
    server.rounds.run(T0)
    assert sorted(agent for _, agent in server.calls()) == ["101", "102"]  # never 103
    assert server.dispatchers["НФ-опт"].live_attempts == 2


def test_within_a_campaign_the_longest_idle_member_is_offered_first() -> None:
    server = Server([WHOLESALE, SHOP])
    server.pool.pause("101", T0, "обед")
    server.pool.resume("101", T0 + timedelta(seconds=30))  # idle since later than 102
    later = T0 + timedelta(minutes=1)
    server.admit("НФ-опт", order("НФ-1", 1))
    server.admit("shop", order("SHOP-1", 2))
    server.rounds.run(later)
    assert server.calls() == [("НФ-1", "102"), ("SHOP-1", "103")]


def test_an_agent_is_never_offered_two_calls_at_once() -> None:
    server = Server([WHOLESALE, SHOP])
    server.admit("НФ-опт", *(order(f"НФ-{i}", i) for i in range(5)))
    server.admit("shop", *(order(f"SHOP-{i}", 10 + i) for i in range(5)))
    server.rounds.run(T0)
    server.rounds.run(T0 + timedelta(seconds=1))
    agents = [agent for _, agent in server.calls()]
    assert sorted(agents) == ["101", "102", "103"]
    assert all(a.state is AgentState.RINGING for a in server.pool.all())


def test_a_report_reaches_the_campaign_that_started_the_attempt() -> None:
    server = Server([WHOLESALE, SHOP])
    server.admit("НФ-опт", order("НФ-1", 1))
    server.admit("shop", order("SHOP-1", 2))
    server.only_ready("103")
    server.rounds.run(T0)
    [call] = server.rec.originated
    assert call.order_id == "SHOP-1"
    report = CallReport(call.attempt_id, CallResult.NO_ANSWER, T0 + timedelta(seconds=40))
    assert server.rounds.on_report(report)
    assert server.dispatchers["shop"].live_attempts == 0
    assert server.pool.get("103").state is AgentState.IDLE


def test_caps_hold_together_campaign_lines_server_cap_and_one_pacer() -> None:
    """Each campaign stays within its ``lines``, the sum within the server's cap, and the
    Originates of every campaign together within the pacer's cps."""
    capped = CampaignSettings(name="НФ-опт", priority=1, lines=1)
    free = CampaignSettings(name="shop", priority=5)
    agents = tuple(f"{100 + i}" for i in range(8))
    server = Server([capped, free], agents=agents, server_cap=3, cps=2.0)
    server.admit("НФ-опт", *(order(f"НФ-{i}", i) for i in range(6)))
    server.admit("shop", *(order(f"SHOP-{i}", 10 + i) for i in range(6)))
    for second in range(4):
        before = len(server.rec.originated)
        server.rounds.run(T0 + timedelta(seconds=second))
        assert len(server.rec.originated) - before <= 2  # cps 2, burst 2: shared
        assert server.dispatchers["НФ-опт"].live_attempts <= 1
        assert server.live() <= 3
    assert server.live() == 3  # the caps bind, they do not starve
    assert server.dispatchers["НФ-опт"].live_attempts == 1


def test_line_room_is_the_least_of_the_campaigns_lines_and_the_servers_cap() -> None:
    assert line_room(lane_live=0, lane_lines=4, server_live=0, server_cap=30) == 4
    assert line_room(lane_live=3, lane_lines=4, server_live=29, server_cap=30) == 1
    assert line_room(lane_live=4, lane_lines=4, server_live=5, server_cap=30) == 0
    assert line_room(lane_live=0, lane_lines=4, server_live=31, server_cap=30) == 0


def test_a_campaign_that_names_no_agents_is_served_by_every_agent_of_the_server() -> None:
    assert members_on_server(CampaignSettings(), ("101", "102")) is None
    assert members_on_server(SHOP, ("101", "102")) == frozenset({"102"})
    view = MemberAgents(AgentPool(["101", "102"], T0, wrap_up_s=0, miss_pause_after=3), None)
    assert view.idle_count(T0) == 2


def test_each_campaign_judges_a_fresh_crm_status_by_its_own_intake_statuses() -> None:
    """The pre-dial re-check's readings are shared; whether the status still waits for a
    call is the order's campaign's question (an «Опт» status is no change for «НФ-опт»)."""
    wholesale = CampaignSettings(name="НФ-опт", intake_statuses=("Опт: ожидает",))
    check = StatusRecheck(
        SHOP, frozenset(), clock=lambda: T0, max_age=timedelta(seconds=10),
        retry_after=timedelta(seconds=5),
    )  # fmt: skip
    check.note(CrmOrderStatus("НФ-00123", "Опт: ожидает", "Новый"), T0)
    assert check.check(order("НФ-00123", 1)) is False  # the first campaign's statuses
    assert check.check(order("НФ-00123", 1), settings=wholesale) is True
    check.note(CrmOrderStatus("НФ-00123", "Отменён", "Новый"), T0)
    assert check.check(order("НФ-00123", 1), settings=wholesale) is False  # never touch


class _Slot:
    """The first server slot as admission sees it: each campaign's dispatcher by name."""

    def __init__(self, dispatchers: dict[str, Dispatcher]) -> None:
        self._dispatchers = dispatchers
        self.dispatcher = next(iter(dispatchers.values()))

    def dispatchers(self) -> dict[str, Dispatcher]:
        return self._dispatchers


class _Slots:
    def __init__(self, slot: _Slot) -> None:
        self.first = slot


class _NoCrmResults:
    def noted(self, statuses: object) -> None:
        pass


def admitting(
    server: Server,
    intakes: dict[str, IntakeFilter],
    archived: Callable[[str], bool] = lambda _name: False,
) -> Admission:
    """Admission over ``server``'s campaigns, as the service wires it (no CRM results)."""
    recheck = StatusRecheck(
        SHOP, frozenset(), clock=lambda: T0, max_age=timedelta(seconds=10),
        retry_after=timedelta(seconds=5),
    )  # fmt: skip
    return Admission(
        recheck,
        _Slots(_Slot(server.dispatchers)),  # type: ignore[arg-type]
        intakes,
        _NoCrmResults(),  # type: ignore[arg-type]
        clock=lambda: T0,
        wake=lambda: None,
        archived=archived,
    )


def test_an_order_two_campaigns_admit_goes_to_the_first_in_the_offer_order() -> None:
    """Each campaign takes what its own intake filter admits; an order both filters admit
    goes to the first in priority order (the SQL store also refuses an order any campaign
    already holds: its id is the queue's key)."""
    wholesale = CampaignSettings(name="НФ-опт", priority=1, excluded_sources=("Сайт",),
                                 intake_statuses=("Ожидает подтверждения", "Опт"))  # fmt: skip
    server = Server([SHOP, wholesale])
    intakes = {c.name: IntakeFilter.for_campaign(c) for c in offer_order([SHOP, wholesale])}
    admission = admitting(server, intakes)
    both = order("НФ-00123", 1)  # «Ожидает подтверждения»: both filters admit it
    wholesale_only = replace(order("НФ-00124", 2), status="Опт")
    shop_only = replace(order("SHOP-1", 3), source="Сайт")
    ignored = replace(order("X-1", 4), status="Отменён")
    assert admission.accept([shop_only, both, wholesale_only, ignored]) == 3
    assert sorted(server.stores["НФ-опт"].entries) == ["НФ-00123", "НФ-00124"]
    assert sorted(server.stores["shop"].entries) == ["SHOP-1"]


def test_an_archived_campaign_is_passed_over_when_another_admits_the_order_too() -> None:
    """«НФ-опт» comes first but is archived: an order both filters admit goes to «shop»;
    one only «НФ-опт» admits is still taken by it (waiting, not dropped: a CRM listing by
    history would not hand it over again)."""
    wholesale = CampaignSettings(name="НФ-опт", priority=1,
                                 intake_statuses=("Ожидает подтверждения", "Опт"))  # fmt: skip
    server = Server([SHOP, wholesale])
    intakes = {c.name: IntakeFilter.for_campaign(c) for c in offer_order([SHOP, wholesale])}
    admission = admitting(server, intakes, archived=lambda name: name == "НФ-опт")
    both = order("НФ-00123", 1)
    wholesale_only = replace(order("НФ-00124", 2), status="Опт")
    assert admission.accept([both, wholesale_only]) == 2
    assert sorted(server.stores["shop"].entries) == ["НФ-00123"]
    assert sorted(server.stores["НФ-опт"].entries) == ["НФ-00124"]
