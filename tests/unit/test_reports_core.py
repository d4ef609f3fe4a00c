"""The report core (issue 19, campaigns/reports.py): hand-made histories with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from campaigns.report_tables import as_json, tables
from campaigns.reports import (
    AttemptFact,
    History,
    OrderFact,
    OutcomeFact,
    ReportRange,
    StateFact,
    build,
    percentile,
    speed_to_lead,
)

MSK = "Europe/Moscow"  # UTC+3 all year
DAY1 = ReportRange(date(2026, 3, 2), date(2026, 3, 2), MSK)
TWO_DAYS = ReportRange(date(2026, 3, 2), date(2026, 3, 3), MSK)
NOW = datetime(2026, 3, 10, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def call(agent: str, start: datetime, result: str, talk_s: int = 0) -> AttemptFact:
    answered = start + timedelta(seconds=20) if result == "answered" else None
    ended = (answered or start) + timedelta(seconds=talk_s or 30)
    return AttemptFact(agent, start, result, answered, ended)


def test_a_range_with_from_after_to_is_refused() -> None:
    with pytest.raises(ValueError, match="after"):
        ReportRange(date(2026, 3, 3), date(2026, 3, 2), MSK)


def test_a_range_of_367_days_is_refused_and_366_is_accepted() -> None:
    assert ReportRange(date(2026, 1, 1), date(2027, 1, 1), MSK).days == 366
    with pytest.raises(ValueError, match="366"):
        ReportRange(date(2026, 1, 1), date(2027, 1, 2), MSK)


def test_days_and_hours_are_local_to_the_reporting_zone() -> None:
    # 22:30 UTC on the 1st is 01:30 on the 2nd in Moscow: inside DAY1, at hour 1.
    # 21:30 UTC on the 2nd is 00:30 on the 3rd in Moscow: outside DAY1.
    history = History(attempts=[call("a1", utc(1, 22, 30), "no_answer"),
                                call("a1", utc(2, 21, 30), "no_answer")])  # fmt: skip
    report = build(history, DAY1, NOW)
    assert report.calls == 1
    assert report.calls_by_day[date(2026, 3, 2)]["no_answer"] == 1
    assert report.calls_by_hour[1]["no_answer"] == 1
    assert sum(sum(c.values()) for c in report.calls_by_hour.values()) == 1


def test_calls_per_day_are_counted_by_result_and_every_day_of_the_range_is_listed() -> None:
    history = History(attempts=[
        call("a1", utc(2, 7), "answered", 60), call("a1", utc(2, 8), "no_answer"),
        call("a2", utc(2, 9), "busy"), call("a2", utc(2, 10), "agent_missed"),
    ])  # fmt: skip
    report = build(history, TWO_DAYS, NOW)
    assert list(report.calls_by_day) == [date(2026, 3, 2), date(2026, 3, 3)]
    assert dict(report.calls_by_day[date(2026, 3, 2)]) == {
        "answered": 1, "no_answer": 1, "busy": 1, "agent_missed": 1}  # fmt: skip
    assert dict(report.calls_by_day[date(2026, 3, 3)]) == {}
    assert report.calls_by_hour[10]["answered"] == 1  # 07:00 UTC is 10:00 in Moscow


def test_contact_rate_counts_only_calls_that_dialled_the_customer() -> None:
    history = History(attempts=[
        call("a1", utc(2, 7), "answered"), call("a1", utc(2, 8), "no_answer"),
        call("a1", utc(2, 9), "busy"), call("a1", utc(2, 10), "answered"),
        call("a1", utc(2, 11), "agent_missed"), call("a1", utc(2, 12), "failed"),
    ])  # fmt: skip
    report = build(history, DAY1, NOW)
    assert (report.calls, report.dialled, report.answered) == (6, 4, 2)
    assert report.contact_rate == 0.5


def test_confirmed_share_is_over_final_outcomes_and_dials_per_confirmed_over_dialled() -> None:
    outcomes = [OutcomeFact(k, utc(2, 9)) for k in
                ("confirmed", "confirmed", "refused", "invalid", "no_answer", "callback",
                 "skipped")]  # fmt: skip
    attempts = [call("a1", utc(2, 8, n), "no_answer") for n in range(5)]
    attempts += [call("a1", utc(2, 9, n), "answered") for n in range(3)]
    report = build(History(attempts=attempts, outcomes=outcomes), DAY1, NOW)
    assert (report.confirmed, report.final) == (2, 4)
    assert report.confirmed_share == 0.5
    assert report.dials_per_confirmed == 4.0  # 8 dialled / 2 confirmed


def test_shares_with_nothing_to_divide_by_are_empty_not_zero() -> None:
    report = build(History(), DAY1, NOW)
    assert (report.contact_rate, report.confirmed_share, report.dials_per_confirmed) == (
        None, None, None)  # fmt: skip
    assert report.speed.p50_s is None


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 21)]  # 1..20
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_speed_to_lead_measures_new_orders_until_their_first_dialled_call() -> None:
    orders = [
        OrderFact(utc(2, 7), utc(2, 7, 0, 30)),  # 30 s
        OrderFact(utc(2, 8), utc(2, 8, 2)),  # 120 s
        OrderFact(utc(2, 9), utc(2, 9, 10)),  # 600 s
        OrderFact(utc(2, 10), None),  # not dialled yet
        OrderFact(utc(1, 10), utc(2, 10)),
    ]  # created before the range: not counted
    speed = speed_to_lead(orders, DAY1)
    assert (speed.orders, speed.dialled) == (4, 3)
    assert (speed.p50_s, speed.p95_s) == (120.0, 600.0)


def test_agent_talk_time_runs_from_answer_to_hang_up() -> None:
    history = History(attempts=[call("a1", utc(2, 7), "answered", 90),
                                call("a1", utc(2, 8), "answered", 30),
                                call("a1", utc(2, 9), "agent_missed"),
                                call("a2", utc(2, 9), "agent_missed")])  # fmt: skip
    a1, a2 = build(history, DAY1, NOW).agents
    assert (a1.agent, a1.calls, a1.answered, a1.missed, a1.talk_s) == ("a1", 3, 2, 1, 120.0)
    assert (a2.agent, a2.missed, a2.talk_s) == ("a2", 1, 0.0)


def test_agent_state_time_and_occupancy_from_the_state_history() -> None:
    # Day 2 in Moscow is 21:00 UTC on the 1st .. 21:00 UTC on the 2nd.
    states = [
        StateFact("a1", "idle", utc(2, 6)),  # signed in at 09:00 local
        StateFact("a1", "on_call", utc(2, 6, 10)),
        StateFact("a1", "wrap_up", utc(2, 6, 30)),  # 20 min on call
        StateFact("a1", "idle", utc(2, 6, 40)),  # 10 min wrap-up
        StateFact("a1", "paused", utc(2, 7)),
        StateFact("a1", "idle", utc(2, 7, 30)),  # 30 min pause
        StateFact("a1", "logged_out", utc(2, 8)),  # 2 h signed in
    ]
    history = History(attempts=[AttemptFact("a1", utc(2, 6, 10), "answered", utc(2, 6, 10),
                                            utc(2, 6, 30))], states=states)  # fmt: skip
    (a1,) = build(history, DAY1, NOW).agents
    assert (a1.talk_s, a1.wrap_s, a1.pause_s, a1.signed_in_s) == (1200, 600, 1800, 7200)
    assert a1.occupancy == pytest.approx((1200 + 600) / (7200 - 1800))


def test_state_time_is_clipped_to_the_range_and_to_now() -> None:
    # Paused since before the range (the row in force at its start), still paused now.
    states = [StateFact("a1", "paused", utc(1, 12))]
    now = utc(2, 9)  # 12:00 local on day 2; the range began 21:00 UTC on the 1st
    (a1,) = build(History(states=states), DAY1, now).agents
    assert a1.pause_s == a1.signed_in_s == 12 * 3600
    assert a1.occupancy is None  # no time available for calls


def test_the_tables_have_russian_headers_and_one_row_per_day_hour_and_agent() -> None:
    history = History(attempts=[call("НФ-оператор", utc(2, 7), "answered")])
    titled = dict(tables(build(history, TWO_DAYS, NOW)))
    assert list(titled) == ["Итоги", "По дням", "По часам", "Операторы"]
    assert titled["По дням"][0][:2] == ["День", "Дозвон"]
    assert len(titled["По дням"]) == 1 + 2
    assert len(titled["По часам"]) == 1 + 24
    assert titled["Операторы"][1][:3] == ["НФ-оператор", 1, 1]
    assert as_json(build(history, TWO_DAYS, NOW))["totals"]["contact_rate"] == 1.0
