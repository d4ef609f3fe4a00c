"""Business rules §5–§6 on the pure lifecycle: retries, horizon, outcomes, comments."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from campaigns import lifecycle
from campaigns.calls import CallResult
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.lifecycle import (
    OrderState,
    Phase,
    Priority,
    TransitionError,
    WriteOutcome,
)
from campaigns.outcomes import Outcome, OutcomeKind
from campaigns.settings import CampaignSettings

MSK = ("Europe/Moscow",)
S = CampaignSettings()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def admitted(created: datetime, now: datetime | None = None, zones=MSK) -> OrderState:
    t = lifecycle.admit("1001", zones, created, now or created, S)
    return t.state


def call(
    state: OrderState, result: CallResult, start: datetime, seconds: int = 30, jitter: float = 0.0
) -> lifecycle.Transition:
    dialing = lifecycle.start_attempt(state, start, f"a{state.customer_attempts}").state
    return lifecycle.on_result(
        dialing,
        result,
        started_at=start,
        ended_at=start + timedelta(seconds=seconds),
        settings=S,
        jitter=jitter,
    )


def outcomes(t: lifecycle.Transition) -> list[Outcome]:
    return [e.outcome for e in t.effects if isinstance(e, WriteOutcome)]


def test_rule_4_new_order_inside_window_is_due_at_once() -> None:
    created = utc(2026, 3, 10, 9, 0)  # 12:00 Moscow
    state = admitted(created)
    assert state.phase is Phase.QUEUED
    assert state.due_at == created
    assert state.priority is Priority.NEW


def test_rule_4_new_order_at_night_is_due_at_next_window_opening() -> None:
    state = admitted(utc(2026, 3, 10, 18, 30))  # 21:30 Moscow
    assert state.due_at == utc(2026, 3, 11, 7, 0)  # 10:00 Moscow next day


@pytest.mark.parametrize(("jitter", "seconds"), [(0.0, 120), (0.5, 150), (0.999, 180)])
def test_rule_5_first_three_unanswered_calls_retry_in_two_to_three_minutes(
    jitter: float, seconds: float
) -> None:
    start = utc(2026, 3, 10, 9, 0)
    t = call(admitted(start), CallResult.NO_ANSWER, start, jitter=jitter)
    ended = start + timedelta(seconds=30)
    assert t.state.due_at is not None
    assert (t.state.due_at - ended).total_seconds() == pytest.approx(seconds, abs=0.01)
    assert t.state.priority is Priority.QUICK


def test_rule_5_fourth_unanswered_call_retries_in_one_hour() -> None:
    start = utc(2026, 3, 10, 8, 0)
    state = admitted(start)
    for i in range(4):
        t = call(state, CallResult.NO_ANSWER, start + timedelta(minutes=5 * i))
        state = t.state
    assert state.customer_attempts == 4
    assert state.due_at == start + timedelta(minutes=15, seconds=30, hours=1)
    assert state.priority is Priority.HOURLY


def test_rule_5_busy_counts_as_an_unanswered_customer_attempt() -> None:
    start = utc(2026, 3, 10, 9, 0)
    t = call(admitted(start), CallResult.BUSY, start)
    assert t.state.customer_attempts == 1
    assert outcomes(t)[0].comment.endswith("не отвечает-1, занято")


def test_rule_5_retry_that_falls_after_window_close_moves_to_next_opening() -> None:
    start = utc(2026, 3, 10, 15, 58)  # 18:58 Moscow: the retry would land after 19:00
    t = call(admitted(start), CallResult.NO_ANSWER, start)
    assert t.state.due_at == utc(2026, 3, 11, 7, 0)


# The window's edge (campaigns/retry.py): 19:00 Moscow closes, ring timeout 30 s, quick
# retries 120–180 s after the call ended. Jitter 0.9 asks for 120 + 54 = 174 s.
@pytest.mark.parametrize(
    ("ended", "due"),
    [
        # earliest 18:59:30 leaves exactly one ring timeout (asked: 19:00:24): due then
        (utc(2026, 3, 10, 15, 57, 30), utc(2026, 3, 10, 15, 59, 30)),
        # earliest 18:59:10 leaves more (asked: 19:00:04): due at 18:59:30, the last
        # instant that leaves a full ring timeout
        (utc(2026, 3, 10, 15, 57, 10), utc(2026, 3, 10, 15, 59, 30)),
    ],
)
def test_rule_5_a_jittered_retry_past_closing_uses_what_is_left_of_the_window(
    ended: datetime, due: datetime
) -> None:
    t = call(admitted(ended), CallResult.NO_ANSWER, ended - timedelta(seconds=30), jitter=0.9)
    assert t.state.due_at == due


def test_rule_5_a_retry_with_less_than_a_ring_timeout_left_moves_to_the_next_opening() -> None:
    ended = utc(2026, 3, 10, 15, 57, 31)  # earliest 18:59:31 leaves 29 s < 30 s
    t = call(admitted(ended), CallResult.NO_ANSWER, ended - timedelta(seconds=30), jitter=0.9)
    assert t.state.due_at == utc(2026, 3, 11, 7, 0)  # 10:00 Moscow next day


def test_rule_5_a_jittered_retry_inside_the_window_keeps_its_jitter() -> None:
    ended = utc(2026, 3, 10, 15, 55, 0)  # 18:55 + 174 s = 18:57:54, well inside
    t = call(admitted(ended), CallResult.NO_ANSWER, ended - timedelta(seconds=30), jitter=0.9)
    assert t.state.due_at == ended + timedelta(seconds=174)


def test_rule_5_agent_missed_is_not_a_customer_attempt_and_requeues_at_once() -> None:
    start = utc(2026, 3, 10, 9, 0)
    t = call(admitted(start), CallResult.AGENT_MISSED, start, seconds=10)
    assert t.state.customer_attempts == 0
    assert t.state.agent_misses == 1
    assert t.state.due_at == start + timedelta(seconds=10)
    assert t.state.priority is Priority.NEW
    assert outcomes(t) == []


@pytest.mark.parametrize("result", [CallResult.CONGESTION, CallResult.FAILED])
def test_rule_5_trunk_congestion_is_not_a_customer_attempt_and_retries_soon(
    result: CallResult,
) -> None:
    start = utc(2026, 3, 10, 9, 0)
    t = call(admitted(start), result, start, seconds=2)
    assert t.state.customer_attempts == 0
    assert t.state.network_failures == 1
    assert t.state.due_at == start + timedelta(seconds=62)
    assert outcomes(t) == []


def test_rule_5_unallocated_number_ends_invalid_with_problem() -> None:
    start = utc(2026, 3, 10, 9, 0)
    t = call(admitted(start), CallResult.INVALID_NUMBER, start)
    assert t.state.phase is Phase.DONE
    [outcome] = outcomes(t)
    assert outcome.kind is OutcomeKind.INVALID
    assert outcome.problem == "Невалидный номер"


def run_until_done(state: OrderState, first: datetime) -> tuple[OrderState, list[Outcome]]:
    now, written = first, []
    while state.phase is Phase.QUEUED:
        assert state.due_at is not None
        now = max(now, state.due_at)
        t = call(state, CallResult.NO_ANSWER, now)
        written += outcomes(t)
        state, now = t.state, now + timedelta(seconds=30)
    return state, written


def test_rule_5_calling_stops_after_three_local_days_with_final_no_answer() -> None:
    created = utc(2026, 3, 10, 9, 0)  # Tuesday 12:00 Moscow
    state, written = run_until_done(admitted(created), created)
    assert state.outcome is OutcomeKind.NO_ANSWER_FINAL
    final = written[-1]
    assert final.kind is OutcomeKind.NO_ANSWER_FINAL
    last_call_day = final.at.astimezone(UTC).date()
    assert last_call_day == date(2026, 3, 12)  # arrival day + 2
    assert all(o.kind is OutcomeKind.NO_ANSWER for o in written[:-1])


def test_rule_5_final_no_answer_needs_a_day_with_three_calls_within_five_hours() -> None:
    settings = replace(S, retry=replace(S.retry, quick_retries=0, slow_retry_s=4 * 3600))
    created = utc(2026, 3, 10, 7, 0)  # 10:00 Moscow; calls every 4 h → ≤3 a day, 8 h apart
    state = lifecycle.admit("1", MSK, created, created, settings).state
    now = created
    while state.phase is Phase.QUEUED:
        assert state.due_at is not None
        now = max(now, state.due_at)
        d = lifecycle.start_attempt(state, now, "x").state
        state = lifecycle.on_result(
            d, CallResult.NO_ANSWER, started_at=now, ended_at=now, settings=settings, jitter=0
        ).state
    days = {t.date() for t in state.attempt_times}
    assert len(days) > 3  # went on past the third day: no day was dense enough
    assert len(days) <= 3 + settings.retry.max_extra_days


def test_rule_5_callback_happens_at_requested_time_clamped_into_window() -> None:
    start = utc(2026, 3, 10, 9, 0)
    answered = call(admitted(start), CallResult.ANSWERED, start).state
    assert answered.phase is Phase.AWAITING_DISPOSITION
    wanted = utc(2026, 3, 10, 17, 0)  # 20:00 Moscow: outside → next day 10:00
    t = lifecycle.on_disposition(
        answered, Disposition(DispositionKind.CALLBACK, callback_at=wanted), start, S
    )
    assert t.state.due_at == utc(2026, 3, 11, 7, 0)
    assert t.state.priority is Priority.CALLBACK
    [outcome] = outcomes(t)
    assert outcome.kind is OutcomeKind.CALLBACK
    assert outcome.problem == "Нужно перезвонить"
    assert outcome.callback_at == utc(2026, 3, 11, 7, 0)
    assert t.effects == (WriteOutcome(outcome),)  # the call time is the state's due_at


def test_rule_6_comment_uses_the_customers_local_date() -> None:
    start = utc(2026, 3, 10, 21, 0)  # 10 March UTC, already 11 March in Vladivostok (UTC+10)
    zones = ("Asia/Vladivostok",)
    t = call(admitted(start, zones=zones), CallResult.NO_ANSWER, start)
    assert outcomes(t)[0].comment == "11.03 - не отвечает-1"


def test_rule_6_callback_time_is_written_from_the_fourth_attempt_only() -> None:
    start = utc(2026, 3, 10, 7, 0)
    state, written = admitted(start), []
    for i in range(4):
        t = call(state, CallResult.NO_ANSWER, start + timedelta(minutes=5 * i))
        state, written = t.state, written + outcomes(t)
    assert [o.callback_at is not None for o in written] == [False, False, False, True]
    assert written[3].callback_at == state.due_at


def test_rule_6_confirmed_writes_no_problem_and_no_callback() -> None:
    start = utc(2026, 3, 10, 9, 0)
    answered = call(admitted(start), CallResult.ANSWERED, start).state
    t = lifecycle.on_disposition(answered, Disposition(DispositionKind.CONFIRMED), start, S)
    [outcome] = outcomes(t)
    assert (outcome.kind, outcome.problem, outcome.callback_at, outcome.call_made) == (
        OutcomeKind.CONFIRMED,
        None,
        None,
        True,
    )
    assert outcome.comment == "10.03 - подтвержден"


def test_rule_6_refusal_requires_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        Disposition(DispositionKind.REFUSED, reason="  ")
    d = Disposition(DispositionKind.REFUSED, reason="Передумал")
    start = utc(2026, 3, 10, 9, 0)
    answered = call(admitted(start), CallResult.ANSWERED, start).state
    [outcome] = outcomes(lifecycle.on_disposition(answered, d, start, S))
    assert outcome.problem == "Передумал"


def test_rule_2_order_older_than_the_calling_days_is_not_called() -> None:
    state = admitted(utc(2026, 3, 1, 9, 0), now=utc(2026, 3, 10, 9, 0))
    assert state.phase is Phase.DONE
    assert state.outcome is OutcomeKind.SKIPPED


def test_a_live_attempt_cannot_be_started_twice() -> None:
    start = utc(2026, 3, 10, 9, 0)
    dialing = lifecycle.start_attempt(admitted(start), start, "a1").state
    with pytest.raises(TransitionError):
        lifecycle.start_attempt(dialing, start, "a2")
