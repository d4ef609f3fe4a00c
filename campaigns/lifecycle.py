"""The order lifecycle: explicit states whose transitions return the next state and effects.

States: QUEUED (waiting for its due time) → DIALING (one live attempt) → back to QUEUED,
AWAITING_DISPOSITION (the customer answered; the agent's verdict is pending) or DONE.
Transitions never do I/O: they return ``Transition(state, effects)``. The next call time is
state (``due_at``, which the store schedules by); the dispatcher dials after
``start_attempt``. The only effect is ``WriteOutcome``, saved by the dispatcher with the state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from campaigns import wording
from campaigns.calls import CallResult
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.outcomes import Outcome, OutcomeKind, manual_comment
from campaigns.retry import next_attempt_at, retry_at
from campaigns.settings import CampaignSettings
from campaigns.window import local_date
from campaigns.window import zone as tz_of


class TransitionError(Exception):
    """A transition was asked of a state that does not allow it."""


class Phase(enum.Enum):
    QUEUED = "queued"
    DIALING = "dialing"
    AWAITING_DISPOSITION = "awaiting_disposition"
    DONE = "done"


QUICK_TAB_MAX_ATTEMPTS = 3  # seed 001: "Быстрый перезвон" holds orders with 1–3 failed calls


class Priority(enum.IntEnum):
    """Seed 001's order of work: new first, then quick retries, callbacks, hourly."""

    NEW = 0
    QUICK = 1
    CALLBACK = 2
    HOURLY = 3


class OrderState(NamedTuple):
    """Where one order stands. ``zones[0]`` is its reference zone for local dates.

    A NamedTuple rather than a frozen dataclass: it is immutable all the same, and its
    construction and ``_replace`` are several times cheaper on the simulator's hot path.
    """

    order_id: str
    zones: tuple[str, ...]
    horizon_start: date
    phase: Phase = Phase.QUEUED
    due_at: datetime | None = None
    customer_attempts: int = 0
    attempt_times: tuple[datetime, ...] = ()
    callback_at: datetime | None = None
    agent_misses: int = 0
    network_failures: int = 0
    live_attempt: str | None = None
    outcome: OutcomeKind | None = None
    callback_owner: str | None = None  # the agent offered the callback first (its own)

    @property
    def priority(self) -> Priority:
        if self.callback_at is not None:
            return Priority.CALLBACK
        if self.customer_attempts == 0:
            return Priority.NEW
        quick = self.customer_attempts <= QUICK_TAB_MAX_ATTEMPTS
        return Priority.QUICK if quick else Priority.HOURLY


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    outcome: Outcome


Effect = WriteOutcome


class Transition(NamedTuple):
    """The next state and the effects to execute. A NamedTuple like ``OrderState``: every
    report builds one, and a frozen dataclass costs twice as much to construct."""

    state: OrderState
    effects: tuple[Effect, ...] = ()


_CUSTOMER_UNANSWERED = frozenset({CallResult.NO_ANSWER, CallResult.BUSY})
# A tuple, not a frozenset: ``in`` then compares identities in C instead of calling the
# enum's Python-level __hash__, once for every call's result.
_NOT_A_CUSTOMER_ATTEMPT = (CallResult.AGENT_MISSED, CallResult.CONGESTION, CallResult.FAILED)


def admit(
    order_id: str,
    zones: tuple[str, ...],
    created_at: datetime,
    now: datetime,
    settings: CampaignSettings,
) -> Transition:
    """A screened, dialable order enters the queue: new orders are due at once (001),
    or at the next window opening. One that arrived before the calling horizon
    ("Недозвон (раньше)") is not called and nothing is written."""
    horizon = local_date(created_at, zones[0])
    state = OrderState(order_id=order_id, zones=zones, horizon_start=horizon)
    if (local_date(now, zones[0]) - horizon).days >= settings.retry.calling_days:
        return Transition(state._replace(phase=Phase.DONE, outcome=OutcomeKind.SKIPPED))
    due = _next_due(state, max(now, created_at), settings)
    if due is None:
        return _final_no_answer(state, now, settings, attempt_id=None)
    return _queued(state, due)


def start_attempt(state: OrderState, now: datetime, attempt_id: str) -> Transition:
    """QUEUED → DIALING with one live attempt (the caller dials it). The caller has checked
    the window at ``now``."""
    _require(state, Phase.QUEUED)
    return Transition(state._replace(phase=Phase.DIALING, due_at=None, live_attempt=attempt_id))


