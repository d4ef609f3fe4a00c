"""The dispatcher: matches due orders with free agents and applies call results.

The same object runs the live service (real clock, AMI telephony, SQL store) and the
simulator (virtual clock, simulated telephony, in-memory store). It is synchronous and
never reads a clock: every entry point takes ``now`` or a report carrying its time.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from campaigns import lifecycle, wording
from campaigns.calls import CallReport, CallResult, OriginateRequest
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.duplicates import handled_since
from campaigns.lifecycle import Transition, WriteOutcome
from campaigns.orders import Order
from campaigns.outcomes import Outcome, OutcomeKind, manual_comment
from campaigns.screening import Screening, Verdict
from campaigns.settings import CampaignSettings
from campaigns.trunk import TrunkGuard
from campaigns.window import window_open
from dialer.dispatch.agents import AgentPool
from dialer.dispatch.members import MemberAgents
from dialer.dispatch.ports import (
    AttemptRecord,
    Journal,
    OrderStore,
    QueueEntry,
    StoreConflict,
    Telephony,
)
from dialer.faults import crash_point

log = logging.getLogger("dialer.dispatcher")
_ASCII_DIGITS = frozenset(
    "0123456789"
)  # str.isdigit also takes "²" and "١", which no dial string may carry

Screen = Callable[[Order, datetime], Screening]
StatusCheck = Callable[[Order], bool | None]
"""Right before a dial: True dials, False makes the order leave the queue silently, None
(not known yet, e.g. the CRM's answer is still on its way) releases the claim untouched so
a later ``dispatch`` tries the order again."""

_SCREEN_OUTCOMES: dict[Verdict, tuple[OutcomeKind, str, str]] = {
    Verdict.INVALID: (OutcomeKind.INVALID, wording.PROBLEM_INVALID, wording.INVALID_AT_SCREENING),
    Verdict.SPAM: (OutcomeKind.SPAM, wording.PROBLEM_SPAM, wording.SPAM_AT_SCREENING),
    Verdict.CONSULT: (OutcomeKind.CONSULT, wording.PROBLEM_CONSULT, wording.OUTSIDE_COUNTRIES),
}


def originate_request(settings: CampaignSettings, attempt: AttemptRecord) -> OriginateRequest:
    """The Originate for ``attempt`` under the campaign's settings: the one builder, used for
    a new attempt and for one a restarted process adopts."""
    return OriginateRequest(
        attempt_id=attempt.id,
        order_id=attempt.order_id,
        agent=attempt.agent,
        customer_number=attempt.e164,
        announce_digits=_announce_digits(attempt.order_id),
        ring_timeout_s=settings.ring_timeout_s,
        accept_timeout_s=settings.agent_accept_timeout_s,
        language=settings.language,
        agent_channel_template=settings.agent_channel_template,
        customer_channel_template=settings.customer_channel_template,
    )


@lru_cache(maxsize=4096)
def _announce_digits(order_id: str) -> str:
    """The order id's ASCII digits, at most 12 (an order is dialled several times)."""
    return "".join(c for c in order_id if c in _ASCII_DIGITS)[:12]


class DispatchError(Exception):
    """A report or disposition named an attempt or order the dispatcher does not know."""


class WindowClosedError(DispatchError):
    """A manager asked for a call the calling window does not allow now."""


class Dispatcher:
    """Admits orders, starts attempts for due orders while agents are free, and turns
    telephony reports and dispositions into state, attempts and outcomes."""

    def __init__(
        self,
        *,
        settings: CampaignSettings,
        store: OrderStore,
        telephony: Telephony,
        agents: AgentPool | MemberAgents,
        journal: Journal,
        screen: Screen,
        new_attempt_id: Callable[[], str],
        jitter: Callable[[], float],
        status_check: StatusCheck | None = None,
        claim_batch: int = 16,
    ) -> None:
        self._settings = settings
        self._store = store
        self._telephony = telephony
        self._agents = agents
        self._journal = journal
        self._screen = screen
        self._new_attempt_id = new_attempt_id
        self._jitter = jitter
        self._status_check = status_check
        self._claim_batch = claim_batch
        self._live: dict[str, AttemptRecord] = {}
        # how many live attempts of this process call each number (the store refuses a
        # second one: it used to raise StoreConflict out of dispatch)
        self._live_numbers: Counter[str] = Counter()
        # the calling window per zone set at the instant of the running dispatch: one round
        # launches many orders of the same few zones (cleared at the start of each dispatch)
        self._open_now: dict[tuple[str, ...], bool] = {}
        retry = settings.retry
        self._trunk = TrunkGuard(retry.trunk_pause_after, timedelta(seconds=retry.trunk_pause_s))

    @property
    def live_attempts(self) -> int:
        return len(self._live)

    def has_live(self, attempt_id: str) -> bool:
        """This dispatcher started ``attempt_id`` and awaits its report (several campaigns
        share a server's telephony: the report goes to the one that started it)."""
        return attempt_id in self._live

    def admit(self, orders: Iterable[Order], now: datetime) -> int:
        """Screen and queue new orders, oldest first so a duplicate's oldest is kept."""
        admitted = 0
        for order in sorted(orders, key=lambda o: (o.created_at, o.id)):
            if self._store.get(order.id) is None:
                admitted += self._admit_one(order, now)
        return admitted

    def dispatch(self, now: datetime, limit: int | None = None) -> int:
        """Start attempts for due orders while agents are free, at most ``limit`` (the
        service's pacing); returns how many."""
        started = 0
        # Claimed orders that cannot be dialled now (status not known yet, number or owner
        # busy): kept claimed so the next claim of this round reaches past them, released
        # untouched at the end (they stay at the head of the queue for the next round). If
        # the round fails they stay claimed like the rest of its batch, until the claim
        # lapses (the SQL store's lease; the simulator's crash and outage).
        held: dict[str, QueueEntry] = {}
        self._open_now.clear()
        if self._trunk.is_paused(now):
            return 0
        while (free := self._agents.idle_count(now)) > 0:
            room = free if limit is None else min(free, limit - started)
            wanted = min(room + len(held), self._claim_batch) - len(held)
            if room <= 0 or wanted <= 0:
                break
            batch = self._store.claim_due(now, wanted)
            if not batch:
                break
            crash_point("claimed")
            for entry in batch:
                started += self._launch(entry, now, held)
        for entry in held.values():
            self._store.save(entry)  # release the claim untouched
        return started

    def on_report(self, report: CallReport) -> str | None:
        """Apply the end of an attempt (exactly once per attempt); returns the order's id when
        it now awaits the agent's verdict (the call was answered), else None. If the store
        fails, the attempt stays live and the same report may be applied again later."""
        attempt = self._live.get(report.attempt_id)
        if attempt is None:
            raise DispatchError(f"no live attempt {report.attempt_id!r}")
        entry = self._entry(attempt.order_id)
        now = report.ended_at
        t = lifecycle.on_result(
            entry.state,
            report.result,
            started_at=attempt.started_at,
            ended_at=now,
            settings=self._settings,
            jitter=self._jitter(),
        )
        ended = AttemptRecord(  # every field after started_at is the report's (no _replace:
            attempt.id,  # it is several times slower, and this runs once per call)
            attempt.order_id,
            attempt.e164,
            attempt.agent,
            attempt.number,
            attempt.started_at,
            customer_attempt=t.state.customer_attempts > entry.state.customer_attempts,
            ended_at=now,
            result=report.result,
            detail=report.detail,
            recording=report.recording,
            answered_at=report.answered_at,
        )
        outcomes = self._apply(entry, t, attempt=ended)
        self._ended(attempt)
        self._trunk, alert = self._trunk.record(report.result, now)
        if alert is not None:
            log.error("%s: %s", self._settings.name, alert)
        awaiting = t.state.phase is lifecycle.Phase.AWAITING_DISPOSITION
        owes = attempt.order_id if awaiting else None
        missed = report.result is CallResult.AGENT_MISSED
        self._agents.release(attempt.agent, now, missed=missed, owes=owes)
        self._journal.result(entry, ended)
        self._log_outcomes(outcomes)
        return owes

    def on_disposition(
        self, order_id: str, disposition: Disposition, now: datetime, *, from_crm: bool = False
    ) -> None:
        """The verdict on an order. ``from_crm``: the CRM's own result of an answered call
        (issue 15 §3), taken only while the order still awaits one (else TransitionError:
        the first result won) and recorded without a write back to the CRM."""
        entry = self._entry(order_id)
        if from_crm and entry.state.phase is not lifecycle.Phase.AWAITING_DISPOSITION:
            raise lifecycle.TransitionError(f"order {order_id} is {entry.state.phase.value}")
        # «Недозвон» retries like an unanswered call, spread by the same jitter; the others
        # need none (drawn only when used, so the simulator's random sequence is unchanged)
        no_answer = disposition.kind is DispositionKind.NO_ANSWER
        jitter = self._jitter() if no_answer else 0.0
        t = lifecycle.on_disposition(entry.state, disposition, now, self._settings, jitter=jitter)
        if from_crm:
            kept = tuple(WriteOutcome(e.outcome._replace(write_back=False)) for e in t.effects)
            t = Transition(t.state, kept)
        self._log_outcomes(self._apply(entry, t))
        self._agents.result_given(order_id, now)

    def requeue(self, order_id: str, now: datetime) -> None:
        """Ops: a queued order is due at ``now`` (it keeps its attempts and priority)."""
        entry = self._entry(order_id)
        if entry.state.phase is not lifecycle.Phase.QUEUED:
            raise lifecycle.TransitionError(f"order {order_id} is {entry.state.phase.value}")
        self._apply(entry, Transition(entry.state._replace(due_at=now)))

    def call_now(self, order_id: str, agent: str, now: datetime) -> None:
        """A manager's click-to-call (RetailCRM's makeCallUrl, issue 17 §2): the queued
        order is due at ``now`` and owned by ``agent``, so it is offered to that agent first
        like an owned callback (to any agent after ``callback_owner_grace_s``). The calling
        window protects the customer from a click too (WindowClosedError); the status
        re-check, the one-call-per-number rule and the dial gate apply as to any dial."""
        entry = self._entry(order_id)
        if entry.state.phase is not lifecycle.Phase.QUEUED:
            raise lifecycle.TransitionError(f"order {order_id} is {entry.state.phase.value}")
        if not window_open(now, entry.state.zones, self._settings.window):
            zones = ", ".join(entry.state.zones)
            raise WindowClosedError(
                f"order {order_id}: outside the calling window in the customer's time ({zones})"
            )
        due = entry.state._replace(due_at=now, callback_owner=agent)
        self._apply(entry, Transition(due))

    def cancel(self, order_id: str) -> None:
        """Ops: a queued order, or one awaiting its verdict, is done and skipped; nothing is
        written back to the CRM."""
        entry = self._entry(order_id)
        if entry.state.phase not in (lifecycle.Phase.QUEUED, lifecycle.Phase.AWAITING_DISPOSITION):
            raise lifecycle.TransitionError(f"order {order_id} is {entry.state.phase.value}")
        self._apply(entry, lifecycle.skip(entry.state))

    @property
    def settings(self) -> CampaignSettings:
        return self._settings

    def use_settings(self, settings: CampaignSettings) -> None:
        """New campaign settings for the next dials and transitions (window, retries,
        timeouts, channel templates); the trunk guard keeps its running count."""
        self._settings = settings

    def recover(self, attempts: Sequence[AttemptRecord]) -> None:
        """After a restart: live attempts found in the store await their reports again."""
        for attempt in attempts:
            if attempt.id not in self._live:
                self._went_live(attempt)

    def next_wakeup(self, now: datetime) -> datetime | None:
        """When dispatch can next do something without a new report or order."""
        if self._trunk.is_paused(now):
            return self._trunk.paused_until
        if self._agents.idle_count(now) == 0:
            return self._agents.next_free_at()
        return self._store.next_due_at()

    def _admit_one(self, order: Order, now: datetime) -> int:
        screening = self._screen(order, now)
        zones = screening.zones or (self._settings.default_tz,)
        t = lifecycle.admit(order.id, zones, order.created_at, now, self._settings)
        since = handled_since(order, self._settings.duplicate_window_days)
        duplicate_of = self._store.earlier_order_with_identity(screening.identity, since)
        if screening.verdict is not Verdict.DIAL or duplicate_of is not None:
            t = self._rejected(t, screening, duplicate_of, now)
        entry = QueueEntry(order, screening.e164, screening.identity, t.state)
        outcomes = [e.outcome for e in t.effects if isinstance(e, WriteOutcome)]
        if not self._store.insert(entry, outcomes):
            return 0  # another node admitted it since the look-up: a known order
        self._log_outcomes(outcomes)
        return int(t.state.phase is lifecycle.Phase.QUEUED)

    def _rejected(
        self, t: Transition, screening: Screening, duplicate_of: str | None, now: datetime
    ) -> Transition:
        state = t.state._replace(phase=lifecycle.Phase.DONE, due_at=None)
        zone = state.zones[0]
        if screening.verdict in (Verdict.SKIP, Verdict.DO_NOT_CALL):
            return Transition(state._replace(outcome=OutcomeKind.SKIPPED))
        if screening.verdict is Verdict.DIAL:
            kind, problem = OutcomeKind.DUPLICATE, wording.PROBLEM_DUPLICATE
            text = wording.duplicate_of(duplicate_of)
        else:
            kind, problem, text = _SCREEN_OUTCOMES[screening.verdict]
        outcome = Outcome(
            order_id=state.order_id,
            kind=kind,
            at=now,
            attempt_no=0,
            call_made=False,
            problem=problem,
            comment=manual_comment(now, zone, text),
        )
        return Transition(state._replace(outcome=kind), (WriteOutcome(outcome),))

    def _launch(self, entry: QueueEntry, now: datetime, held: dict[str, QueueEntry]) -> int:
        state = entry.state
        is_open = self._open_now.get(state.zones)
        if is_open is None:
            is_open = self._open_now[state.zones] = window_open(
                now, state.zones, self._settings.window
            )
        if not is_open:
            self._apply(entry, lifecycle.defer(state, now, self._settings))
            return 0
        verdict = True if self._status_check is None else self._status_check(entry.order)
        if verdict is None:
            held[entry.order.id] = entry  # released untouched by dispatch; asked again later
            return 0
        if not verdict:
            self._apply(entry, lifecycle.skip(state))
            return 0
        if entry.e164 in self._live_numbers:  # two orders, one number: one call at a time
            held[entry.order.id] = entry  # released untouched by dispatch; due next round
            return 0
        owner = state.callback_owner
        owned = owner is not None and self._owner_waits(owner, state.due_at or now, now)
        agent = self._agents.acquire(now, only=owner if owned else None)
        if agent is None or entry.e164 is None:
            if owned:
                held[entry.order.id] = entry  # its agent is not ready: the others go on
            else:
                self._store.save(entry)  # release the claim untouched
            return 0
        return self._start(entry, agent, entry.e164, now, held)

    def _owner_waits(self, owner: str, due: datetime, now: datetime) -> bool:
        """An owned callback is offered to its agent alone until the grace runs out."""
        grace = timedelta(seconds=self._settings.callback_owner_grace_s)
        return self._agents.knows(owner) and now < due + grace

    def _start(
        self, entry: QueueEntry, agent: str, e164: str, now: datetime, held: dict[str, QueueEntry]
    ) -> int:
        """Write the attempt, then originate; 0 if the store refuses the attempt."""
        state = entry.state
        attempt_id = self._new_attempt_id()
        t = lifecycle.start_attempt(state, now, attempt_id)
        attempt = AttemptRecord(
            id=attempt_id,
            order_id=entry.order.id,
            e164=e164,
            agent=agent,
            number=state.customer_attempts + 1,
            started_at=now,
        )
        try:
            self._apply(entry, t, attempt=attempt)
        except StoreConflict:  # another node calls this number now (several nodes, one DB)
            self._agents.give_back(agent, now)
            held[entry.order.id] = entry  # released untouched by dispatch; due next round
            return 0
        except Exception:
            self._agents.give_back(agent, now)  # nothing was dialled: the agent is free again
            raise
        self._went_live(attempt)
        self._journal.dial(entry, attempt, now)
        self._telephony.originate(originate_request(self._settings, attempt))
        return 1

    def _went_live(self, attempt: AttemptRecord) -> None:
        self._live[attempt.id] = attempt
        self._live_numbers[attempt.e164] += 1

    def _ended(self, attempt: AttemptRecord) -> None:
        del self._live[attempt.id]
        self._live_numbers[attempt.e164] -= 1
        if not self._live_numbers[attempt.e164]:
            del self._live_numbers[attempt.e164]

    def _apply(
        self, entry: QueueEntry, t: Transition, *, attempt: AttemptRecord | None = None
    ) -> list[Outcome]:
        effects = t.effects
        outcomes = [e.outcome for e in effects if isinstance(e, WriteOutcome)] if effects else []
        updated = QueueEntry(entry.order, entry.e164, entry.identity, t.state)
        self._store.save(updated, attempt=attempt, outcomes=outcomes)
        if outcomes:
            crash_point("outcome_written")
        return outcomes

    def _log_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            self._journal.outcome(outcome)

    def _entry(self, order_id: str) -> QueueEntry:
        entry = self._store.get(order_id)
        if entry is None:
            raise DispatchError(f"unknown order {order_id!r}")
        return entry
