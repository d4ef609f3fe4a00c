"""In-memory OrderStore: the simulator's store and the fake for fast tests.

It passes the same contract tests as the SQL store (tests/contract/test_order_store.py).
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from campaigns.duplicates import counts_as_handled
from campaigns.lifecycle import Phase, Priority
from campaigns.outcomes import Outcome
from dialer.dispatch.ports import AttemptRecord, QueueEntry, StoreConflict

_HeapItem = tuple[datetime, datetime, str, int]
_PRIORITIES = tuple(Priority)  # claim order: iterating the enum itself is slow


@dataclass
class MemoryOrderStore:
    """Orders in dicts, due orders in one heap per priority (lazy deletion by version)."""

    entries: dict[str, QueueEntry] = field(default_factory=dict)
    attempts: dict[str, AttemptRecord] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    _versions: dict[str, int] = field(default_factory=dict)
    _heaps: dict[Priority, list[_HeapItem]] = field(
        default_factory=lambda: {p: [] for p in Priority}
    )
    _claimed: set[str] = field(default_factory=set)
    _live_by_order: dict[str, str] = field(default_factory=dict)
    _live_by_number: dict[str, str] = field(default_factory=dict)
    _open_by_identity: dict[str, str] = field(default_factory=dict)
    _all_by_identity: dict[str, list[str]] = field(default_factory=dict)
    _inserting: threading.Lock = field(default_factory=threading.Lock)

    def insert(self, entry: QueueEntry, outcomes: Sequence[Outcome] = ()) -> bool:
        order_id = entry.order.id
        with self._inserting:  # two threads admitting one order: one inserts it
            if order_id in self.entries:
                return False
            self._store(entry)
        self._all_by_identity.setdefault(entry.identity, []).append(order_id)
        self.outcomes.extend(outcomes)
        return True

    def get(self, order_id: str) -> QueueEntry | None:
        return self.entries.get(order_id)

    def claim_due(self, now: datetime, limit: int) -> list[QueueEntry]:
        claimed: list[QueueEntry] = []
        versions, taken, heappop = self._versions, self._claimed, heapq.heappop
        for priority in _PRIORITIES:
            if len(claimed) >= limit:
                break
            heap = self._heaps[priority]
            while heap and len(claimed) < limit and heap[0][0] <= now:
                _, _, order_id, version = heappop(heap)
                if versions.get(order_id) == version and order_id not in taken:  # _is_current
                    taken.add(order_id)
                    claimed.append(self.entries[order_id])
        return claimed

    def save(
        self,
        entry: QueueEntry,
        *,
        attempt: AttemptRecord | None = None,
        outcomes: Sequence[Outcome] = (),
    ) -> None:
        order_id = entry.order.id
        stored = self.entries.get(order_id)
        if stored is None:
            raise KeyError(f"unknown order {order_id!r}")
        if stored is entry and attempt is None and not outcomes and order_id in self._claimed:
            self._release(entry)  # a claim given back untouched
            return
        if attempt is not None:
            self._put_attempt(attempt)
        self._claimed.discard(order_id)
        self._store(entry)
        self.outcomes.extend(outcomes)

    def next_due_at(self) -> datetime | None:
        best: datetime | None = None
        for heap in self._heaps.values():
            while heap and not self._is_current(heap[0][2], heap[0][3]):
                heapq.heappop(heap)
            if heap and (best is None or heap[0][0] < best):
                best = heap[0][0]
        return best

    def open_order_with_identity(self, identity: str) -> str | None:
        return self._open_by_identity.get(identity)

    def earlier_order_with_identity(
        self, identity: str, handled_since: datetime | None
    ) -> str | None:
        found = [
            entry
            for entry in (self.entries[i] for i in self._all_by_identity.get(identity, ()))
            if _is_earlier_match(entry, handled_since)
        ]
        if not found:
            return None
        return min(found, key=lambda e: (e.order.created_at, e.order.id)).order.id

    def live_attempts(self) -> list[AttemptRecord]:
        return [self.attempts[a] for a in self._live_by_order.values()]

    def expire_claims(self) -> None:
        """Claims of a claimer that died (or lost the database) lapse, as the SQL store's
        lease does: the orders are due again as they were (the simulator's crashes)."""
        claimed, self._claimed = sorted(self._claimed), set()
        for order_id in claimed:
            self._store(self.entries[order_id])

    def _is_current(self, order_id: str, version: int) -> bool:
        return self._versions.get(order_id) == version and order_id not in self._claimed

    def _release(self, entry: QueueEntry) -> None:
        """Back into its heap under its current version: claiming popped its one item."""
        order_id = entry.order.id
        self._claimed.discard(order_id)
        state = entry.state
        if state.phase is Phase.QUEUED and state.due_at is not None:
            item = (state.due_at, entry.order.created_at, order_id, self._versions[order_id])
            heapq.heappush(self._heaps[state.priority], item)

    def _store(self, entry: QueueEntry) -> None:
        order_id = entry.order.id
        version = self._versions.get(order_id, 0) + 1
        self._versions[order_id] = version
        self.entries[order_id] = entry
        state = entry.state
        if state.phase is Phase.QUEUED and state.due_at is not None:
            item = (state.due_at, entry.order.created_at, order_id, version)
            heapq.heappush(self._heaps[state.priority], item)
        self._index_identity(entry)

    def _index_identity(self, entry: QueueEntry) -> None:
        current = self._open_by_identity.get(entry.identity)
        if entry.state.phase is Phase.DONE:
            if current == entry.order.id:
                del self._open_by_identity[entry.identity]
        elif current is None:
            self._open_by_identity[entry.identity] = entry.order.id

    def _put_attempt(self, attempt: AttemptRecord) -> None:
        if attempt.ended_at is None:
            for index, key in (
                (self._live_by_order, attempt.order_id),
                (self._live_by_number, attempt.e164),
            ):
                holder = index.get(key)
                if holder is not None and holder != attempt.id:
                    raise StoreConflict(f"a live attempt {holder} already holds {key}")
            self._live_by_order[attempt.order_id] = attempt.id
            self._live_by_number[attempt.e164] = attempt.id
        else:
            for index, key in (
                (self._live_by_order, attempt.order_id),
                (self._live_by_number, attempt.e164),
            ):
                if index.get(key) == attempt.id:
                    del index[key]
        self.attempts[attempt.id] = attempt


def _is_earlier_match(entry: QueueEntry, handled_since: datetime | None) -> bool:
    state = entry.state
    if state.phase is not Phase.DONE:
        return True
    if handled_since is None or entry.order.created_at < handled_since:
        return False
    return counts_as_handled(state.outcome)
