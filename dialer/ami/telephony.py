"""The AMI adapter: places agent-first calls through panoramisk and reports how each ended.

``AmiTelephony`` implements ``dialer.dispatch.ports.Telephony`` as a façade over the parts
of ``dialer/ami/``:

    settings   AmiSettings, TLS, the reconnect backoff and the error family (re-exported here)
    link       the one AMI link: own ping, reconnects with backoff, resync before dialling
    dial_gate  every request value checked before anything reaches Asterisk
    tracker    each attempt's events matched, its end classified, reported exactly once
    devices    the agents' device states, matched to agents by template
    results    the one table from telephony facts to a CallResult

Originate is never re-sent (it is in panoramisk's ``forgetable_actions``), always
``Async: true`` with the dialer's ActionID and ``ChannelId`` = attempt id, so Asterisk itself
refuses a second live call with that id.

Besides the reports, two plain callbacks describe agents: ``watch_agent_devices`` hears the
device state of every device matching a template (``DeviceStateChange`` events, and the whole
``DeviceStateList`` after each (re)connect), ``watch_accepts`` hears each agent pressing 1.

panoramisk types stop here and in ``link``. Errors raised by this module are ``AmiError``
and its family, drawn in ``dialer.ami.settings``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from campaigns.calls import CallResult, OriginateRequest
from dialer.ami import dial_gate
from dialer.ami.devices import DeviceCallback, DeviceWatches
from dialer.ami.link import LinkSupervisor, _Link, plain_replies
from dialer.ami.results import Headers
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
from dialer.ami.tracker import AcceptCallback, CallTracker, _Attempt
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


_SPY_RING_S = 30  # the supervisor's phone rings at least this long
_spy_log = logging.getLogger("dialer.ami_")


def _log_spy(done: asyncio.Future[Any], attempt_id: str, extension: str) -> None:
    """Log how the supervisor's call went (answered, or why not): for ops, not the audit."""
    if done.cancelled() or done.exception() is not None:
        return
    for headers in plain_replies(done.result()):
        if headers.get("Event") == "OriginateResponse" or headers.get("Response") == "Error":
            _spy_log.info("supervisor call to %s for call %s: %s %s", extension, attempt_id,
                          headers.get("Response"), headers.get("Reason") or
                          headers.get("Message") or "")  # fmt: skip


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
        log = logging.getLogger("dialer.ami_")
        calls = CallTracker(
            settings,
            sink,
            clock=clock,
            monotonic=monotonic,
            on_latency=on_originate_latency,
            log=log,
        )
        self._calls = calls
        self._devices = DeviceWatches(log)
        self._link_supervisor = LinkSupervisor(
            settings, resync=self._resync, rand=rand or random.Random(), log=log
        )
        self._link: _Link | None = None  # once started; the voice accept's Redirect uses it
        self._tasks: set[asyncio.Task[None]] = set()
        # The tracker's attempts and handlers under the adapter's names: ``start`` registers
        # them, and the tests replaying recorded traces feed events through them.
        self._attempts = calls.attempts
        self._on_originate_response: Callable[[Headers], None] = calls.on_originate_response
        self._on_user_event: Callable[[Headers], None] = calls.on_user_event
        self._on_dial_end: Callable[[Headers], None] = calls.on_dial_end
        self._on_hangup: Callable[[Headers], None] = calls.on_hangup
        self._on_device_state: Callable[[Headers], None] = self._devices.on_device_state

    # ---- lifecycle ---------------------------------------------------------------------

    def adopt(self, request: OriginateRequest, started_at: datetime) -> None:
        """Take over an attempt a previous process sent (after a crash), before ``start``:
        the first resync finds it live on Asterisk by ChannelId, or settles it from the
        AstDB record the dialplan wrote; either way it is reported once, as usual."""
        self._calls.adopt(request, started_at)

    async def start(self) -> None:
        """Create the link on the running loop and start connecting (returns at once)."""
        handlers = {
            "OriginateResponse": self._on_originate_response,
            "Newchannel": self._calls.on_new_channel,
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
        return frozenset(self._calls.attempts)

    def watch_agent_devices(self, template: str, callback: DeviceCallback) -> None:
        """Call ``callback(agent_id, status)`` for every state change of a device matching
        ``template`` (``{agent}`` once: the campaign's ``PJSIP/{agent}``, or a custom device
        such as ``Custom:agent{agent}``), and for each such device after every (re)connect.
        Needs ``res_manager_devicestate`` loaded in Asterisk."""
        self._devices.watch(template, callback)

    def watch_accepts(self, callback: AcceptCallback) -> None:
        """Call ``callback(attempt_id, agent_id)`` when an agent of this adapter's calls
        accepts (the dialplan's ``DialerAccepted``)."""
        self._calls.accept_watches.append(callback)

    def watch_answers(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(attempt_id)`` when the customer of one of this adapter's calls
        answers and is bridged to the agent."""
        self._calls.answer_watches.append(callback)

    def drop_link(self) -> None:
        """Abort the transport as a dead link would (used by the ping and by tests)."""
        self._link_supervisor.drop()

    async def _resync(self, live: frozenset[str]) -> None:
        """After each (re)connect, before dialling again: settle the calls that ended while
        the link was down, then hear every watched device's state again."""
        await self._calls.settle_vanished(live, self._link_supervisor.action)
        await self._devices.resync(self._link_supervisor.action)

    # ---- originate ---------------------------------------------------------------------

    def originate(self, request: OriginateRequest) -> None:
        """Check the request, then dial in the background; the sink hears the end."""
        action = self._originate_action(request)
        attempt = self._calls.begin(request)
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
            self._calls.finish(attempt, CallResult.FAILED, f"not dialled: {exc}")
            return
        self._calls.mark_sent(attempt)
        future = self._link_supervisor.send(action)
        crash_point("originating")
        future.add_done_callback(lambda done: self._on_originate_reply(attempt, done))

    # ---- supervision -------------------------------------------------------------------

    def spied_channel(self, attempt_id: str) -> str | None:
        """The agent's channel of this adapter's call ``attempt_id`` once the agent answered,
        else None (not ours, not answered yet, or over)."""
        attempt = self._calls.attempts.get(attempt_id)
        if attempt is None or attempt.hung_up or not attempt.channel:
            return None
        return attempt.channel

    def spy(self, attempt_id: str, extension: str, options: str, template: str | None) -> str:
        """Ring the supervisor's ``extension`` (through ``template``, the campaign's agent
        channel template, else ``[ami] agent_channel``) and, when they answer, run
        ``ChanSpy(<the agent's channel>,<options>)`` on it: listen ``qE``, whisper ``qwE``,
        barge ``qBE`` (``E``: hang up when the spied call ends). Returns the spied channel.
        InvalidRequest when the call has no answered agent channel here or a value fails the
        gate; AmiUnavailable when the link is down. Nothing waits for the supervisor to
        answer; the spy call is no attempt (its events match none)."""
        spied, attempt = self.spied_channel(attempt_id), self._calls.attempts.get(attempt_id)
        if spied is None or attempt is None:
            raise InvalidRequest(f"call {attempt_id} has no answered agent channel here")
        template = template or self._settings.agent_channel
        try:
            dial_gate.check_spy(extension, options, spied, template)
        except dial_gate.InvalidRequest as exc:
            raise InvalidRequest(str(exc)) from None
        if not self.ready:
            raise AmiUnavailable("the AMI link is down; try again shortly")
        future = self._link_supervisor.send({
            "Action": "Originate",
            "ActionID": f"spy-{attempt_id}-{random.getrandbits(32):08x}",
            "Async": "true",
            "Channel": template.replace("{agent}", extension),
            "Application": "ChanSpy",
            "Data": f"{spied},{options}",
            "Timeout": str(max(self._settings.agent_ring_timeout_s, _SPY_RING_S) * 1000),
            "CallerID": f"spy {attempt.request.agent} <{extension}>",
        })  # fmt: skip
        future.add_done_callback(lambda done: _log_spy(done, attempt_id, extension))
        return spied

    def _on_originate_reply(self, attempt: _Attempt, done: asyncio.Future[Any]) -> None:
        if done.cancelled() or done.exception() is not None:
            return  # the link went down; the resync decides
        self._calls.on_originate_reply(attempt, plain_replies(done.result()))

    def _on_talking(self, headers: Headers) -> None:
        """Voice accept: the agent spoke first, so redirect the agent leg to ``accept``."""
        if self._link is None:
            return
        redirect = self._calls.voice_accept(headers)
        if redirect is not None:
            self._link.send_action(redirect)
