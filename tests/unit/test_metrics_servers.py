"""/metrics: servers nobody serves, as the leader found them (issue 13, item 10)."""

from __future__ import annotations

from datetime import UTC, datetime

from dialer.storage.views import MetricsSnapshot
from dialer.web.metrics import render


def _render(unserved: dict[str, bool] | None) -> str:
    snapshot = MetricsSnapshot({}, {}, {}, 0, 0, None)
    now = datetime.now(UTC)
    return render(snapshot, ami_up=True, now=now, campaign="shop", unserved=unserved)


def test_the_leader_reports_each_server_nobody_serves_as_1_and_served_ones_as_0() -> None:
    text = _render({"ast-1": False, "ast-2": True})
    assert 'callback_dialer_server_unserved{campaign="shop",server="ast-1"} 0' in text
    assert 'callback_dialer_server_unserved{campaign="shop",server="ast-2"} 1' in text


def test_a_node_that_does_not_lead_leaves_the_servers_to_the_leader() -> None:
    assert "callback_dialer_server_unserved" not in _render(None)
