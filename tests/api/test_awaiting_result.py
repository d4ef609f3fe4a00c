"""Issue 15: an answered call never stays without a result unseen by ops. It is listed at
once («ждёт результата») on ``GET /api/v1/calls/awaiting-result`` and the dashboard, and
flagged ``overdue`` («нет результата») once it has waited longer than the campaign's
``wrap_up_max_s`` (180 s by default). On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from api_harness import Dialer
from local_services import fresh_database

from campaigns.dispositions import Disposition, DispositionKind


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Dialer]:
    if request.param == "sqlite":
        yield Dialer(tmp_path)
        return
    with fresh_database(request.getfixturevalue("postgres_url"), "awaiting") as url:
        dialer = Dialer(tmp_path, url)
        yield dialer
        dialer.engine.dispose()


def awaiting(dialer: Dialer) -> dict[str, object]:
    reply = dialer.call("GET", "/api/v1/calls/awaiting-result", role="viewer")
    assert reply.status == 200
    body: dict[str, object] = reply.json
    return body


def test_an_answered_call_without_its_result_is_listed_then_overdue_after_wrap_up_max(
    backend: Dialer,
) -> None:
    dialer = backend
    assert awaiting(dialer)["calls"] == []
    dialer.admit("НФ-00123")
    dialer.admit("7002", phone="+79165830422")
    dialer.answer("НФ-00123")
    dialer.now += timedelta(seconds=30)
    body = awaiting(dialer)
    [call] = body["calls"]  # type: ignore[misc]
    assert (call["order_id"], call["name"], call["waiting_s"]) == ("НФ-00123", "Ирина", 30)
    assert call["agent"] in {"1001", "1002"}
    assert (call["overdue"], body["overdue"], body["wrap_up_max_s"]) == (False, 0, 180)
    dialer.now += timedelta(seconds=151)
    body = awaiting(dialer)
    assert [(c["order_id"], c["overdue"]) for c in body["calls"]] == [("НФ-00123", True)]  # type: ignore[attr-defined]
    assert body["overdue"] == 1
    dialer.dispatcher.on_disposition("НФ-00123", Disposition(DispositionKind.CONFIRMED), dialer.now)
    assert awaiting(dialer)["calls"] == []
