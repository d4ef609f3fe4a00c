"""The originate latency histogram: buckets are cumulative in /metrics, +Inf equals the count."""

from __future__ import annotations

from datetime import UTC, datetime

from dialer.storage.views import MetricsSnapshot
from dialer.web.metrics import LatencyHistogram, render

NAME = "callback_dialer_originate_latency_seconds"


def snapshot() -> MetricsSnapshot:
    return MetricsSnapshot({}, {}, {}, 0, 0, None)


def test_observations_are_rendered_as_a_prometheus_histogram() -> None:
    latency = LatencyHistogram(buckets=(0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 3.0):
        latency.observe(seconds)
    text = render(snapshot(), ami_up=True, now=datetime.now(UTC), campaign="shop", latency=latency)
    assert f"# TYPE {NAME} histogram" in text
    assert f'{NAME}_bucket{{campaign="shop",le="0.1"}} 2' in text
    assert f'{NAME}_bucket{{campaign="shop",le="1"}} 3' in text
    assert f'{NAME}_bucket{{campaign="shop",le="+Inf"}} 4' in text
    assert f'{NAME}_sum{{campaign="shop"}} 3.65' in text
    assert f'{NAME}_count{{campaign="shop"}} 4' in text


def test_an_empty_histogram_is_still_reported() -> None:
    text = render(snapshot(), ami_up=False, now=datetime.now(UTC), campaign="shop")
    assert f'{NAME}_bucket{{campaign="shop",le="+Inf"}} 0' in text
    assert f'{NAME}_count{{campaign="shop"}} 0' in text
