"""The service's parts without Asterisk: config loading, the pre-dial re-check, pacing, the
dispatcher's pacing limit and 'status not known yet', and the demo CRM."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campaigns.orders import Order
from campaigns.screening import Screening, Verdict
from campaigns.settings import CampaignSettings
from crm_adapter.demo import DemoCrm
from crm_adapter.port import CrmOrderStatus
from dialer.config.campaign import ConfigError
from dialer.config.service import DemoCrmConfig, load_service_config
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.dispatcher import Dispatcher
from dialer.dispatch.memory_store import MemoryOrderStore
from dialer.dispatch.pacing import Pacer
from dialer.dispatch.status_recheck import StatusRecheck

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ENV = {"AMI_SECRET": "s3cret"}
MINIMAL = """
[service]
cps = 3
[campaign]
agents = ["101"]
[crm]
kind = "demo"
orders = "orders.jsonl"
[ami]
secret_env = "AMI_SECRET"
"""


def config_file(tmp_path: Path, text: str = MINIMAL) -> Path:
    path = tmp_path / "service.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ---- configuration -----------------------------------------------------------------------


def test_config_precedence_is_defaults_then_file_then_environment_then_command_line(
    tmp_path: Path,
) -> None:
    path = config_file(tmp_path)
    plain = load_service_config(path, ENV)
    assert (plain.service.cps, plain.service.tick_s) == (3.0, 5.0)  # file, default
    assert plain.crm == DemoCrmConfig(tmp_path / "orders.jsonl")
    env = {**ENV, "CALLBACK_DIALER_SERVICE_CPS": "4", "CALLBACK_DIALER_AMI_PORT": "5040"}
    from_env = load_service_config(path, env)
    assert (from_env.service.cps, from_env.ami.port) == (4.0, 5040)
    from_cli = load_service_config(path, env, {"cps": 7, "node": "n2"})
    assert (from_cli.service.cps, from_cli.service.node) == (7.0, "n2")


@pytest.mark.parametrize(
    ("text", "env", "named"),
    [
        pytest.param(MINIMAL.replace("cps = 3", "cps = 0"), ENV, "service.cps", id="range"),
        pytest.param(MINIMAL.replace("cps = 3", "cps = 'x'"), ENV, "service.cps", id="type"),
        pytest.param(MINIMAL.replace("cps = 3", "cpz = 3"), ENV, "service.cpz", id="unknown"),
        pytest.param(MINIMAL, {}, "ami.secret_env", id="secret-variable-unset"),
        pytest.param(MINIMAL + 'secret = "x"\n', ENV, "ami.secret", id="literal-secret"),
        pytest.param(MINIMAL.replace('"demo"', '"ftp"'), ENV, "crm.kind", id="crm-kind"),
        pytest.param(
            MINIMAL.replace('agents = ["101"]', "ring_timeout_s = true"),
            ENV,
            "campaign.ring_timeout_s",
            id="campaign",
        ),
        pytest.param(MINIMAL + "[extra]\n", ENV, "extra", id="section"),
        pytest.param(
            MINIMAL.replace('agents = ["101"]', "intake_statuses = []"),
            ENV,
            "intake_statuses",
            id="no-intake-status",
        ),
    ],
)
def test_config_errors_name_the_field(
    tmp_path: Path, text: str, env: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=rf"(^|: ){named}\b"):
        load_service_config(config_file(tmp_path, text), env)


def test_the_service_pulls_with_its_campaign_filter_in_pages_of_crm_page_size(
    tmp_path: Path,
) -> None:
    """Issue 13: `run` ignored `[crm] page_size` and always pulled 100 orders a page."""
    http = MINIMAL.replace(
        'kind = "demo"\norders = "orders.jsonl"',
        'kind = "http"\npage_size = 7\n[crm.http]\npull_url = "http://crm/o"\n'
        'status_url = "http://crm/o/{id}"\noutcome_url = "http://crm/x"\n'
        'secret_env = "CRM_SECRET"',
    ).replace('agents = ["101"]', 'agents = ["101"]\nintake_statuses = ["Новый заказ"]')
    config = load_service_config(config_file(tmp_path, http), ENV | {"CRM_SECRET": "s" * 16})
    intake = config.intake_filter()
    assert (intake.page_size, intake.statuses) == (7, ("Новый заказ",))
    demo = load_service_config(config_file(tmp_path), ENV).intake_filter()
    assert demo.page_size == 100


def test_run_with_a_bad_config_exits_2_naming_the_field(tmp_path: Path) -> None:
    path = config_file(tmp_path, MINIMAL.replace("cps = 3", "cps = -1"))
    done = subprocess.run(
        [sys.executable, "-m", "dialer", "run", "--config", str(path)],
        capture_output=True, text=True, timeout=60, check=False, env={"AMI_SECRET": "x"},
    )  # fmt: skip
    assert done.returncode == 2
    assert "service.cps" in done.stderr


def test_importing_the_service_does_not_install_a_reactor() -> None:
    code = (
        "import sys, dialer.app.service, dialer.web.site; "
        "print('twisted.internet.reactor' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == "False"


# ---- the pre-dial re-check ---------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def order(oid: str, phone: str = "9161234567") -> Order:
    return Order(id=oid, phone=f"+7{phone}", name="Иван", product="Мака", created_at=T0)


def recheck(clock: Clock) -> StatusRecheck:
    return StatusRecheck(
        CampaignSettings(),
        frozenset({"Недозвон"}),
        clock=clock,
        max_age=timedelta(seconds=10),
        retry_after=timedelta(seconds=5),
    )


def test_rule_2_a_fresh_reading_decides_and_a_stale_one_is_read_again() -> None:
    clock = Clock()
    check = recheck(clock)
    check.note(CrmOrderStatus("1", "Ожидает подтверждения", "Новый"), T0)
    check.note(CrmOrderStatus("2", "Отменён", "Новый"), T0)
    assert check.check(order("1")) is True
    assert check.check(order("2")) is False  # never-touch: leaves the queue
    clock.now = T0 + timedelta(seconds=11)
    assert check.check(order("1")) is None  # too old: not dialled on old news
    assert check.take_wanted(clock.now) == ["1"]
    assert check.take_wanted(clock.now) == []  # in flight: not asked twice


def test_a_crm_that_does_not_answer_holds_the_order_and_is_asked_again_later() -> None:
    clock = Clock()
    check = recheck(clock)
    assert check.check(order("1")) is None
    assert check.take_wanted(T0) == ["1"]
    check.note_failed("1", T0)
    check.done("1")
    assert check.check(order("1")) is None
    assert check.take_wanted(T0 + timedelta(seconds=1)) == []  # not hammered
    check.check(order("1"))
    assert check.take_wanted(T0 + timedelta(seconds=5)) == ["1"]
    check.note_missing("1", T0 + timedelta(seconds=6))
    clock.now = T0 + timedelta(seconds=6)
    assert check.check(order("1")) is False  # the CRM lost it: no call


def test_pacer_allows_a_second_of_calls_then_the_rate() -> None:
    pacer = Pacer(2.0, T0)
    assert pacer.allowance(T0) == 2
    pacer.spend(2)
    assert pacer.allowance(T0) == 0
    assert pacer.wait_s() == pytest.approx(0.5)
    assert pacer.allowance(T0 + timedelta(seconds=0.5)) == 1
    assert pacer.allowance(T0 + timedelta(seconds=60)) == 2  # no burst beyond a second


# ---- the dispatcher's hook ---------------------------------------------------------------


def dispatcher(
    agents: int, status_check: Callable[[Order], bool | None] | None = None
) -> tuple[Dispatcher, list[str]]:
    dialled: list[str] = []

    class Telephony:
        def originate(self, request: object) -> None:
            dialled.append(request.order_id)  # type: ignore[attr-defined]

    class Journal:
        def dial(self, *_: object) -> None: ...
        def result(self, *_: object) -> None: ...
        def outcome(self, *_: object) -> None: ...

    def screen(o: Order, now: datetime) -> Screening:
        return Screening(Verdict.DIAL, o.phone, ("Europe/Moscow",), o.id)

    ids = itertools.count(1)
    d = Dispatcher(
        settings=CampaignSettings(),
        store=MemoryOrderStore(),
        telephony=Telephony(),
        agents=AgentPool([f"a{i}" for i in range(agents)], T0, wrap_up_s=0, miss_pause_after=3),
        journal=Journal(),
        screen=screen,
        new_attempt_id=lambda: f"att{next(ids)}",
        jitter=lambda: 0.0,
        status_check=status_check,
    )
    d.admit([order(str(i), f"91600000{i:02d}") for i in range(1, 4)], T0)
    return d, dialled


def test_dispatch_starts_no_more_than_the_pacing_limit() -> None:
    d, dialled = dispatcher(agents=3)
    assert d.dispatch(T0, limit=1) == 1
    assert d.dispatch(T0, limit=0) == 0
    assert d.dispatch(T0) == 2
    assert dialled == ["1", "2", "3"]


def test_an_order_whose_status_is_not_known_yet_waits_and_the_next_one_goes() -> None:
    known = {"2": True, "3": True}
    d, dialled = dispatcher(agents=2, status_check=lambda o: known.get(o.id))
    assert d.dispatch(T0) == 2
    assert dialled == ["2", "3"]
    known["1"] = True
    assert d.dispatch(T0) == 0  # both agents are busy now
    assert d.next_wakeup(T0) is None


# ---- the demo CRM ------------------------------------------------------------------------


def test_demo_crm_moves_orders_to_now_and_numbers_to_the_callee_doubles() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    crm = DemoCrm.from_file(REPO / "config" / "demo" / "orders.jsonl", now)
    first = crm.read_status("1143383")
    assert first.status == "Ожидает подтверждения"
    orders = {o.id: o for o in crm._orders.values()}
    assert max(o.created_at for o in orders.values()) == now - timedelta(minutes=1)
    assert orders["1143383"].phone.endswith("31")  # answers
    assert orders["1143381"].phone.endswith("02")  # never answers
    assert orders["1143345"].phone.endswith("03")  # busy
    assert orders["1143321"].phone.endswith("05")  # unallocated
    assert orders["1143329"].phone == "700000000000"  # screened out: left as written
    assert orders["1143326"].phone == orders["1143382"].phone  # the duplicate stays one
    assert crm.verdict("1143380").kind == "refused"
    assert crm.verdict("1143380").reason == "Передумал"
    callback = crm.verdict("1143369")
    assert callback.kind == "callback"
    assert callback.callback_at is not None
    assert callback.callback_at > now
