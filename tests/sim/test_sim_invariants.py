"""Each invariant check fires on a hand-made history that breaks it, and stays quiet on
the same history kept (issue 18 §1: the checker must be able to fail)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from campaigns.calls import CallResult
from campaigns.outcomes import OutcomeKind
from campaigns.settings import CampaignSettings
from dialer.sim.invariants import RULES, Dial, End, History, Result, Violation, check

MSK = ("Europe/Moscow",)
DAY = datetime(2026, 3, 10, tzinfo=UTC)  # a Tuesday; Moscow is UTC+3, the window 10:00-19:00


def at(hour: float, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hour)


def history(**kw: object) -> History:
    h = History(CampaignSettings(), end=at(20, day=2))
    h.created["o1"] = h.created["o2"] = at(7)
    h.zones["o1"] = h.zones["o2"] = MSK
    h.ends["o1"] = h.ends["o2"] = End("done", None, call_pending=False, result_pending=False)
    for key, value in kw.items():
        setattr(h, key, value)
    return h


def call(
    order: str,
    attempt: str,
    start: datetime,
    *,
    minutes: float = 1,
    e164: str = "+79160000001",
    zones: tuple[str, ...] = MSK,
) -> tuple[Dial, Result]:
    """An unanswered customer call of ``minutes``."""
    end = start + timedelta(minutes=minutes)
    result = Result(end, order, attempt, CallResult.NO_ANSWER, True, start)
    return Dial(start, order, attempt, e164, zones), result


def rules(h: History) -> list[str]:
    return [v.rule for v in check(h)]


def test_every_rule_has_a_check_that_fires_below() -> None:
    assert set(RULES) == {"window", "one-live", "outbox", "stuck", "callback",
                          "final-no-answer", "never-touch"}  # fmt: skip


def test_window_a_dial_outside_the_window_in_any_candidate_zone() -> None:
    inside = call("o1", "a1", at(8))  # 11:00 in Moscow
    assert rules(history(dials=[inside[0]], results=[inside[1]])) == []
    early = call("o1", "a1", at(6.5))  # 09:30 in Moscow
    assert rules(history(dials=[early[0]], results=[early[1]])) == ["window"]
    # 12:30 in Moscow is 19:30 in Vladivostok: closed in one of the candidate zones
    two = call("o1", "a1", at(9.5), zones=("Europe/Moscow", "Asia/Vladivostok"))
    (violation,) = check(history(dials=[two[0]], results=[two[1]]))
    assert violation.rule == "window" and "Asia/Vladivostok" in violation.detail


def test_one_live_two_attempts_of_one_order_or_one_number_overlap() -> None:
    first = call("o1", "a1", at(8), minutes=5)
    apart = call("o1", "a2", at(8.5))
    assert rules(history(dials=[first[0], apart[0]], results=[first[1], apart[1]])) == []
    same_order = call("o1", "a2", at(8) + timedelta(minutes=2), e164="+79160000002")
    found = check(history(dials=[first[0], same_order[0]], results=[first[1], same_order[1]]))
    assert [v.rule for v in found] == ["one-live"] and "order o1" in found[0].detail
    same_number = call("o2", "b1", at(8) + timedelta(minutes=2))
    found = check(history(dials=[first[0], same_number[0]],
                          results=[first[1], same_number[1]]))  # fmt: skip
    assert [v.rule for v in found] == ["one-live"] and "number +79160000001" in found[0].detail
    never_ended = call("o1", "a2", at(10))  # a1 never got its result: still live
    found = check(history(dials=[first[0], never_ended[0]], results=[never_ended[1]]))
    assert [v.rule for v in found] == ["one-live", "one-live"]  # the order and its number


def written(h: History, order: str, kind: OutcomeKind, when: datetime,
            callback_at: datetime | None = None) -> History:  # fmt: skip
    h.write(order, kind, when, callback_at)
    return h


def test_outbox_each_written_outcome_delivered_once_and_in_order() -> None:
    def two() -> History:
        h = history()
        written(h, "o1", OutcomeKind.NO_ANSWER, at(8))
        return written(h, "o1", OutcomeKind.CONFIRMED, at(9))

    good = two()
    good.delivered = [("o1", 0), ("o1", 1)]
    assert rules(good) == []
    lost = two()
    lost.delivered = [("o1", 0)]
    assert rules(lost) == ["outbox"]
    twice = two()
    twice.delivered = [("o1", 0), ("o1", 1), ("o1", 1)]
    assert rules(twice) == ["outbox"]
    swapped = two()
    swapped.delivered = [("o1", 1), ("o1", 0)]
    (violation,) = check(swapped)
    assert "after" in violation.detail
    invented = two()
    invented.delivered = [("o1", 0), ("o1", 1), ("o2", 0)]
    assert rules(invented) == ["outbox"]


def test_stuck_an_order_that_nothing_will_move() -> None:
    cases = {
        End("queued", at(21, day=2), False, False): [],  # due after the end: fine
        End("queued", None, False, False): ["stuck"],
        End("dialing", None, True, False): [],  # its report will come
        End("dialing", None, False, False): ["stuck"],
        End("awaiting_disposition", None, False, True): [],  # its agent will give it
        End("awaiting_disposition", None, False, False): ["stuck"],
    }
    for end, expected in cases.items():
        assert rules(history(ends={"o1": end})) == expected, end
    overdue = history(ends={"o1": End("queued", at(12, day=2), False, False)})
    assert rules(overdue) == []  # nobody idle: it waits for an agent
    overdue.idle_agents_at_end = 2
    assert rules(overdue) == ["stuck"]


def test_callback_dialled_not_before_and_within_the_limit_of_its_time() -> None:
    due = at(10, day=1)  # 13:00 in Moscow
    on_time = call("o1", "a2", due + timedelta(minutes=3))

    def with_callback(*dials: tuple[Dial, Result]) -> History:
        h = history(dials=[d for d, _ in dials], results=[r for _, r in dials])
        return written(h, "o1", OutcomeKind.CALLBACK, at(8), callback_at=due)

    h = with_callback(on_time)
    h.delivered = [("o1", 0)]
    assert rules(h) == []
    h = with_callback()
    h.delivered = [("o1", 0)]
    assert rules(h) == ["callback"]
    h = with_callback(call("o1", "a2", due - timedelta(minutes=20)))
    h.delivered = [("o1", 0)]
    (violation,) = check(h)
    assert violation.rule == "callback" and "early" in violation.detail
    late_evening = history()  # due 18:50 in Moscow: the window closes within the limit
    written(late_evening, "o1", OutcomeKind.CALLBACK, at(8), callback_at=at(15 + 5 / 6))
    late_evening.delivered = [("o1", 0)]
    assert rules(late_evening) == []


def test_final_no_answer_only_after_three_calls_within_five_hours_on_a_day() -> None:
    dense = [call("o1", f"a{i}", at(8 + i)) for i in range(3)]  # 3 calls in 2 hours
    sparse = [call("o1", f"a{i}", at(7.5 + 4 * i, day=i // 2)) for i in range(3)]

    def final_after(calls: list[tuple[Dial, Result]], day: int = 2) -> History:
        h = history(dials=[d for d, _ in calls], results=[r for _, r in calls])
        written(h, "o1", OutcomeKind.NO_ANSWER_FINAL, at(16, day=day))
        h.delivered = [("o1", 0)]
        return h

    assert rules(final_after(dense)) == []
    same_instant = history(dials=[d for d, _ in dense], results=[r for _, r in dense])
    written(same_instant, "o1", OutcomeKind.NO_ANSWER_FINAL, dense[-1][1].at)  # with call 3
    same_instant.delivered = [("o1", 0)]
    assert rules(same_instant) == []
    assert rules(final_after(dense[:2])) == ["final-no-answer"]
    assert rules(final_after(sparse)) == ["final-no-answer"]
    h = final_after(sparse, day=9)  # the last day the horizon allows (3 + 7 days)
    h.end = at(20, day=10)
    assert rules(h) == []


def test_never_touch_no_dial_once_the_crm_status_changed_past_the_recheck_age() -> None:
    changed = at(8)
    within = call("o1", "a1", changed + timedelta(seconds=9))
    assert rules(history(dials=[within[0]], results=[within[1]],
                         leaves_queue={"o1": changed})) == []  # fmt: skip
    after = call("o1", "a1", changed + timedelta(seconds=10))
    found = check(history(dials=[after[0]], results=[after[1]], leaves_queue={"o1": changed}))
    assert [v.rule for v in found] == ["never-touch"]


def test_a_violation_prints_with_its_seed() -> None:
    v = Violation("window", "o1", at(6.5), "attempt a1 dialled outside the window")
    assert v.record(7) == {"t": "2026-03-10T06:30:00Z", "event": "violation", "rule": "window",
                           "order": "o1", "seed": 7,
                           "detail": "attempt a1 dialled outside the window"}  # fmt: skip