def defer(state: OrderState, now: datetime, settings: CampaignSettings) -> Transition:
    """A claimed order whose window closed meanwhile goes back to its next opening."""
    _require(state, Phase.QUEUED)
    due = _next_due(state, now, settings)
    if due is None:
        return _final_no_answer(state, now, settings, attempt_id=None)
    return _queued(state, due)


def skip(state: OrderState) -> Transition:
    """Never-touch status found before the dial (000): leave the queue, write nothing."""
    return Transition(state._replace(phase=Phase.DONE, due_at=None, outcome=OutcomeKind.SKIPPED))


def on_result(
    state: OrderState,
    result: CallResult,
    *,
    started_at: datetime,
    ended_at: datetime,
    settings: CampaignSettings,
    jitter: float,
) -> Transition:
    """DIALING → next state by the call's result (business-rules §5)."""
    _require(state, Phase.DIALING)
    attempt_id = state.live_attempt
    if result in _NOT_A_CUSTOMER_ATTEMPT:
        return _not_a_customer_attempt(state, result, ended_at, settings)
    counted = state._replace(
        live_attempt=None,
        customer_attempts=state.customer_attempts + 1,
        attempt_times=(*state.attempt_times, started_at),
        callback_at=None,
        callback_owner=None,  # the owned call was made; retries go to any agent
    )
    if result is CallResult.ANSWERED:
        return Transition(counted._replace(phase=Phase.AWAITING_DISPOSITION))
    if result is CallResult.INVALID_NUMBER:
        return _done(
            counted,
            OutcomeKind.INVALID,
            ended_at,
            wording.NUMBER_DOES_NOT_EXIST,
            attempt_id=attempt_id,
            problem=wording.PROBLEM_INVALID,
        )
    return _unanswered(
        counted, result, ended_at=ended_at, settings=settings, jitter=jitter, attempt_id=attempt_id
    )


def on_disposition(
    state: OrderState,
    disposition: Disposition,
    now: datetime,
    settings: CampaignSettings,
    *,
    jitter: float = 0.0,
) -> Transition:
    """The agent's or the CRM's verdict, after an answered call or while queued.

    «Недозвон» (NO_ANSWER: the line dropped, nobody spoke) is an answered call's verdict
    only: the call counts as an unanswered customer attempt and the order follows the
    no-answer ladder of §5 from ``now``, ``jitter`` spreading its quick retry as for
    ``on_result``. Every other verdict may also end a queued order."""
    if state.phase not in (Phase.AWAITING_DISPOSITION, Phase.QUEUED):
        raise TransitionError(f"order {state.order_id} is {state.phase.value}")
    note = wording.note(disposition.comment)
    if disposition.kind is DispositionKind.NO_ANSWER:
        if state.phase is not Phase.AWAITING_DISPOSITION:
            raise TransitionError(f"order {state.order_id} is {state.phase.value}: "
                                  "no_answer is the verdict on an answered call")  # fmt: skip
        return _unanswered(
            state, CallResult.NO_ANSWER, ended_at=now, settings=settings, jitter=jitter,
            attempt_id=None, note=note,
        )  # fmt: skip
    if disposition.kind is DispositionKind.CALLBACK:
        if disposition.callback_at is None:  # Disposition refuses this; for the type checker
            raise TransitionError("a callback needs callback_at")
        owned = state._replace(callback_owner=disposition.owner)
        return _callback(owned, disposition.callback_at, now, settings, note)
    return _verdict(state, disposition, now, note)


def _verdict(state: OrderState, disposition: Disposition, now: datetime, note: str) -> Transition:
    """A verdict that ends the order: confirmed, refused, invalid, consultation."""
    kind = disposition.kind
    if kind is DispositionKind.CONFIRMED:
        return _done(state, OutcomeKind.CONFIRMED, now, wording.confirmed(note))
    if kind is DispositionKind.REFUSED:
        text = wording.refused(disposition.reason, note)
        return _done(state, OutcomeKind.REFUSED, now, text, problem=disposition.reason)
    if kind is DispositionKind.INVALID:
        problem = disposition.reason or wording.PROBLEM_INVALID
        return _done(state, OutcomeKind.INVALID, now, wording.invalid(note), problem=problem)
    if kind is DispositionKind.CONSULT:
        return _done(state, OutcomeKind.CONSULT, now, wording.consult(note))
    raise TransitionError(f"no verdict {kind.value!r}")


