"""`callback-dialer simulate --plan` (issue 18 §2): the fewest agents meeting the targets."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from campaigns.settings import CampaignSettings
from campaigns.timezones import zones_for_address
from campaigns.window import next_window_open
from dialer.app.screener import make_screen
from dialer.sim.arrivals import CURVES, Behaviour, Profile, generate
from dialer.sim.plan import PlanRow, parse_target, search, simulate_row
from dialer.sim.simulate import SimConfig
from tests.cli.cli_run import run

START = "2026-03-10T00:00:00Z"
T0 = datetime(2026, 3, 10, tzinfo=UTC)
SMALL = ("--per-day", "150", "--hourly", "flat", "--start", START, "--days", "1")


def plan(capsys: pytest.CaptureFixture[str], tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "--db", f"sqlite:///{tmp_path}/sim.db", "simulate", "--plan", *extra)


def write_orders(path: Path, per_day: int, seed: int = 1) -> None:
    """Generated orders as a simulator orders file (the format ``--orders`` reads)."""
    orders = generate(Profile(per_day, CURVES["flat"], Behaviour()), T0, 1, seed)
    lines = [
        json.dumps(
            {
                "id": o.id,
                "phone": o.phone,
                "name": o.name,
                "product": o.product,
                "created_at": o.created_at.isoformat(),
                "region": o.region,
                "sim": {"answer_on_attempt": c.answer_on_attempt, "disposition": c.disposition},
            },
            ensure_ascii=False,
        )
        for o, c in orders
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def p95_by_hand(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, orders: Path, agents: int
) -> float:
    """The plain simulator's run, measured here independently of the planner's code: first
    dial minus max(arrival, window opening in the order's region), nearest-rank p95."""
    code, out, _ = run(capsys, "--db", f"sqlite:///{tmp_path}/sim.db", "simulate",
                       "--orders", str(orders), "--start", START, "--days", "1",
                       "--agents", str(agents))  # fmt: skip
    assert code == 0
    first: dict[str, datetime] = {}
    for line in out.splitlines():
        event = json.loads(line)
        if event["event"] == "dial":
            first.setdefault(event["order"], datetime.fromisoformat(event["t"]))
    end = datetime(2026, 3, 11, tzinfo=UTC)
    window = CampaignSettings().window
    delays = []
    for line in orders.read_text(encoding="utf-8").splitlines():
        order = json.loads(line)
        match = zones_for_address(order["region"], None)
        assert match is not None
        created = datetime.fromisoformat(order["created_at"])
        opens = next_window_open(created, match.zones, window)
        if opens is None or opens >= end:
            continue
        delays.append((first.get(order["id"], end) - opens).total_seconds())
    delays.sort()
    return delays[math.ceil(0.95 * len(delays)) - 1]


def test_the_answer_is_the_fewest_agents_whose_own_run_meets_the_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    orders = tmp_path / "orders.jsonl"
    write_orders(orders, 150)
    code, out, _ = plan(capsys, tmp_path, "--orders", str(orders), "--start", START,
                        "--days", "1", "--target", "first-call-p95<=2m", "--json")  # fmt: skip
    assert code == 0
    answer = json.loads(out)["answer"]
    assert answer > 1
    assert p95_by_hand(capsys, tmp_path, orders, answer - 1) > 120
    assert p95_by_hand(capsys, tmp_path, orders, answer) <= 120


def test_the_table_shows_rows_around_the_answer_and_says_which_meet(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = plan(capsys, tmp_path, *SMALL, "--target", "first-call-p95<=2m")
    assert code == 0
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("agents"))
    rows = [line.split() for line in lines[header + 1 :] if line.strip() and line[0] == " "]
    answer = int(lines[-1].split()[0])
    assert lines[-1].startswith(f"{answer} agents is the smallest count that meets")
    agents = [int(r[0]) for r in rows]
    assert agents == list(range(answer - 3, answer + 3))
    assert [r[-2] != "not" for r in rows] == [a >= answer for a in agents]
    assert (
        "plan: 1 agent: first-call-p95 " in err
    )  # progress goes to stderr, the table alone to stdout


def test_the_same_seed_gives_the_same_plan_and_another_seed_other_orders(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = (*SMALL, "--target", "first-call-p95<=2m", "--json")
    first = plan(capsys, tmp_path, *args)
    again = plan(capsys, tmp_path, *args)
    other = plan(capsys, tmp_path, *args, "--seed", "2")
    assert first == again
    assert json.loads(first[1])["rows"] != json.loads(other[1])["rows"]


def test_no_count_up_to_the_maximum_exits_3_and_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = plan(capsys, tmp_path, *SMALL, "--target", "first-call-p95<=2m",
                        "--agents-max", "3")  # fmt: skip
    assert code == 3
    assert "NO agent count up to --agents-max 3 meets first-call-p95<=2m" in out
    assert "met" not in out.replace("not met", "")


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("first-call-p95=5m", "expected METRIC OP VALUE"),
        ("first-call-p95<=5", "'5': expected a duration with a unit"),
        ("first-call-p95>=5m", "'>=': first-call-p95 only takes <="),
        ("first-call-p101<=5m", "unknown metric 'first-call-p101'"),
        ("answered>=0.5", "unknown metric 'answered'"),
        ("confirmed>=1.5", "'1.5': expected a share"),
        ("confirmed>=abc", "'abc': expected a share"),
        ("occupancy>=0.5", "'>=': occupancy only takes <="),
        ("in-window-p90>2m", "'>': in-window-p90 only takes <="),
    ],
)
def test_a_bad_target_exits_2_naming_the_bad_part(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, target: str, named: str
) -> None:
    code, out, err = plan(capsys, tmp_path, *SMALL, "--target", target)
    assert code == 2
    assert f"--target {target!r}" in err
    assert named in err
    assert out == ""


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--hourly", "1,2,3"), "--hourly: expected ecommerce, flat or 24"),
        (("--hourly", ",".join(["1"] * 23 + ["x"])), "--hourly: hour 23: not a number"),
        (("--hourly", ",".join(["0"] * 24)), "--hourly: at least one hour"),
        (("--answer-share", "1.5"), "--answer-share: must be between 0 and 1"),
        (("--pickup", "0"), "--pickup: must be between 0 (exclusive) and 1"),
        (("--agents-max", "0"), "--agents-max: must be between 1 and 10000"),
        (("--orders", "x.jsonl"), "give either --orders FILE.jsonl or --per-day N"),
    ],
)
def test_a_bad_profile_exits_2_naming_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    code, _, err = plan(capsys, tmp_path, *SMALL, "--target", "confirmed>=0.1", *args)
    assert code == 2
    assert named in err


