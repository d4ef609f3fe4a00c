"""Outcome delivery that loses nothing: the outbox worker, its backoff, dead rows and replay.

Rules:

* rows of one order go in ``id`` order: a row is tried only when every earlier row of
  its order is delivered (a dead row therefore holds back the rows behind it until it is
  replayed);
* each row carries its idempotency key to the CRM, so a row sent again after a crash
  between "the CRM acknowledged" and "we marked it delivered" has no second effect;
* a failed try is retried after an exponential backoff with jitter (``base`` doubling up
  to ``cap``, times a factor in [0.5, 1) from the injected ``rng``);
* no exception from one row aborts a flush: a failing row holds back only the later rows
  of its own order, never another order's;
* a ``CrmPermanentError`` (an invalid outcome, a 4xx the CRM calls final, a value that
  cannot be sent) makes the row dead at once, ``last_error`` = ``permanent: …``; any other
  ``CrmError``, and an unexpected exception (logged with the order id), is retried;
* a row still failing ``max_age`` (3 days) after it was created, and after at least
  ``min_tries`` tries since the last replay, becomes dead, ``last_error`` = ``expired: …``;
* a dead row logs an ERROR on the ``dialer.outbox`` logger and is counted by reason in
  ``dead_counts()`` (``/metrics``: ``callback_dialer_outbox_dead_total``);
* ``replay`` makes dead rows due again with a fresh try count;
* ``due_now`` ends the backoff of every waiting row when the CRM is seen answering again
  (the service calls it), so a long outage is not followed by an equally long wait.

Time is always an argument; the worker reads no clock.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_adapter.errors import CrmError, CrmPermanentError
from crm_adapter.port import CrmAdapter, OutcomeDelivery
from dialer.delivery.ports import DeadDelivery, OutboxStore, PendingDelivery
from dialer.faults import crash_point

__all__ = ["DEAD_REASONS", "Backoff", "DeadDelivery", "OutboxWorker"]

LOG = logging.getLogger("dialer.outbox")
DEAD_REASONS = ("permanent", "expired")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before the next try after ``tries`` failures (tries >= 1)."""

    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(minutes=30)

    def delay(self, tries: int, rng: random.Random) -> timedelta:
        full: timedelta = min(self.cap, self.base * 2 ** min(tries - 1, 32))
        return full * (0.5 + rng.random() / 2)


class OutboxWorker:
    """Delivers due outbox rows through ``adapter``; one worker per database."""

    def __init__(
        self,
        store: OutboxStore,
        adapter: CrmAdapter,
        *,
        rng: random.Random,
        backoff: Backoff | None = None,
        max_age: timedelta = timedelta(days=3),
        min_tries: int = 5,
        batch: int = 100,
    ) -> None:
        self._store = store
        self._adapter = adapter
        self._rng = rng
        self._backoff = backoff or Backoff()
        self._max_age = max_age
        self._min_tries = min_tries
        self._batch = batch
        self._dead = dict.fromkeys(DEAD_REASONS, 0)

    def dead_counts(self) -> dict[str, int]:
        """Rows this worker made dead since it was created, by reason (a counter)."""
        return dict(self._dead)

    def deliver_due(self, now: datetime) -> int:
        """Tries every due row whose earlier rows are delivered; returns how many were
        acknowledged. An order whose try fails is not tried again in this call."""
        delivered = 0
        failed: set[str] = set()
        while True:
            heads = [r for r in self._due_heads(now) if r.order_id not in failed]
            if not heads:
                return delivered
            for row in heads:
                if self._deliver(row, now):
                    delivered += 1
                else:
                    failed.add(row.order_id)

    def due_now(self, now: datetime) -> int:
        """The CRM answers again: every live undelivered row still waiting out its backoff
        is due at ``now`` (its try count is kept). Returns how many rows were moved."""
        return self._store.due_now(now)

    def next_due_at(self) -> datetime | None:
        """When the earliest undelivered live row is due (for the scheduler)."""
        return self._store.next_due_at()

    def _due_heads(self, now: datetime) -> list[PendingDelivery]:
        """The first undelivered row of each order, if it is live and due."""
        return self._store.due_heads(now, self._batch)

    def _deliver(self, row: PendingDelivery, now: datetime) -> bool:
        try:
            delivery = OutcomeDelivery.from_payload(row.key, row.payload, retry=row.tried)
            applied = self._adapter.write_outcome(delivery)
            crash_point("outbox_delivering")
        except CrmPermanentError as exc:
            self._fail(row, now, exc, permanent=True)
            return False
        except CrmError as exc:
            self._fail(row, now, exc, permanent=False)
            return False
        except Exception as exc:  # an adapter bug must not stall every other order
            LOG.exception("outcome %s of order %s: unexpected error; retried like an outage",
                          row.key, row.order_id)  # fmt: skip
            self._fail(row, now, exc, permanent=False)
            return False
        self._store.mark_delivered(row.id, now, row.tries + 1)
        LOG.info(
            "outcome %s of order %s %s",
            row.key,
            row.order_id,
            "delivered" if applied else "was already in the CRM",
        )
        return True

    def _fail(
        self, row: PendingDelivery, now: datetime, exc: Exception, *, permanent: bool
    ) -> None:
        tries = row.tries + 1
        error = f"{type(exc).__name__}: {exc}"
        if permanent:
            self._kill(row, tries, "permanent", error)
        elif now - row.created_at >= self._max_age and tries >= self._min_tries:
            self._kill(row, tries, "expired", error)
        else:
            next_try = now + self._backoff.delay(tries, self._rng)
            self._store.mark_failed(row.id, tries, error[:1000], next_try)
            LOG.warning("outcome %s not delivered (try %d): %s", row.key, tries, error)

    def _kill(self, row: PendingDelivery, tries: int, reason: str, error: str) -> None:
        error = f"{reason}: {error}"[:1000]
        self._store.mark_dead(row.id, tries, error)
        self._dead[reason] += 1
        LOG.error(
            "outbox row %s (order %s, key %s) is dead after %d tries since %s: %s; "
            "later outcomes of the order wait; fix and run 'callback-dialer outbox replay %s'",
            row.id, row.order_id, row.key, tries, row.created_at.isoformat(), error, row.id,
        )  # fmt: skip
