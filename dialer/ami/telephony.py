"""The AMI adapter: places agent-first calls through panoramisk and reports how each ended.

``AmiTelephony`` implements ``dialer.dispatch.ports.Telephony``. Its one AMI link is kept up
by ``dialer.ami.link`` (own ping, reconnects with backoff, a resync before it dials again).
Originate is never re-sent (it is in panoramisk's ``forgetable_actions``), always
``Async: true`` with the dialer's ActionID and ``ChannelId`` = attempt id, so Asterisk itself
refuses a second live call with that id.

Each request is reported exactly once to the sink. Events are matched by the attempt id
(Uniqueid/Linkedid of every leg, and the ``DIALER_ATTEMPT`` channel variable). If the call
ended while the link was down, the outcome comes from the AstDB record the dialplan writes;
if there is none (the agent leg never answered, or Asterisk restarted), the attempt is
reported FAILED with a detail saying the outcome was lost.

Besides the reports, two plain callbacks describe agents: ``watch_agent_devices`` hears the
device state of every device matching a template (``DeviceStateChange`` events, and the whole
``DeviceStateList`` after each (re)connect), ``watch_accepts`` hears each agent pressing 1.

panoramisk types stop here and in ``link``. The errors raised here (``AmiError`` and its
family) and the settings live in ``dialer.ami.settings``, which draws their tree; they are
re-exported here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from campaigns.calls import CallReport, CallResult, OriginateRequest
from dialer.ami import dial_gate
from dialer.ami.link import LinkSupervisor, _Link, plain_replies
from dialer.ami.results import (
    ANSWERED_REASON,
    CallFacts,
    DeviceStatus,
    DeviceTemplate,
    Headers,
    classify,
    device_change,
    facts_from_channel_variables,
    facts_from_db_value,
    facts_from_result_event,
    header,
    originate_reason,
)
from dialer.ami.settings import (
    AmiAuthError,
    AmiConfigError,
    AmiError,
    AmiSettings,
    AmiUnavailable,
    InvalidRequest,
    reconnect_delay,
    tls_context,
)
from dialer.dispatch.ports import ReportSink
from dialer.faults import crash_point

__all__ = [
    "AcceptCallback",
    "AmiAuthError",
    "AmiConfigError",
    "AmiError",
    "AmiSettings",
    "AmiTelephony",
    "AmiUnavailable",
    "DeviceCallback",
    "InvalidRequest",
    "reconnect_delay",
    "tls_context",
]

DeviceCallback = Callable[[str, DeviceStatus], None]
"""``(agent_id, status)``: the device of this agent changed state."""
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


class AmiTelephony:
    """Telephony over AMI: ``originate`` returns at once, the sink hears each end once."""

    def __init__(
        self,
        settings: AmiSettings,
        sink: ReportSink,
        *,
        clock: Callable[[], datetime],
        rand: random.Random | None = None,
        on_originate_latency: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``on_originate_latency`` hears, once per attempt, the seconds from the Originate
        sent to the first answer about it: the agent channel's Newchannel, else the
        OriginateResponse (the /metrics histogram)."""
        self._settings = settings
        self._on_latency = on_originate_latency
        self._monotonic = monotonic
        self._sink = sink
        self._clock = clock
        self._log = logging.getLogger("dialer.ami_")
        self._link_supervisor = LinkSupervisor(
            settings, resync=self._resync, rand=rand or random.Random(), log=self._log
        )
        self._attempts: dict[str, _Attempt] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._link: _Link | None = None  # once started; the voice accept's Redirect uses it
        self._device_watches: list[tuple[DeviceTemplate, DeviceCallback]] = []
        self._accept_watches: list[AcceptCallback] = []

    # ---- lifecycle ---------------------------------------------------------------------

    def adopt(self, request: OriginateRequest, started_at: datetime) -> None:
        """Take over an attempt a previous process sent (after a crash), before ``start``:
        the first resync finds it live on Asterisk by ChannelId, or settles it from the
        AstDB record the dialplan wrote; either way it is reported once, as usual."""
        self._attempts[request.attempt_id] = _Attempt(request, started_at=started_at, sent=True)

    async def start(self) -> None:
        """Create the link on the running loop and start connecting (returns at once)."""
        handlers = {
            "OriginateResponse": self._on_originate_response,
            "Newchannel": self._on_new_channel,
            "UserEvent": self._on_user_event,
            "DialEnd": self._on_dial_end,
            "Hangup": self._on_hangup,
            "ChannelTalkingStart": self._on_talking,
            "DeviceStateChange": self._on_device_state,
        }
        self._link = self._link_supervisor.start(handlers)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._link_supervisor.close()

    @property
    def ready(self) -> bool:
        """Connected, logged in and resynced: safe to dial."""
        return self._link_supervisor.ready

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        """Wait until ``ready``; raise AmiUnavailable (or AmiAuthError) after ``timeout_s``."""
        await self._link_supervisor.wait_ready(timeout_s)

    def live_attempts(self) -> frozenset[str]:
        """Attempt ids (Linkedids) that had live channels at the last resync, including calls
        this process did not start (e.g. before a dialer restart)."""
        return self._link_supervisor.live

    def pending_attempts(self) -> frozenset[str]:
        """Attempts originated by this adapter and not reported yet."""
        return frozenset(self._attempts)

    def watch_agent_devices(self, template: str, callback: DeviceCallback) -> None:
        """Call ``callback(agent_id, status)`` for every state change of a device matching
        ``template`` (``{agent}`` once: the campaign's ``PJSIP/{agent}``, or a custom device
        such as ``Custom:agent{agent}``), and for each such device after every (re)connect.
        Needs ``res_manager_devicestate`` loaded in Asterisk."""
        self._device_watches.append((DeviceTemplate(template), callback))

    def watch_accepts(self, callback: AcceptCallback) -> None:
        """Call ``callback(attempt_id, agent_id)`` when an agent of this adapter's calls
        accepts (the dialplan's ``DialerAccepted``)."""
        self._accept_watches.append(callback)

    def drop_link(self) -> None:
        """Abort the transport as a dead link would (used by the ping and by tests)."""
        self._link_supervisor.drop()

    # ---- originate ---------------------------------------------------------------------

    def originate(self, request: OriginateRequest) -> None:
        """Check the request, then dial in the background; the sink hears the end."""
        action = self._originate_action(request)
        if request.attempt_id in self._attempts:
            raise InvalidRequest(f"attempt {request.attempt_id} is already in progress")
        attempt = _Attempt(request, started_at=self._clock())
        self._attempts[request.attempt_id] = attempt
        task = asyncio.get_running_loop().create_task(self._dial(attempt, action))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _originate_action(self, request: OriginateRequest) -> dict[str, Any]:
        try:
            dial_gate.check_request(request)
        except dial_gate.InvalidRequest as exc:
            raise InvalidRequest(str(exc)) from None
        attempt_id, agent = request.attempt_id, request.agent
        number, order_digits = request.customer_number, request.announce_digits
        settings = self._settings
        agent_channel = request.agent_channel_template or settings.agent_channel
        customer_channel = request.customer_channel_template or settings.customer_channel
        variables = {
            "__DIALER_ATTEMPT": attempt_id,
            "DIALER_ORDER_DIGITS": order_digits.lstrip("+"),
            "DIALER_CUSTOMER_DIAL": customer_channel.replace("{number}", number.lstrip("+")),
            "DIALER_RING_TIMEOUT": str(request.ring_timeout_s),
            "DIALER_ACCEPT_TIMEOUT": str(request.accept_timeout_s),
            "DIALER_KAZAKH": "1" if request.language == "kk" else "0",
            "DIALER_RECORD": "1" if request.record else "0",
            "DIALER_VOICE_ACCEPT": "1" if self._settings.voice_accept else "0",
        }
        return {
            "Action": "Originate",
            "ActionID": f"dialer-{attempt_id}",
            "Async": "true",
            "ChannelId": attempt_id,
            "OtherChannelId": f"{attempt_id}-2",
            "Channel": agent_channel.replace("{agent}", agent),
            "Context": self._settings.context,
            "Exten": "s",
            "Priority": "1",
            "Timeout": str(self._settings.agent_ring_timeout_s * 1000),
            "Variable": [f"{name}={value}" for name, value in variables.items()],
        }

    async def _dial(self, attempt: _Attempt, action: dict[str, Any]) -> None:
        try:
            await self.wait_ready()
            while not self.ready:  # lost again between the wake-up and now
                await self.wait_ready()
        except AmiUnavailable as exc:
            self._finish(attempt, CallResult.FAILED, f"not dialled: {exc}")
            return
        attempt.sent = True
        attempt.sent_at = self._monotonic()
        future = self._link_supervisor.send(action)
        crash_point("originating")
        future.add_done_callback(lambda done: self._on_originate_reply(attempt, done))

    def _on_originate_reply(self, attempt: _Attempt, done: asyncio.Future[Any]) -> None:
        if done.cancelled() or done.exception() is not None:
            return  # the link went down; the resync decides
        for headers in plain_replies(done.result()):
            if header(headers, "Event") == "OriginateResponse":
                self._originate_response(attempt, headers)
            elif header(headers, "Response") not in {"Success", ""}:
                detail = f"Originate refused: {header(headers, 'Message')}"
                self._finish(attempt, CallResult.FAILED, detail)

    # ---- events ------------------------------------------------------------------------

    def _attempt_of(self, headers: Headers) -> _Attempt | None:
        for key in ("Linkedid", "AttemptId", "Uniqueid"):
            attempt = self._attempts.get(header(headers, key))
            if attempt is not None:
                return attempt
        action_id = header(headers, "ActionID").removeprefix("dialer-")
        return self._attempts.get(action_id)

    def _on_originate_response(self, headers: Headers) -> None:
        attempt = self._attempt_of(headers)
        if attempt is not None:
            self._originate_response(attempt, headers)

    def _on_new_channel(self, headers: Headers) -> None:
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

    def _on_user_event(self, headers: Headers) -> None:
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
            for accepted in self._accept_watches:
                accepted(attempt.request.attempt_id, attempt.request.agent)

    def _on_device_state(self, headers: Headers) -> None:
        change = device_change(headers)
        if change is None:
            return
        for template, callback in self._device_watches:
            agent = template.agent(change.device)
            if agent is not None:
                callback(agent, change.status)

    def _on_dial_end(self, headers: Headers) -> None:
        attempt = self._attempt_of(headers)
        # The agent leg is the caller of the customer's Dial (the Originate's own DialEnd
        # has no caller channel).
        is_customer_dial = attempt is not None and header(headers, "Uniqueid") == (
            attempt.request.attempt_id
        )
        if attempt is not None and is_customer_dial and header(headers, "DialStatus") == "ANSWER":
            attempt.answered_at = self._clock()
            crash_point("bridged")

    def _on_hangup(self, headers: Headers) -> None:
        attempt = self._attempt_of(headers)
        if attempt is None or header(headers, "Uniqueid") != attempt.request.attempt_id:
            return
        attempt.hung_up = True
        attempt.facts = facts_from_channel_variables(headers).merged(attempt.facts)
        if attempt.facts.known:
            self._finish_classified(attempt)
        # else: the agent leg died before answering; the OriginateResponse will say why

    def _on_talking(self, headers: Headers) -> None:
        attempt = self._attempt_of(headers)
        if (
            not self._settings.voice_accept
            or attempt is None
            or header(headers, "Uniqueid") != attempt.request.attempt_id
            or attempt.facts.stage is not None
            or attempt.voice_accepted
            or self._link is None
        ):
            return
        attempt.voice_accepted = True
        self._link.send_action(
            {
                "Action": "Redirect",
                "Channel": header(headers, "Channel"),
                "Context": self._settings.context,
                "Exten": "accept",
                "Priority": "1",
            }
        )

    # ---- reports -----------------------------------------------------------------------

    def _finish_classified(self, attempt: _Attempt, lost: str = "") -> None:
        result, why = classify(attempt.facts)
        self._finish(attempt, result, f"{lost}{why}")

    def _finish(self, attempt: _Attempt, result: CallResult, detail: str) -> None:
        if self._attempts.pop(attempt.request.attempt_id, None) is None:
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

    # ---- after a (re)connect ----------------------------------------------------------

    async def _resync(self, live: frozenset[str]) -> None:
        """Settle the calls that ended while we were away, then hear the devices again."""
        for attempt in list(self._attempts.values()):
            if attempt.sent and attempt.request.attempt_id not in live:
                await self._settle_vanished(attempt)
        if self._device_watches:
            await self._resync_devices()

    async def _resync_devices(self) -> None:
        """Device states may have changed while the link was down: hear them all again."""
        for reply in await self._link_supervisor.action({"Action": "DeviceStateList"}):
            try:
                self._on_device_state(reply)
            except Exception:
                self._log.exception("device state callback failed")

    async def _settle_vanished(self, attempt: _Attempt) -> None:
        stored = await self._stored_facts(attempt)
        attempt.facts = attempt.facts.merged(stored)
        # Only the dialplan's result (stage) says how the call ended; an OriginateResponse
        # heard earlier (the agent answered) does not, so without a record it is lost.
        if attempt.facts.stage is not None:
            self._finish_classified(attempt, lost="ended while AMI was down: ")
        else:
            detail = "call ended while AMI was down and left no record; outcome lost"
            self._finish(attempt, CallResult.FAILED, detail)

    async def _stored_facts(self, attempt: _Attempt) -> CallFacts:
        day = (
            attempt.started_at.astimezone(UTC) if attempt.started_at.tzinfo else attempt.started_at
        )
        for offset in (0, 1):
            family = f"dialer-{(day + timedelta(days=offset)):%Y%m%d}"
            query = {"Action": "DBGet", "Family": family, "Key": attempt.request.attempt_id}
            for reply in await self._link_supervisor.action(query):
                if header(reply, "Event") == "DBGetResponse":
                    return facts_from_db_value(header(reply, "Val"))
        return CallFacts()