def test_planner_flags_need_plan_and_plan_needs_a_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path}/sim.db"
    code, _, err = run(capsys, "--db", db, "simulate", *SMALL)
    assert (code, "--per-day: only with --plan") == (2, err.strip().rpartition("error: ")[2])
    code, _, err = plan(capsys, tmp_path, *SMALL)
    assert code == 2
    assert "--target: --plan needs at least one" in err
    code, _, err = run(capsys, "--db", db, "simulate", "--start", START, "--days", "1")
    assert code == 2
    assert "--orders: required" in err


class _Checker(HTMLParser):
    """Fails on unbalanced tags; collects tags, attribute values and text."""

    VOID = frozenset({"meta", "br", "img", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.tags: set[str] = set()
        self.attrs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += [v or "" for _, v in attrs]
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += [v or "" for _, v in attrs]

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_html_page_is_self_contained_balanced_and_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    orders = tmp_path / "<img src=x onerror=alert(1)>&.jsonl"
    write_orders(orders, 60)
    page = tmp_path / "plan.html"
    code, out, _ = plan(capsys, tmp_path, "--orders", str(orders), "--start", START,
                        "--days", "1", "--target", "first-call-p95<=3m",
                        "--target", "occupancy<=90%", "--html", str(page))  # fmt: skip
    assert code == 0
    html = page.read_text(encoding="utf-8")
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.open == []
    assert {"svg", "polyline", "table", "circle"} <= checker.tags
    assert "script" not in checker.tags
    assert not [a for a in checker.attrs if a.startswith(("http", "//")) and "w3.org" not in a]
    assert "&lt;img src=x onerror=alert(1)&gt;&amp;.jsonl" in html
    assert "img" not in checker.tags
    assert "first-call-p95&lt;=3m" in html and "p95<=" not in html
    text = "".join(checker.text)
    for row in out.splitlines():
        if row[:1] == " ":  # every table row of stdout is in the page
            assert row.split()[0] in text


def test_an_order_that_arrives_at_night_waits_for_the_window_not_against_the_target(
    tmp_path: Path,
) -> None:
    """First-call delay runs from the window's opening (10:00 local), not from arrival."""
    orders = generate(Profile(1, (0.0,) * 2 + (1.0,) + (0.0,) * 21, Behaviour()), T0, 1, 1)
    assert orders[0][0].region is not None
    config = SimConfig(T0, 2, 1, 1, CampaignSettings())  # the window opens on day 1 or 2
    screen = make_screen(config.settings, db_url=f"sqlite:///{tmp_path}/sim.db", snapshot=True)
    row = simulate_row(orders, config, screen, 1)
    assert row.delays == (0.0,)
    assert row.waiting == 0
    assert row.in_window == ()  # not an order that arrived with the window open


def test_generated_orders_arrive_on_the_curve_in_local_time_and_all_pass_screening(
    tmp_path: Path,
) -> None:
    noon = (0.0,) * 12 + (1.0,) + (0.0,) * 11
    orders = generate(Profile(200, noon, Behaviour()), T0, 2, 7)
    assert len(orders) == 400
    screen = make_screen(CampaignSettings(), db_url=f"sqlite:///{tmp_path}/sim.db")
    for order, _ in orders:
        match = zones_for_address(order.region, None)
        assert match is not None
        screening = screen(order, order.created_at)
        assert screening.verdict.value == "dial", (order, screening)
        local = order.created_at.astimezone(ZoneInfo(match.zones[0]))
        assert local.hour == 12
    assert generate(Profile(200, noon, Behaviour()), T0, 2, 7) == orders


def _row(agents: int, p95: float) -> PlanRow:
    return PlanRow(agents, (p95,), 0, (p95,), 1.0, 1.0, 0.5, 2.0)


def test_search_gallops_then_bisects_running_each_count_once() -> None:
    calls: list[int] = []

    def evaluate(n: int) -> PlanRow:
        calls.append(n)
        return _row(n, 3601 / n)  # 37 agents bring it under 100 s

    result = search(evaluate, [parse_target("first-call-p95<=100s")], 500)
    assert result.answer == 37
    assert [r.agents for r in result.rows] == [34, 35, 36, 37, 38, 39]
    assert len(calls) == len(set(calls))
    assert len(calls) < 20


def test_search_reports_none_when_even_the_maximum_fails() -> None:
    result = search(lambda n: _row(n, 3600.0), [parse_target("in-window-p50<=1m")], 10)
    assert result.answer is None
    assert [r.agents for r in result.rows] == [5, 6, 7, 8, 9, 10]
