"""/metrics through prometheus_client: the series, types, labels and HELP texts ops scrape,
read back with the client's own parser (issue 14: names and labels must not change)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from dialer.storage.views import MetricsSnapshot
from dialer.web.metrics import LatencyHistogram, render

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

EXPECTED = {  # family as written before issue 14 → (type, sample names, label names)
    "callback_dialer_calls_total": (
        "counter",
        {"callback_dialer_calls_total"},
        {"campaign", "result"},
    ),
    "callback_dialer_orders": ("gauge", {"callback_dialer_orders"}, {"campaign", "phase"}),
    "callback_dialer_agents": ("gauge", {"callback_dialer_agents"}, {"campaign", "state"}),
    "callback_dialer_outbox_pending": ("gauge", {"callback_dialer_outbox_pending"}, {"dead"}),
    "callback_dialer_retailcrm_telephony_unsent": (
        "gauge",
        {"callback_dialer_retailcrm_telephony_unsent"},
        {"kind", "dead"},
    ),
    "callback_dialer_outbox_dead_total": (
        "counter",
        {"callback_dialer_outbox_dead_total"},
        {"reason"},
    ),
    "callback_dialer_outbox_oldest_age_seconds": (
        "gauge",
        {"callback_dialer_outbox_oldest_age_seconds"},
        set(),
    ),
    "callback_dialer_ami_connected": ("gauge", {"callback_dialer_ami_connected"}, set()),
    "callback_dialer_server_unserved": (
        "gauge",
        {"callback_dialer_server_unserved"},
        {"campaign", "server"},
    ),
    "callback_dialer_originate_latency_seconds": (
        "histogram",
        {f"callback_dialer_originate_latency_seconds_{s}" for s in ("bucket", "sum", "count")},
        {"campaign", "le"},
    ),
}


def _full_text() -> str:
    latency = LatencyHistogram()
    for seconds in (0.005, 0.3, 11.0):
        latency.observe(seconds)
    snapshot = MetricsSnapshot(
        {"answered": 1234567}, {"queued": 12}, {"ready": 2}, 5, 2, NOW - timedelta(seconds=90)
    )
    return render(
        snapshot,
        ami_up=True,
        now=NOW,
        campaign="shop",
        latency=latency,
        unserved={"ast-1": True},
        outbox_dead={"permanent": 1},
    )


def _type_lines(text: str) -> dict[str, str]:
    return {
        line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE ")
    }


def test_every_family_keeps_its_name_type_and_labels() -> None:
    text = _full_text()
    assert _type_lines(text) == {name: kind for name, (kind, _, _) in EXPECTED.items()}
    samples: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, set()).update(sample.labels)
    expected = {name: labels for _, names, labels in EXPECTED.values() for name in names}
    expected["callback_dialer_originate_latency_seconds_sum"] = {"campaign"}
    expected["callback_dialer_originate_latency_seconds_count"] = {"campaign"}
    assert samples == expected


def test_no_created_series_is_added_to_counters() -> None:
    assert "_created" not in _full_text()


def test_help_texts_are_unchanged() -> None:
    helps = {
        line.split()[2]: line.split(" ", 3)[3]
        for line in _full_text().splitlines()
        if line.startswith("# HELP ")
    }
    assert helps["callback_dialer_calls_total"] == "Ended calls by result"
    assert helps["callback_dialer_outbox_dead_total"] == (
        "Outcomes given up by this process: permanent (no retry can help) or expired (3 days)"
    )
    assert helps["callback_dialer_originate_latency_seconds"] == (
        "Originate sent to the first AMI event about it (agent channel)"
    )
    assert helps["callback_dialer_server_unserved"] == (
        "1 when no node holds the server's lock (nobody dials on it or follows its calls)"
    )


def test_large_counts_are_exact_and_buckets_keep_their_le_labels() -> None:
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(_full_text())
        for s in f.samples
    }
    assert (
        values[("callback_dialer_calls_total", (("campaign", "shop"), ("result", "answered")))]
        == 1234567
    )
    les = [
        s.labels["le"]
        for f in text_string_to_metric_families(_full_text())
        for s in f.samples
        if s.name.endswith("_bucket")
    ]
    assert les == ["0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
