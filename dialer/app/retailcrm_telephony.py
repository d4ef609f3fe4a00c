"""RetailCRM's telephony module on the running node (issue 17 §2): what the agents' calls
tell RetailCRM.

* the agent presses 1 (accepts): a ``telephony/call/event`` of type ``out`` with the
  manager's extension code and user id, so RetailCRM shows that manager the customer's
  card while the customer is being dialled;
* the call ends (only calls whose customer was dialled): a ``hangup`` event, then a
  ``telephony/calls/upload`` with the result, the talk time and a signed, expiring
  ``recordUrl`` served by ``dialer/web/retailcrm_telephony.py``.

Both go through ``telephony_outbox`` (``dialer.storage.telephony_queue``), written in the
feed's hook and sent from the thread pool, so a RetailCRM outage loses no call: a failed
try waits out a backoff and is sent again; 400/404 (RetailCRM refuses the shape) is dead
at once with RetailCRM's ``errorMsg``/``errors``; an event not sent within
``EVENT_MAX_AGE`` is dropped (a card popped minutes after the call helps nobody); an
upload is tried for three days. Each node sends the rows of its own calls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from campaigns.calls import CallReport, CallResult, OriginateRequest
from crm_adapter.errors import CrmError, CrmPermanentError
from crm_adapter.retailcrm_telephony import (
    TELEPHONY_RATE_PER_S,
    FinishedCall,
    RetailCrmTelephonyClient,
    RetailCrmTelephonySettings,
    SharedBucket,
    call_event,
    upload_body,
)
from dialer.app.agent_feed import AgentFeed
from dialer.config.service import ServiceConfig
from dialer.delivery.outbox import Backoff
from dialer.dispatch.agents import Agent
from dialer.storage.engine import Database
from dialer.storage.errors import DatabaseUnavailableError
from dialer.storage.telephony_queue import SqlTelephonyQueue, TelephonyItem

log = logging.getLogger("dialer.retailcrm_telephony")
EVENT_MAX_AGE = timedelta(minutes=2)
UPLOAD_MAX_AGE = timedelta(days=3)
UPLOAD_MIN_TRIES = 5
_MAX_WAIT_S = 300.0

# How an attempt that reached the customer ended, in RetailCRM's words (Call.php ``result``;
# the hangup event's ``hangupStatus``). An attempt the agent did not accept never dialled
# the customer and is not a call of the shop's customer: nothing is sent.
RESULTS = {
    CallResult.ANSWERED: "answered",
    CallResult.NO_ANSWER: "no answered",
    CallResult.BUSY: "busy",
    CallResult.CONGESTION: "failed",
    CallResult.INVALID_NUMBER: "failed",
    CallResult.FAILED: "failed",
}


@dataclass
class _Live:
    agent: str
    phone: str
    accepted_at: datetime | None = None


class TelephonyQueue:
    """Sends due rows through the client; time is an argument."""

    def __init__(
        self, store: SqlTelephonyQueue, client: RetailCrmTelephonyClient, *,
        rng: random.Random, backoff: Backoff | None = None,
    ) -> None:  # fmt: skip
        self._store, self._client, self._rng = store, client, rng
        self._backoff = backoff or Backoff(timedelta(seconds=5), timedelta(minutes=10))

    def deliver_due(self, now: datetime) -> int:
        sent = 0
        for item in self._store.due(now):
            sent += self._send(item, now)
        return sent

    def next_due_at(self) -> datetime | None:
        return self._store.next_due_at()

    def _send(self, item: TelephonyItem, now: datetime) -> bool:
        tries = item.tries + 1
        if item.kind == "event" and now - item.created_at >= EVENT_MAX_AGE:
            self._store.dead(item.id, item.tries, "expired: the call event is stale, not sent")
            log.info("RetailCRM call event of attempt %s dropped: stale", item.attempt_id)
            return False
        try:
            payload = json.loads(item.payload)
            if item.kind == "event":
                self._client.send_event(payload)
            else:
                self._client.upload([payload])
        except CrmPermanentError as exc:
            self._store.dead(item.id, tries, f"permanent: {exc}")
            log.error("RetailCRM %s of attempt %s refused for good: %s", item.kind,
                      item.attempt_id, exc)  # fmt: skip
            return False
        except (CrmError, ValueError) as exc:
            max_age = EVENT_MAX_AGE if item.kind == "event" else UPLOAD_MAX_AGE
            enough = item.kind == "event" or tries >= UPLOAD_MIN_TRIES
            if now - item.created_at >= max_age and enough:
                self._store.dead(item.id, tries, f"expired: {exc}")
                log.error("RetailCRM %s of attempt %s given up: %s", item.kind, item.attempt_id,
                          exc)  # fmt: skip
            else:
                next_try = now + self._backoff.delay(tries, self._rng)
                self._store.failed(item.id, tries, f"{type(exc).__name__}: {exc}", next_try)
                log.warning("RetailCRM %s of attempt %s not sent (try %d): %s", item.kind,
                            item.attempt_id, tries, exc)  # fmt: skip
            return False
        self._store.delivered(item.id, now, tries)
        return True


class TelephonyRelay:
    """Turns the feed's call stages into queued RetailCRM requests and keeps them going."""

    def __init__(
        self, settings: RetailCrmTelephonySettings, store: SqlTelephonyQueue,
        queue: TelephonyQueue, *, clock: Callable[[], datetime], executor: ThreadPoolExecutor,
    ) -> None:  # fmt: skip
        self._s, self._store, self._queue = settings, store, queue
        self._clock, self._executor = clock, executor
        self._live: dict[str, _Live] = {}
        self._running = self._again = self._started = False
        self._timer: asyncio.TimerHandle | None = None

    # ---- the feed's stages -------------------------------------------------------------

    def offered(self, request: OriginateRequest) -> None:
        if self._s.user_of(request.agent) is not None:
            phone = request.customer_number.removeprefix("+")
            self._live[request.attempt_id] = _Live(request.agent, phone)

    def accepted(self, attempt_id: str) -> None:
        live = self._live.get(attempt_id)
        if live is None:
            return  # an agent RetailCRM does not know, or offered before a restart
        live.accepted_at = self._clock()
        self._add(attempt_id, "event", call_event(self._s, live.agent, live.phone, "out",
                                                  attempt_id))  # fmt: skip

    def ended(self, report: CallReport) -> None:
        live = self._live.pop(report.attempt_id, None)
        result = RESULTS.get(report.result)
        if live is None or live.accepted_at is None or result is None:
            return
        event = call_event(self._s, live.agent, live.phone, "hangup", report.attempt_id,
                           hangup_status=result)  # fmt: skip
        self._add(report.attempt_id, "event", event)
        talk = 0
        if report.answered_at is not None:
            talk = round((report.ended_at - report.answered_at).total_seconds())
        call = FinishedCall(report.attempt_id, live.agent, live.phone, live.accepted_at, result,
                            talk, report.recording)  # fmt: skip
        self._add(report.attempt_id, "upload", upload_body(self._s, call, now=self._clock()))

    def poke(self) -> None:
        """Any sign of life of the node: the first one starts sending what a previous run
        left unsent."""
        if not self._started:
            self._started = True
            self.kick()

    # ---- sending -----------------------------------------------------------------------

    def _add(self, attempt_id: str, kind: str, payload: dict[str, Any]) -> None:
        try:
            self._store.add(attempt_id, kind, json.dumps(payload, ensure_ascii=False),
                            self._clock())  # fmt: skip
        except DatabaseUnavailableError as exc:
            log.warning("RetailCRM %s of attempt %s not queued: %s", kind, attempt_id, exc)
            return
        self.kick()

    def kick(self) -> None:
        """Send what is due now, in the thread pool, one pass at a time."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a command, a test): the rows wait for the service
        if self._running:
            self._again = True
            return
        self._running, self._again = True, False
        try:
            future = loop.run_in_executor(self._executor, self._pass)
        except RuntimeError:
            self._running = False
            return  # the pool is shut down (stopping)
        future.add_done_callback(lambda f: self._passed(loop, f))

    def _pass(self) -> datetime | None:
        self._queue.deliver_due(self._clock())
        return self._queue.next_due_at()

    def _passed(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None:
        self._running = False
        try:
            next_at = future.result()
        except Exception as exc:  # a database outage, a bug: try again later
            log.warning("RetailCRM telephony queue: %s; tried again later", exc)
            next_at = self._clock() + timedelta(seconds=30)
        if self._again:
            self.kick()
            return
        if next_at is None:
            return
        delay = min(_MAX_WAIT_S, max(0.5, (next_at - self._clock()).total_seconds()))
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(delay, self.kick)


class TelephonyFeed(AgentFeed):
    """The agents' live feed that also tells RetailCRM (``TelephonyRelay``)."""

    def __init__(self, clock: Callable[[], datetime], relay: TelephonyRelay) -> None:
        super().__init__(clock)
        self._relay = relay

    def offered(self, request: OriginateRequest) -> None:
        super().offered(request)
        self._guarded(lambda: self._relay.offered(request))

    def accepted(self, attempt_id: str, agent_id: str) -> None:
        super().accepted(attempt_id, agent_id)
        self._guarded(lambda: self._relay.accepted(attempt_id))

    def ended(self, report: CallReport) -> None:
        super().ended(report)
        self._guarded(lambda: self._relay.ended(report))

    def state(self, agent: Agent) -> None:
        super().state(agent)
        self._guarded(self._relay.poke)

    @staticmethod
    def _guarded(call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # RetailCRM's side never breaks the dialer's
            log.exception("RetailCRM telephony: a call stage was not queued")


def build_feed(
    config: ServiceConfig, clock: Callable[[], datetime], *, engine: Database,
    executor: ThreadPoolExecutor,
) -> AgentFeed:  # fmt: skip
    """The agents' feed; with ``[crm.telephony]`` one that also tells RetailCRM."""
    tel, crm = config.telephony, config.crm
    retail = getattr(crm, "retailcrm", None)
    if tel is None or retail is None:
        return AgentFeed(clock)
    bucket = SharedBucket(TELEPHONY_RATE_PER_S, clock=time.monotonic, sleep=time.sleep)
    client = RetailCrmTelephonyClient(retail.url, retail.api_key, bucket=bucket)
    store = SqlTelephonyQueue(engine, config.service.node)
    queue = TelephonyQueue(store, client, rng=random.Random())
    return TelephonyFeed(clock, TelephonyRelay(tel, store, queue, clock=clock,
                                               executor=executor))  # fmt: skip
