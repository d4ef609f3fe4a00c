"""The simulator's telephony double and virtual clock: callees that behave as told."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache

from campaigns.calls import CallReport, CallResult, OriginateRequest
from campaigns.dispositions import Disposition, DispositionKind
from campaigns.settings import CampaignSettings
from dialer.ami.dial_gate import InvalidRequest, check_request
from dialer.clock_text import parse_utc
from dialer.sim.crm import StatusChange

AGENT_ANSWER_S = 3
ANNOUNCE_S = 4
CUSTOMER_PICKUP_S = 8
BUSY_S = 3
LOST = "call ended while AMI was down and left no record; outcome lost"  # the tracker's


@dataclass(frozen=True, slots=True)
class SimCallee:
    """How one order's people behave in the simulation.

    ``answer_on_attempt``: the customer attempt the customer answers (None: never).
    ``agent_misses``: how many offers of this order the agents miss before one presses 1.
    ``unanswered``: what an unanswered attempt looks like (no_answer, busy, ...).
    ``status_change``: when the order's CRM status changes (``sim.cancel_at``,
    ``sim.status_at``), for the status re-check.
    After a callback disposition the customer answers the next call and confirms.
    """

    answer_on_attempt: int | None
    disposition: str = "confirmed"
    agent_misses: int = 0
    unanswered: CallResult = CallResult.NO_ANSWER
    status_change: StatusChange | None = None


_Event = tuple[datetime, int, Callable[[], object]]  # (when, sequence for ties, action)


class VirtualClock:
    """The simulation's only clock: a heap of future events."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._events: list[_Event] = []
        self._seq = 0

    def call_at(self, at: datetime, action: Callable[[], object]) -> None:
        self._seq += 1
        heapq.heappush(self._events, (max(at, self.now), self._seq, action))

    def next_at(self) -> datetime | None:
        return self._events[0][0] if self._events else None

    def run_due(self) -> None:
        while self._events and self._events[0][0] <= self.now:
            heapq.heappop(self._events)[2]()


class SimTelephony:
    """Telephony double: decides each call's result from the order's ``SimCallee`` and
    reports it after the time the call would take. It passes the telephony contract
    (tests/contract/test_telephony_contract.py) as ``AmiTelephony`` does: the same dial-string
    gate, one live call per attempt id, and a ``close`` that may be called twice."""

    def __init__(
        self, clock: VirtualClock, callees: dict[str, SimCallee], settings: CampaignSettings
    ) -> None:
        self._clock = clock
        self._callees = callees
        self._settings = settings
        self._offers: Counter[str] = Counter()
        self._reached: Counter[str] = Counter()
        self._called_back: set[str] = set()
        self._pending: set[str] = set()
        self._closed = False
        self.report_sink: Callable[[CallReport], object] = _unwired
        self.disposition_sink: Callable[[str, Disposition], None] = _unwired_disposition
        self.miss_offer: Callable[[], bool] = _never  # faults: the agent misses this offer
        self.lose_report: Callable[[], bool] = _never  # faults: this call's report is lost
        self.verdicts: dict[str, tuple[Disposition, str]] = {}  # the last answered call's

    def called_back(self, order_id: str) -> None:
        self._called_back.add(order_id)

    def originate(self, request: OriginateRequest) -> None:
        check_request(request)
        if request.attempt_id in self._pending:
            raise InvalidRequest(f"attempt {request.attempt_id} is already in progress")
        callee = self._callees[request.order_id]
        self._pending.add(request.attempt_id)
        self._offers[request.order_id] += 1
        if self._offers[request.order_id] <= callee.agent_misses or self.miss_offer():
            self._report(request, CallResult.AGENT_MISSED, request.accept_timeout_s)
            return
        self._reached[request.order_id] += 1
        if self._answers(request.order_id, callee):
            self._answered(request, callee)
        elif callee.unanswered is CallResult.NO_ANSWER:
            self._report(request, CallResult.NO_ANSWER, ANNOUNCE_S + request.ring_timeout_s)
        else:
            self._report(request, callee.unanswered, ANNOUNCE_S + BUSY_S)

    def _answers(self, order_id: str, callee: SimCallee) -> bool:
        if order_id in self._called_back:
            return True
        return callee.answer_on_attempt == self._reached[order_id]

    def _answered(self, request: OriginateRequest, callee: SimCallee) -> None:
        start = self._clock.now
        talk = ANNOUNCE_S + CUSTOMER_PICKUP_S + self._settings.talk_time_s
        answered = start + timedelta(seconds=ANNOUNCE_S + CUSTOMER_PICKUP_S)
        disposition = parse_disposition(
            "confirmed" if request.order_id in self._called_back else callee.disposition
        )
        if disposition.kind is DispositionKind.CALLBACK:  # «мой перезвон»: the agent's own
            disposition = replace(disposition, owner=request.agent)
        self._called_back.discard(request.order_id)

        def finish() -> None:
            if not self._settle(request):
                return
            if self.lose_report():
                self.report_sink(CallReport(request.attempt_id, CallResult.FAILED,
                                            self._clock.now, detail=LOST))  # fmt: skip
                return
            self.verdicts[request.order_id] = (disposition, request.agent)
            report = CallReport(request.attempt_id, CallResult.ANSWERED, self._clock.now, answered)
            self.report_sink(report)
            if disposition.kind is DispositionKind.CALLBACK:
                self.called_back(request.order_id)
            self.disposition_sink(request.order_id, disposition)

        self._clock.call_at(start + timedelta(seconds=talk), finish)

    def _report(self, request: OriginateRequest, result: CallResult, seconds: int) -> None:
        def finish() -> None:
            if self._settle(request):
                lost = self.lose_report()
                self.report_sink(CallReport(request.attempt_id, CallResult.FAILED if lost
                                            else result, self._clock.now,
                                            detail=LOST if lost else ""))  # fmt: skip

        self._clock.call_at(self._clock.now + timedelta(seconds=AGENT_ANSWER_S + seconds), finish)

    def _settle(self, request: OriginateRequest) -> bool:
        """The call ended: report it unless the adapter was closed meanwhile."""
        self._pending.discard(request.attempt_id)
        return not self._closed

    def pending_attempts(self) -> frozenset[str]:
        """Attempts originated and not reported yet."""
        return frozenset(self._pending)

    async def close(self) -> None:
        """Stop reporting; calls still ringing end unheard, as on a closed AMI link."""
        self._closed = True


def _never() -> bool:
    return False


def _unwired(report: CallReport) -> None:
    raise RuntimeError(f"report sink not wired for {report.attempt_id}")


def _unwired_disposition(order_id: str, disposition: Disposition) -> None:
    raise RuntimeError(f"disposition sink not wired for {order_id}")


@lru_cache(maxsize=4096)
def parse_disposition(text: str) -> Disposition:
    """The verdict an order's ``sim.disposition`` text names; cached (a frozen value: one
    per distinct text, and a run parses one per answered call)."""
    if text.startswith("callback:"):
        return Disposition(DispositionKind.CALLBACK, callback_at=parse_utc(text[9:]))
    if text.startswith("refused"):
        reason = text.partition(":")[2] or "Передумал"
        return Disposition(DispositionKind.REFUSED, reason=reason)
    return Disposition(DispositionKind.CONFIRMED)
