"""The dispatcher when its store fails (the database is down): nothing is half-applied, so
the service can apply the same report again later, and no agent is lost to a failed dial."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from test_dispatcher import T0, make, order

from campaigns.calls import CallReport, CallResult
from dialer.dispatch.agents import AgentState
from dialer.dispatch.memory_store import MemoryOrderStore


class _Down:
    """Makes a store's ``save`` fail as a database that went away would, while ``down``."""

    def __init__(self, store: MemoryOrderStore) -> None:
        self.down = False
        self._save = store.save
        store.save = self.save  # type: ignore[method-assign]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.down:
            raise OperationalError("UPDATE orders", {}, Exception("server closed the connection"))
        self._save(*args, **kwargs)  # type: ignore[arg-type]


def test_a_report_the_store_refused_leaves_the_attempt_live_and_applies_once_later() -> None:
    d, rec, store, pool = make(agents=1)
    d.admit([order("1")], T0)
    assert d.dispatch(T0) == 1
    attempt_id = rec.originated[0].attempt_id
    report = CallReport(attempt_id, CallResult.NO_ANSWER, T0 + timedelta(seconds=30))
    switch = _Down(store)
    switch.down = True
    with pytest.raises(OperationalError):
        d.on_report(report)
    assert d.live_attempts == 1 and pool.get("a0").state is AgentState.RINGING
    switch.down = False
    d.on_report(report)  # the service applies the kept report when the database is back
    assert d.live_attempts == 0 and pool.get("a0").state is AgentState.IDLE
    assert len(rec.outcomes) == 1
    entry = store.get("1")
    assert entry is not None and entry.state.customer_attempts == 1


def test_an_attempt_the_store_could_not_write_gives_its_agent_back_and_dials_nothing() -> None:
    d, rec, store, pool = make(agents=1)
    d.admit([order("1")], T0)
    switch = _Down(store)
    switch.down = True
    with pytest.raises(OperationalError):
        d.dispatch(T0)
    assert rec.originated == [] and d.live_attempts == 0
    assert pool.get("a0").state is AgentState.IDLE and pool.idle_count(T0) == 1
