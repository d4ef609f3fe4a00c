"""`simulate` runs the service's round: status re-check against a simulated CRM, pacing and
line caps from the service's own config keys (issue 14 item 1)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dialer.cli import main

START = "2026-03-10T07:00:00Z"  # 10:00 in Moscow: the window is open


def orders_file(path: Path, orders: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in orders), "utf-8")
    return path


def order(n: int, sim: dict[str, Any], minute: int = 0) -> dict[str, Any]:
    return {
        "id": f"90{n:02d}",
        "phone": f"+7916583{n:04d}",
        "created_at": f"2026-03-10T07:{minute:02d}:00Z",
        "tz": "Europe/Moscow",
        "sim": sim,
    }


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, orders: Path, *extra: str
) -> list[dict[str, Any]]:
    code = main(["--db", f"sqlite:///{tmp_path}/sim.db", "simulate", "--orders", str(orders),
                 "--start", START, "--days", "1", *extra])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["t"].replace("Z", "+00:00"))


def dials_of(events: list[dict[str, Any]], order_id: str) -> list[datetime]:
    return [at(e) for e in events if e.get("order") == order_id and e["event"] == "dial"]


def test_rule_2_an_order_cancelled_in_the_crm_while_it_waits_is_not_dialled_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cancel = "2026-03-10T07:10:00Z"
    orders = orders_file(tmp_path / "o.jsonl", [
        order(1, {"answer_on_attempt": None, "cancel_at": cancel}),
        order(2, {"answer_on_attempt": None}),
    ])  # fmt: skip
    events = run(capsys, tmp_path, orders)
    cancelled = dials_of(events, "9001")
    assert cancelled and all(t < at({"t": cancel}) for t in cancelled)
    assert any(t > at({"t": cancel}) for t in dials_of(events, "9002"))  # the other goes on
    outcome = [e for e in events if e.get("order") == "9001" and e["event"] == "outcome"]
    assert [e["outcome"] for e in outcome] == ["skipped"]
    assert at(outcome[0]) > at({"t": cancel})


def test_rule_2_a_crm_that_never_answers_a_status_read_holds_the_order_undialled(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    orders = orders_file(tmp_path / "o.jsonl", [
        order(1, {"answer_on_attempt": None, "status_at": {"at": "2026-03-11T00:00:00Z",
                                                           "status": "Ожидает подтверждения"}}),
    ])  # fmt: skip
    events = run(capsys, tmp_path, orders, "--status-fail-rate", "1")
    assert len(dials_of(events, "9001")) == 1  # the first dial is vouched for by the intake
    assert events[-1]["still_open"] == 1


def test_a_slow_status_read_delays_the_retry_by_the_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sim = {"answer_on_attempt": None, "status_at": {"at": "2026-03-12T00:00:00Z", "status": "x"}}
    orders = orders_file(tmp_path / "o.jsonl", [order(1, sim)])
    quick = dials_of(run(capsys, tmp_path, orders), "9001")
    slow = dials_of(run(capsys, tmp_path, orders, "--status-read-s", "2"), "9001")
    assert len(quick) > 1 and len(slow) > 1
    assert slow[1] - quick[1] == timedelta(seconds=2)


def service_config(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def live_at_once(events: list[dict[str, Any]]) -> int:
    """The most calls in progress at one time (a dial to its attempt's result)."""
    changes = [(at(e), 1 if e["event"] == "dial" else -1)
               for e in events if e["event"] in ("dial", "result")]  # fmt: skip
    live = most = 0
    for _, step in sorted(changes, key=lambda c: (c[0], c[1])):
        live += step
        most = max(most, live)
    return most


def test_the_services_line_caps_bound_the_calls_in_progress(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    orders = orders_file(tmp_path / "o.jsonl",
                         [order(n, {"answer_on_attempt": None}) for n in range(12)])  # fmt: skip
    free = run(capsys, tmp_path, orders, "--agents", "12")
    assert live_at_once(free) == 12
    config = service_config(tmp_path / "s.toml", "[service]\ncps = 100\ncampaign_lines = 5\n"
                            "[ami]\nlines = 3\n")  # fmt: skip
    capped = run(capsys, tmp_path, orders, "--agents", "12", "--service-config", str(config))
    assert live_at_once(capped) == 3
    assert all(dials_of(capped, f"90{n:02d}") for n in range(12))  # all dialled, 3 at a time
    config.write_text("[service]\ncps = 100\ncampaign_lines = 4\ntrunk_lines = 9\n", "utf-8")
    capped = run(capsys, tmp_path, orders, "--agents", "12", "--service-config", str(config))
    assert live_at_once(capped) == 4


def test_the_services_cps_paces_the_dials(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    orders = orders_file(tmp_path / "o.jsonl",
                         [order(n, {"answer_on_attempt": 1}) for n in range(10)])  # fmt: skip
    text = "[service]\ncps = 2\ncampaign_lines = 50\ntrunk_lines = 50\n"
    config = service_config(tmp_path / "s.toml", text)
    events = run(capsys, tmp_path, orders, "--agents", "10", "--service-config", str(config))
    firsts = sorted(dials_of(events, f"90{n:02d}")[0] for n in range(10))
    assert firsts[-1] - firsts[0] >= timedelta(seconds=(10 - 2) / 2)  # a burst of 2, then 2/s
    for a, b in zip(firsts, firsts[3:], strict=False):
        assert b - a >= timedelta(seconds=1)  # never 4 within a second


def test_a_bad_service_config_or_crm_option_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    orders = orders_file(tmp_path / "o.jsonl", [order(1, {"answer_on_attempt": 1})])
    config = service_config(tmp_path / "s.toml", "[service]\ncps = 0\n")
    for extra, named in (
        (("--service-config", str(config)), "service.cps"),
        (("--status-fail-rate", "2"), "--status-fail-rate"),
        (("--status-read-s", "-1"), "--status-read-s"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(["--db", f"sqlite:///{tmp_path}/sim.db", "simulate", "--orders", str(orders),
                         "--start", START, "--days", "1", *extra])  # fmt: skip
        assert exc.value.code == 2
        assert named in capsys.readouterr().err


def test_bad_status_keys_are_refused_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for sim, named in (
        ({"cancel_at": "tomorrow"}, "sim.cancel_at"),
        ({"status_at": {"at": "2026-03-10T08:00:00Z"}}, "sim.status_at.status"),
        ({"cancel_at": START, "status_at": {"at": START, "status": "x"}}, "give one of them"),
    ):
        orders = orders_file(tmp_path / "o.jsonl", [order(1, sim)])
        with pytest.raises(SystemExit) as exc:
            main(["--db", f"sqlite:///{tmp_path}/sim.db", "simulate", "--orders", str(orders),
                         "--start", START, "--days", "1"])  # fmt: skip
        assert exc.value.code == 2
        assert named in capsys.readouterr().err
