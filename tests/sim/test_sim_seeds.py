"""The simulator as a proving ground (issue 18 §1): random seeds with every fault on keep
the invariants, and a seed's run is reproduced byte for byte."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.calls import CallResult
from campaigns.orders import Order
from campaigns.settings import CampaignSettings
from dialer.app.screener import make_screen
from dialer.dispatch.dispatcher import Screen
from dialer.sim.faults import ALL, FaultSpec
from dialer.sim.phones import SimCallee
from dialer.sim.simulate import SimConfig, run_simulation

START = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)
ZONES = ("Europe/Moscow", "Asia/Yekaterinburg", "Europe/Kaliningrad", "Asia/Vladivostok")
SEEDS = 300


@pytest.fixture(scope="module")
def screen(tmp_path_factory: pytest.TempPathFactory) -> Screen:
    db = tmp_path_factory.mktemp("sim") / "sim.db"
    return make_screen(CampaignSettings(), db_url=f"sqlite:///{db}", snapshot=True)


def random_orders(seed: int, n: int) -> list[tuple[Order, SimCallee]]:
    """A small mixed set: answers on some attempt or never, callbacks, refusals, busy lines,
    two orders sharing a number, agents who miss."""
    rng = random.Random(seed)
    orders = []
    for i in range(n):
        created = START + timedelta(seconds=rng.randrange(0, 10 * 3600))
        phone = f"+7916{rng.randrange(1000000, 1000000 + n * 3):07d}"
        order = Order(id=f"{seed}-{i}", phone=phone, name=f"Клиент {i}", product="Мака",
                      created_at=created, status="Ожидает подтверждения", state="Новый",
                      tz=rng.choice(ZONES))  # fmt: skip
        callback = (created + timedelta(hours=rng.randrange(1, 30))).strftime("%Y-%m-%dT%H:%M:%SZ")
        disposition = rng.choice(["confirmed", "confirmed", "refused", f"callback:{callback}"])
        answer = rng.choice([1, 2, 4, 7, None, None])
        unanswered = rng.choice([CallResult.NO_ANSWER, CallResult.NO_ANSWER, CallResult.BUSY])
        orders.append((order, SimCallee(answer, disposition, rng.choice([0, 0, 1]), unanswered)))
    return orders


def run(
    screen: Screen, seed: int, faults: FaultSpec, *, n: int = 6, days: float = 2.0,
    delay: float = 20.0,
) -> tuple[str, dict[str, object]]:  # fmt: skip
    config = SimConfig(START, days, 2, seed, CampaignSettings(), faults=faults,
                       result_delay_s=delay)  # fmt: skip
    out = io.StringIO()
    summary = run_simulation(random_orders(seed, n), config, screen, out)
    return out.getvalue(), summary


HEAVY = FaultSpec(crm_outage=0.01, slow_read=3.0, read_fail=0.05, status_change=0.2,
                  lost_report=0.05, agent_miss=0.1, device_down=0.05, no_result=0.1,
                  crash=0.01, db_outage=0.01)  # fmt: skip


@pytest.mark.parametrize("faults", [ALL, HEAVY], ids=["all", "heavy"])
def test_random_seeds_with_faults_keep_every_invariant(screen: Screen, faults: FaultSpec) -> None:
    failing = []
    crashes = 0
    for seed in range(1, SEEDS // 2 + 1):
        text, summary = run(screen, seed, faults)
        crashes += summary["faults"]["crashes"]  # type: ignore[index]
        if summary["violations"]:
            failing.append((seed, [ln for ln in text.splitlines() if "violation" in ln][:3]))
    assert not failing, failing
    if faults is HEAVY:
        assert crashes > 0  # the crash path ran


def test_a_seed_reproduces_its_history_byte_for_byte(screen: Screen) -> None:
    first, _ = run(screen, 42, HEAVY, n=12, days=3)
    again, _ = run(screen, 42, HEAVY, n=12, days=3)
    other, _ = run(screen, 43, HEAVY, n=12, days=3)
    assert first == again
    assert first != other


def test_faults_change_the_run_and_none_leave_it_as_it_was(screen: Screen) -> None:
    plain, _ = run(screen, 5, FaultSpec(), delay=0)
    faulty, summary = run(screen, 5, HEAVY, delay=0)
    assert plain != faulty
    assert '"faults"' not in plain.splitlines()[-1]
    assert summary["violations"] == 0