def _callback(
    state: OrderState,
    wanted: datetime,
    now: datetime,
    settings: CampaignSettings,
    note: str,
) -> Transition:
    due = next_attempt_at(
        max(wanted, now),
        zones=state.zones,
        window=settings.window,
        retry=settings.retry,
        horizon_start=local_date(max(wanted, now), state.zones[0]),
        attempt_times=(),
    ) or max(wanted, now)
    later = state._replace(
        phase=Phase.QUEUED,
        due_at=due,
        callback_at=due,
        horizon_start=local_date(due, state.zones[0]),
        attempt_times=(),
    )
    local = due.astimezone(tz_of(state.zones[0]))
    outcome = _outcome(
        later,
        OutcomeKind.CALLBACK,
        now,
        wording.callback(local, note),
        problem=wording.PROBLEM_CALLBACK,
        callback_at=due,
    )
    return Transition(later, (WriteOutcome(outcome),))


def _unanswered(
    state: OrderState,
    result: CallResult,
    *,
    ended_at: datetime,
    settings: CampaignSettings,
    jitter: float,
    attempt_id: str | None,
    note: str = "",
) -> Transition:
    n = state.customer_attempts
    asked = retry_at(
        ended_at,
        n,
        retry=settings.retry,
        jitter=jitter,
        zones=state.zones,
        window=settings.window,
        ring_timeout=timedelta(seconds=settings.ring_timeout_s),
    )
    due = _next_due(state, asked, settings)
    if due is None:
        return _final_no_answer(state, ended_at, settings, attempt_id=attempt_id)
    callback = due if n > settings.retry.quick_retries else None
    outcome = _outcome(
        state,
        OutcomeKind.NO_ANSWER,
        ended_at,
        wording.no_answer(n, busy=result is CallResult.BUSY) + note,
        problem=wording.PROBLEM_NO_ANSWER,
        callback_at=callback,
        attempt_id=attempt_id,
    )
    queued = state._replace(phase=Phase.QUEUED, due_at=due)
    return Transition(queued, (WriteOutcome(outcome),))


def _not_a_customer_attempt(
    state: OrderState,
    result: CallResult,
    ended_at: datetime,
    settings: CampaignSettings,
) -> Transition:
    if result is CallResult.AGENT_MISSED:
        state = state._replace(live_attempt=None, agent_misses=state.agent_misses + 1)
        earliest = ended_at
    else:
        state = state._replace(live_attempt=None, network_failures=state.network_failures + 1)
        earliest = ended_at + timedelta(seconds=settings.retry.network_retry_s)
    due = _next_due(state, earliest, settings)
    if due is None:
        return _final_no_answer(state, ended_at, settings, attempt_id=None)
    return _queued(state, due)


def _final_no_answer(
    state: OrderState,
    at: datetime,
    settings: CampaignSettings,
    attempt_id: str | None,
) -> Transition:
    del settings
    text = wording.no_answer_final(state.customer_attempts)
    return _done(
        state,
        OutcomeKind.NO_ANSWER_FINAL,
        at,
        text,
        attempt_id=attempt_id,
        problem=wording.PROBLEM_NO_ANSWER,
    )


def _done(
    state: OrderState,
    kind: OutcomeKind,
    at: datetime,
    text: str,
    *,
    attempt_id: str | None = None,
    problem: str | None = None,
) -> Transition:
    done = state._replace(
        phase=Phase.DONE, due_at=None, outcome=kind, callback_at=None, callback_owner=None
    )
    outcome = _outcome(done, kind, at, text, problem=problem, attempt_id=attempt_id)
    return Transition(done, (WriteOutcome(outcome),))


def _outcome(
    state: OrderState,
    kind: OutcomeKind,
    at: datetime,
    text: str,
    *,
    problem: str | None = None,
    callback_at: datetime | None = None,
    attempt_id: str | None = None,
) -> Outcome:
    return Outcome(
        order_id=state.order_id,
        kind=kind,
        at=at,
        attempt_no=state.customer_attempts,
        call_made=state.customer_attempts > 0,
        problem=problem,
        callback_at=callback_at,
        comment=manual_comment(at, state.zones[0], text),
        attempt_id=attempt_id,
    )


def _queued(state: OrderState, due: datetime) -> Transition:
    return Transition(state._replace(phase=Phase.QUEUED, due_at=due))


def _next_due(state: OrderState, earliest: datetime, settings: CampaignSettings) -> datetime | None:
    return next_attempt_at(
        earliest,
        zones=state.zones,
        window=settings.window,
        retry=settings.retry,
        horizon_start=state.horizon_start,
        attempt_times=state.attempt_times,
    )


def _require(state: OrderState, phase: Phase) -> None:
    if state.phase is not phase:
        raise TransitionError(
            f"order {state.order_id} is {state.phase.value}, expected {phase.value}"
        )
