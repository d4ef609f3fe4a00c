"""The calls in flight over AMI: each attempt's events matched, its end classified, reported once.

Each request is reported exactly once to the sink. Events are matched by the attempt id
(Uniqueid/Linkedid of every leg, and the ``DIALER_ATTEMPT`` channel variable). If the call
ended while the link was down, the outcome comes from the AstDB record the dialplan writes;
if there is none (the agent leg never answered, or Asterisk restarted), the attempt is
reported FAILED with a detail saying the outcome was lost.

No I/O of its own and no library types: the adapter feeds it plain headers and lends it the
link's ``action`` to read the AstDB after a link loss.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.ami.results import (
    ANSWERED_REASON,
    CallFacts,
    Headers,
    classify,
    facts_from_channel_variables,
    facts_from_db_value,
    facts_from_result_event,
    header,
    originate_reason,
)
from dialer.ami.settings import AmiSettings, InvalidRequest
from dialer.dispatch.ports import ReportSink
from dialer.faults import crash_point

Action = Callable[[dict[str, str]], Awaitable[list[dict[str, str | list[str]]]]]
"""Send one AMI action and await its replies as plain headers (``LinkSupervisor.action``)."""
AcceptCallback = Callable[[str, str], None]
"""``(attempt_id, agent_id)``: the agent accepted the call (pressed 1); the customer is dialled."""


@dataclass
class _Attempt:
    request: OriginateRequest
    started_at: datetime
    facts: CallFacts = field(default_factory=CallFacts)
    sent: bool = False
    hung_up: bool = False
    voice_accepted: bool = False  # a Redirect to `accept` was sent: never send a second
    answered_at: datetime | None = None
    channel: str = ""
    sent_at: float | None = None  # monotonic seconds when the Originate went out
    first_event_seen: bool = False

    @property
    def action_id(self) -> str:
        return f"dialer-{self.request.attempt_id}"


class CallTracker:
    """The attempts of one adapter, from the Originate to the one report of each."""

    def __init__(
        self,
        settings: AmiSettings,
        sink: ReportSink,
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        on_latency: Callable[[float], None] | None,
        log: logging.Logger,
    ) -> None:
        """``on_latency`` hears, once per attempt, the seconds from the Originate sent to
        the first answer about it: the agent channel's Newchannel, else the
        OriginateResponse (the /metrics histogram)."""
        self._settings = settings
        self._sink = sink
        self._clock = clock
        self._monotonic = monotonic
        self._on_latency = on_latency
        self._log = log
        self.attempts: dict[str, _Attempt] = {}
        """Attempts originated or adopted and not reported yet, by attempt id."""
        self.accept_watches: list[AcceptCallback] = []
        self.answer_watches: list[Callable[[str], None]] = []

    # ---- attempts ----------------------------------------------------------------------

    def adopt(self, request: OriginateRequest, started_at: datetime) -> None:
        """An attempt a previous process sent: the next resync finds or settles it."""
        self.attempts[request.attempt_id] = _Attempt(request, started_at=started_at, sent=True)

    def begin(self, request: OriginateRequest) -> _Attempt:
        """Track a new attempt from now; InvalidRequest if its id is already in progress."""
        if request.attempt_id in self.attempts:
            raise InvalidRequest(f"attempt {request.attempt_id} is already in progress")
        attempt = _Attempt(request, started_at=self._clock())
        self.attempts[request.attempt_id] = attempt
        return attempt

    def mark_sent(self, attempt: _Attempt) -> None:
        """The Originate goes out now (the latency is measured from here)."""
        attempt.sent = True
        attempt.sent_at = self._monotonic()

    def _attempt_of(self, headers: Headers) -> _Attempt | None:
        for key in ("Linkedid", "AttemptId", "Uniqueid"):
            attempt = self.attempts.get(header(headers, key))
            if attempt is not None:
                return attempt
        action_id = header(headers, "ActionID").removeprefix("dialer-")
        return self.attempts.get(action_id)

    # ---- events ------------------------------------------------------------------------

    def on_originate_reply(self, attempt: _Attempt, replies: Sequence[Headers]) -> None:
        """The replies to this attempt's Originate action."""
        for headers in replies:
            if header(headers, "Event") == "OriginateResponse":
                self._originate_response(attempt, headers)
            elif header(headers, "Response") not in {"Success", ""}:
                detail = f"Originate refused: {header(headers, 'Message')}"
                self.finish(attempt, CallResult.FAILED, detail)

    def on_originate_response(self, headers: Headers) -> None:
        attempt = self._attempt_of(headers)
        if attempt is not None:
            self._originate_response(attempt, headers)

    def on_new_channel(self, headers: Headers) -> None:
        attempt = self._attempt_of(headers)
        if attempt is not None:
            crash_point("agent_ringing")
            self._first_event(attempt)

    def _first_event(self, attempt: _Attempt) -> None:
        if attempt.first_event_seen or attempt.sent_at is None:
            return
        attempt.first_event_seen = True
        if self._on_latency is not None:
            self._on_latency(max(0.0, self._monotonic() - attempt.sent_at))

    def _originate_response(self, attempt: _Attempt, headers: Headers) -> None:
        self._first_event(attempt)
        attempt.facts = attempt.facts.merged(CallFacts(originate_reason=originate_reason(headers)))
        attempt.channel = header(headers, "Channel") or attempt.channel
        if attempt.facts.originate_reason != ANSWERED_REASON or attempt.hung_up:
            self._finish_classified(attempt)

    def on_user_event(self, headers: Headers) -> None:
        attempt = self._attempt_of(headers)
        if attempt is None:
            return
        name = header(headers, "UserEvent")
        if name == "DialerResult":
            attempt.facts = attempt.facts.merged(facts_from_result_event(headers))
        elif name == "DialerRecording":
            recording = CallFacts(recording=header(headers, "Recording") or None)
            attempt.facts = attempt.facts.merged(recording)
        elif name == "DialerAgentAnswered":
            attempt.facts = attempt.facts.merged(CallFacts(originate_reason=ANSWERED_REASON))
            attempt.channel = header(headers, "Channel")
        elif name == "DialerAccepted":
            for accepted in self.accept_watches:
                accepted(attempt.request.attempt_id, attempt.request.agent)

    def on_dial_end(self, headers: Headers) -> None:
        attempt = self._attempt_of(headers)
        # The agent leg is the caller of the customer's Dial (the Originate's own DialEnd
        # has no caller channel).
        is_customer_dial = attempt is not None and header(headers, "Uniqueid") == (
            attempt.request.attempt_id
        )
        if attempt is not None and is_customer_dial and header(headers, "DialStatus") == "ANSWER":
            attempt.answered_at = self._clock()
            crash_point("bridged")
            for answered in self.answer_watches:
                answered(attempt.request.attempt_id)

    def on_hangup(self, headers: Headers) -> None:
        attempt = self._attempt_of(headers)
        if attempt is None or header(headers, "Uniqueid") != attempt.request.attempt_id:
            return
        attempt.hung_up = True
        attempt.facts = facts_from_channel_variables(headers).merged(attempt.facts)
        if attempt.facts.known:
            self._finish_classified(attempt)
        # else: the agent leg died before answering; the OriginateResponse will say why

    def voice_accept(self, headers: Headers) -> dict[str, str] | None:
        """For ``ChannelTalkingStart`` with voice accept on: the Redirect of the agent leg
        to ``accept`` while the call is before its first dialplan stage, once per attempt;
        None when there is nothing to send."""
        attempt = self._attempt_of(headers)
        if (
            not self._settings.voice_accept
            or attempt is None
            or header(headers, "Uniqueid") != attempt.request.attempt_id
            or attempt.facts.stage is not None
            or attempt.voice_accepted
        ):
            return None
        attempt.voice_accepted = True
        return {
            "Action": "Redirect",
            "Channel": header(headers, "Channel"),
            "Context": self._settings.context,
            "Exten": "accept",
            "Priority": "1",
        }

    # ---- reports -----------------------------------------------------------------------

    def _finish_classified(self, attempt: _Attempt, lost: str = "") -> None:
        result, why = classify(attempt.facts)
        self.finish(attempt, result, f"{lost}{why}")

    def finish(self, attempt: _Attempt, result: CallResult, detail: str) -> None:
        """Report ``attempt`` to the sink, unless it was already reported."""
        if self.attempts.pop(attempt.request.attempt_id, None) is None:
            return  # already reported
        ended_at = self._clock()
        answered_at = None
        if result is CallResult.ANSWERED:
            answered_at = attempt.answered_at
            if answered_at is None and attempt.facts.answered_ms is not None:
                answered_at = ended_at - timedelta(milliseconds=attempt.facts.answered_ms)
        report = CallReport(
            attempt_id=attempt.request.attempt_id,
            result=result,
            ended_at=ended_at,
            answered_at=answered_at,
            recording=attempt.facts.recording if result is CallResult.ANSWERED else None,
            detail=detail,
        )
        try:
            self._sink(report)
        except Exception:
            self._log.exception("report sink failed for %s", report.attempt_id)

    # ---- after a link loss -------------------------------------------------------------

    async def settle_vanished(self, live: frozenset[str], action: Action) -> None:
        """Settle every sent attempt with no live channel (``live``: the Linkedids at the
        resync): it ended while we were away."""
        for attempt in list(self.attempts.values()):
            if attempt.sent and attempt.request.attempt_id not in live:
                await self._settle(attempt, action)

    async def _settle(self, attempt: _Attempt, action: Action) -> None:
        stored = await _stored_facts(attempt, action)
        attempt.facts = attempt.facts.merged(stored)
        # Only the dialplan's result (stage) says how the call ended; an OriginateResponse
        # heard earlier (the agent answered) does not, so without a record it is lost.
        if attempt.facts.stage is not None:
            self._finish_classified(attempt, lost="ended while AMI was down: ")
        else:
            detail = "call ended while AMI was down and left no record; outcome lost"
            self.finish(attempt, CallResult.FAILED, detail)


async def _stored_facts(attempt: _Attempt, action: Action) -> CallFacts:
    """The AstDB record the dialplan wrote for ``attempt`` (its start day or the next)."""
    day = attempt.started_at.astimezone(UTC) if attempt.started_at.tzinfo else attempt.started_at
    for offset in (0, 1):
        family = f"dialer-{(day + timedelta(days=offset)):%Y%m%d}"
        query = {"Action": "DBGet", "Family": family, "Key": attempt.request.attempt_id}
        for reply in await action(query):
            if header(reply, "Event") == "DBGetResponse":
                return facts_from_db_value(header(reply, "Val"))
    return CallFacts()
