"""/metrics in the Prometheus text format (0.0.4): calls, queue, agents, outbox, AMI,
servers nobody serves (on the leader), and the originate latency histogram.

Rendered by ``prometheus_client.exposition.generate_latest`` over one ``ScrapeCollector``
built per scrape (no global registry)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from twisted.web.resource import Resource

from dialer.storage.views import MetricsSnapshot, OrderViews

Probe = Callable[[], tuple[bool, datetime]]
"""The service's view: (AMI connected, now)."""
Servers = Callable[[], Mapping[str, bool] | None]
"""The leader's view of the campaign's servers: name → nobody serves it (None elsewhere)."""
DeadCounts = Callable[[], Mapping[str, int]]
"""Outbox rows made dead by this process, by reason (``OutboxWorker.dead_counts``)."""

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LatencyHistogram:
    """Originate sent → first AMI answer about it, in seconds (this process's lifetime)."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)  # per bucket, not cumulative
        self.count = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.sum += seconds
        for i, bound in enumerate(self.buckets):
            if seconds <= bound:
                self.counts[i] += 1
                break


def render(
    snapshot: MetricsSnapshot,
    *,
    ami_up: bool,
    now: datetime,
    campaign: str,
    latency: LatencyHistogram | None = None,
    unserved: Mapping[str, bool] | None = None,
    outbox_dead: Mapping[str, int] | None = None,
) -> str:
    collector = ScrapeCollector(
        snapshot,
        ami_up=ami_up,
        now=now,
        campaign=campaign,
        latency=latency,
        unserved=unserved,
        outbox_dead=outbox_dead,
    )
    return generate_latest(collector).decode("utf-8")


class ScrapeCollector:
    """One scrape's families, built from values read for that scrape: no registry, no
    module-level state. Counters are named without ``_total`` (the client adds it) and carry
    no ``created`` time, so no ``_created`` series appears."""

    def __init__(
        self,
        snapshot: MetricsSnapshot,
        *,
        ami_up: bool,
        now: datetime,
        campaign: str,
        latency: LatencyHistogram | None,
        unserved: Mapping[str, bool] | None,
        outbox_dead: Mapping[str, int] | None,
    ) -> None:
        self._snapshot = snapshot
        self._ami_up = ami_up
        self._now = now
        self._campaign = campaign
        self._latency = latency or LatencyHistogram()
        self._unserved = unserved
        self._outbox_dead = outbox_dead or {}

    def collect(self) -> Iterator[Metric]:
        yield from self._database_families()
        yield from self._process_families()
        yield _histogram(self._latency, self._campaign)

    def _database_families(self) -> Iterator[Metric]:
        snap, c = self._snapshot, self._campaign
        yield _labelled(
            CounterMetricFamily(
                "callback_dialer_calls", "Ended calls by result", labels=["campaign", "result"]
            ),
            [([c, r], n) for r, n in sorted(snap.calls_by_result.items())],
        )
        yield _labelled(
            GaugeMetricFamily(
                "callback_dialer_orders",
                "Orders by phase (queued = queue depth)",
                labels=["campaign", "phase"],
            ),
            [([c, p], n) for p, n in sorted(snap.orders_by_phase.items())],
        )
        yield _labelled(
            GaugeMetricFamily(
                "callback_dialer_agents", "Agents by state", labels=["campaign", "state"]
            ),
            [([c, s], n) for s, n in sorted(snap.agents_by_state.items())],
        )
        yield _labelled(
            GaugeMetricFamily(
                "callback_dialer_outbox_pending", "Outcomes not yet delivered", labels=["dead"]
            ),
            [(["false"], snap.outbox_pending), (["true"], snap.outbox_dead)],
        )
        unsent = snap.telephony_unsent
        yield _labelled(
            GaugeMetricFamily(
                "callback_dialer_retailcrm_telephony_unsent",
                "RetailCRM call events and uploads not sent (dead: given up)",
                labels=["kind", "dead"],
            ),
            [
                ([k, str(d).lower()], unsent.get((k, d), 0))
                for k in ("event", "upload")
                for d in (False, True)
            ],
        )

    def _process_families(self) -> Iterator[Metric]:
        yield _labelled(
            CounterMetricFamily(
                "callback_dialer_outbox_dead",
                "Outcomes given up by this process: permanent (no retry can help) or expired"
                " (3 days)",
                labels=["reason"],
            ),
            [([r], n) for r, n in sorted(self._outbox_dead.items())],
        )
        oldest = self._snapshot.outbox_oldest_at
        age = 0.0 if oldest is None else max(0.0, (self._now - oldest).total_seconds())
        yield GaugeMetricFamily(
            "callback_dialer_outbox_oldest_age_seconds",
            "Age of the oldest undelivered outcome (0: none)",
            value=age,
        )
        yield GaugeMetricFamily(
            "callback_dialer_ami_connected",
            "1 when the AMI link is ready",
            value=1 if self._ami_up else 0,
        )
        if self._unserved is not None:  # the leader's finding; other nodes leave it to it
            yield _labelled(
                GaugeMetricFamily(
                    "callback_dialer_server_unserved",
                    "1 when no node holds the server's lock (nobody dials on it or follows its"
                    " calls)",
                    labels=["campaign", "server"],
                ),
                [([self._campaign, name], int(v)) for name, v in sorted(self._unserved.items())],
            )


_Family = TypeVar("_Family", CounterMetricFamily, GaugeMetricFamily)


def _labelled(family: _Family, samples: list[tuple[list[str], float]]) -> _Family:
    for labels, value in samples:
        family.add_metric(labels, value)
    return family


def _histogram(latency: LatencyHistogram, campaign: str) -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "callback_dialer_originate_latency_seconds",
        "Originate sent to the first AMI event about it (agent channel)",
        labels=["campaign"],
    )
    cumulative = list(itertools.accumulate(latency.counts))
    buckets = [
        (f"{bound:g}", float(n)) for bound, n in zip(latency.buckets, cumulative, strict=True)
    ]
    buckets.append(("+Inf", float(latency.count)))
    family.add_metric([campaign], buckets, latency.sum)
    return family


class MetricsResource(Resource):
    """``GET /metrics``: no token (like /healthz); bind the listener to a trusted address."""

    isLeaf = True

    def __init__(
        self,
        views: OrderViews,
        probe: Probe,
        campaign: str,
        *,
        latency: LatencyHistogram | None = None,
        servers: Servers | None = None,
        outbox_dead: DeadCounts | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._views = views
        self._probe = probe
        self._campaign = campaign
        self._latency = latency
        self._servers = servers
        self._outbox_dead = outbox_dead

    def render_GET(self, request: Any) -> bytes:
        ami_up, now = self._probe()
        text = render(
            self._views.metrics(),
            ami_up=ami_up,
            now=now,
            campaign=self._campaign,
            latency=self._latency,
            unserved=None if self._servers is None else self._servers(),
            outbox_dead=None if self._outbox_dead is None else self._outbox_dead(),
        )
        request.setHeader(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")
        return text.encode("utf-8")
