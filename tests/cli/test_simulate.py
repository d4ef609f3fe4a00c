"""`callback-dialer simulate` (issue 2 §5): the live dispatcher on a virtual clock."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dialer.cli import main

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo" / "orders.jsonl"
START = "2026-03-10T06:00:00Z"


def simulate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, orders: Path, *extra: str
) -> list[dict[str, Any]]:
    code = main(
        [
            "--db",
            f"sqlite:///{tmp_path}/sim.db",
            "simulate",
            "--orders",
            str(orders),
            "--start",
            START,
            "--days",
            "3",
            *extra,
        ]
    )
    assert code == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def demo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> list[dict[str, Any]]:
    return simulate(capsys, tmp_path, DEMO, "--agents", "2")


def finals(events: list[dict[str, Any]]) -> dict[str, str]:
    return {e["order"]: e["outcome"] for e in events if e["event"] == "outcome"}


def test_demo_orders_end_in_the_outcomes_the_rules_give(demo: list[dict[str, Any]]) -> None:
    assert finals(demo) == {
        "1143383": "confirmed",
        "1143382": "confirmed",
        "1143381": "no_answer_final",
        "1143380": "refused",
        "1143379": "consult",
        "1143369": "confirmed",
        "1143366": "confirmed",
        "1143359": "confirmed",
        "1143345": "no_answer_final",
        "1143333": "confirmed",
        "1143330": "confirmed",
        "1143329": "invalid",
        "1143328": "invalid",
        "1143327": "spam",
        "1143326": "duplicate",
        "1143325": "skipped",
        "1143324": "skipped",
        "1143323": "skipped",
        "1143322": "confirmed",
        "1143321": "invalid",
    }
    summary = demo[-1]
    assert summary["event"] == "summary" and summary["orders"] == 20
    assert summary["still_open"] == 0


def test_rule_4_every_dial_is_inside_the_customers_window(demo: list[dict[str, Any]]) -> None:
    dials = [e for e in demo if e["event"] == "dial"]
    assert dials
    for e in dials:
        local = datetime.fromisoformat(e["local_time"])
        assert 10 <= local.hour < 19, e


def test_rule_5_quick_retries_come_two_to_three_minutes_after_the_previous_call(
    demo: list[dict[str, Any]],
) -> None:
    events = [e for e in demo if e.get("order") == "1143382"]
    ends = [ts(e["t"]) for e in events if e["event"] == "result"]
    dials = [ts(e["t"]) for e in events if e["event"] == "dial"]
    assert len(dials) == 3  # answers on attempt 3
    for ended, next_dial in zip(ends, dials[1:], strict=False):
        assert timedelta(seconds=120) <= next_dial - ended <= timedelta(seconds=180)


def test_rule_5_unanswered_order_stops_after_three_local_days(
    demo: list[dict[str, Any]],
) -> None:
    dials = [ts(e["t"]) for e in demo if e.get("order") == "1143381" and e["event"] == "dial"]
    days = {(d + timedelta(hours=3)).date() for d in dials}  # Moscow
    assert sorted(days) == [date(2026, 3, d) for d in (10, 11, 12)]


def test_rule_5_agent_miss_is_not_a_customer_attempt(demo: list[dict[str, Any]]) -> None:
    events = [e for e in demo if e.get("order") == "1143359" and e["event"] == "result"]
    assert [(e["attempt"], e["result"]) for e in events] == [(1, "agent_missed"), (1, "answered")]


def test_rule_5_callback_is_called_at_the_requested_time(demo: list[dict[str, Any]]) -> None:
    dials = [e["t"] for e in demo if e.get("order") == "1143369" and e["event"] == "dial"]
    assert dials[-1] == "2026-03-11T09:30:00Z"


def generated_orders(path: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    regions = [
        "г. Москва",
        "Самарская обл",
        "Республика Саха (Якутия)",
        "Калининградская обл",
        "Камчатский край",
        "Новосибирская обл",
        "Приморский край",
    ]
    start = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            created = start + timedelta(seconds=rng.randrange(0, 12 * 3600))
            answer = rng.choice([1, 2, 3, 4, 6, None])
            out.write(
                json.dumps(
                    {
                        "id": str(200000 + i),
                        "phone": f"+7916{rng.randrange(1000000, 9999999)}",
                        "name": f"Клиент {i}",
                        "product": "Мака",
                        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "status": "Ожидает подтверждения",
                        "state": "Новый",
                        "region": rng.choice(regions),
                        "sim": {"answer_on_attempt": answer, "agent_answers": rng.random() > 0.1},
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    return path


def test_a_mixed_batch_never_overlaps_an_order_or_exceeds_the_agents(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    orders = generated_orders(tmp_path / "orders.jsonl", 400, seed=7)
    events = simulate(capsys, tmp_path, orders, "--agents", "4", "--seed", "3")
    live: dict[str, int] = defaultdict(int)
    busy = 0
    for e in events[:-1]:
        if e["event"] == "dial":
            live[e["order"]] += 1
            busy += 1
            assert live[e["order"]] == 1, e
            assert busy <= 4, e
        elif e["event"] == "result":
            live[e["order"]] -= 1
            busy -= 1
        if e["event"] == "dial":
            assert 10 <= datetime.fromisoformat(e["local_time"]).hour < 19
    summary = events[-1]
    assert summary["orders"] == 400
    finished = sum(summary["outcomes"].values()) - summary["outcomes"].get("callback", 0)
    assert finished + summary["still_open"] == 400
    assert summary["still_open"] < 20  # only late arrivals in far-east zones run past day 3


def test_same_seed_gives_the_same_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    orders = generated_orders(tmp_path / "orders.jsonl", 50, seed=1)
    first = simulate(capsys, tmp_path, orders, "--seed", "9")
    second = simulate(capsys, tmp_path, orders, "--seed", "9")
    assert first == second


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 1: not JSON"),
        ('{"id": "1", "phone": "+79161234567", "created_at": "yesterday"}', "line 1: created_at"),
        ('{"id": "1", "created_at": "2026-03-10T06:00:00Z"}', "line 1: phone: missing"),
        (
            '{"id": "1", "phone": "1", "created_at": "2026-03-10T06:00:00Z", '
            '"sim": {"answer_on_attempt": 0}}',
            "sim.answer_on_attempt",
        ),
    ],
)
def test_bad_orders_file_exits_2_naming_the_line_and_field(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    line: str,
    message: str,
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "--db",
                f"sqlite:///{tmp_path}/x.db",
                "simulate",
                "--orders",
                str(path),
                "--start",
                START,
                "--days",
                "1",
            ]
        )
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-03-10T06:00:00"], "--start"),
        (["--days", "0"], "--days"),
        (["--agents", "0"], "--agents"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    base = {"--start": START, "--days": "1", "--agents": "1"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["--db", f"sqlite:///{tmp_path}/x.db", "simulate", "--orders", str(DEMO)]
    for k, v in base.items():
        argv += [k, v]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_campaign_file_with_an_unknown_key_is_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[campaign.retry]\nquick_retrys = 2\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "--db",
                f"sqlite:///{tmp_path}/x.db",
                "simulate",
                "--orders",
                str(DEMO),
                "--start",
                START,
                "--days",
                "1",
                "--campaign",
                str(bad),
            ]
        )
    assert exc.value.code == 2
    assert "campaign.retry.quick_retrys: unknown setting" in capsys.readouterr().err


def test_the_example_campaign_file_loads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    example = DEMO.parents[1] / "campaign.example.toml"
    events = simulate(capsys, tmp_path, DEMO, "--campaign", str(example))
    assert events[-1]["event"] == "summary"
