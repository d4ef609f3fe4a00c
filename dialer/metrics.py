"""/metrics in the Prometheus text format (0.0.4): calls, queue, agents, outbox, AMI,
servers nobody serves (on the leader), and the originate latency histogram."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

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
    lines: list[str] = []
    c = {"campaign": campaign}
    _family(
        lines,
        "callback_dialer_calls_total",
        "counter",
        "Ended calls by result",
        [({**c, "result": r}, n) for r, n in sorted(snapshot.calls_by_result.items())],
    )
    _family(
        lines,
        "callback_dialer_orders",
        "gauge",
        "Orders by phase (queued = queue depth)",
        [({**c, "phase": p}, n) for p, n in sorted(snapshot.orders_by_phase.items())],
    )
    _family(
        lines,
        "callback_dialer_agents",
        "gauge",
        "Agents by state",
        [({**c, "state": s}, n) for s, n in sorted(snapshot.agents_by_state.items())],
    )
    _family(
        lines,
        "callback_dialer_outbox_pending",
        "gauge",
        "Outcomes not yet delivered",
        [({"dead": "false"}, snapshot.outbox_pending), ({"dead": "true"}, snapshot.outbox_dead)],
    )
    _family(
        lines,
        "callback_dialer_outbox_dead_total",
        "counter",
        "Outcomes given up by this process: permanent (no retry can help) or expired (3 days)",
        [({"reason": r}, n) for r, n in sorted((outbox_dead or {}).items())],
    )
    oldest = snapshot.outbox_oldest_at
    age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
    _family(
        lines,
        "callback_dialer_outbox_oldest_age_seconds",
        "gauge",
        "Age of the oldest undelivered outcome (0: none)",
        [({}, age)],
    )
    _family(
        lines,
        "callback_dialer_ami_connected",
        "gauge",
        "1 when the AMI link is ready",
        [({}, 1 if ami_up else 0)],
    )
    if unserved is not None:  # the leader's finding; other nodes leave it to the leader
        _family(
            lines,
            "callback_dialer_server_unserved",
            "gauge",
            "1 when no node holds the server's lock (nobody dials on it or follows its calls)",
            [({**c, "server": name}, int(v)) for name, v in sorted(unserved.items())],
        )
    _histogram(lines, latency or LatencyHistogram(), c)
    return "\n".join(lines) + "\n"


def _histogram(lines: list[str], latency: LatencyHistogram, labels: Mapping[str, str]) -> None:
    name = "callback_dialer_originate_latency_seconds"
    lines += [
        f"# HELP {name} Originate sent to the first AMI event about it (agent channel)",
        f"# TYPE {name} histogram",
    ]
    shown = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    running = 0
    for bound, n in zip(latency.buckets, latency.counts, strict=True):
        running += n
        lines.append(f'{name}_bucket{{{shown},le="{bound:g}"}} {running}')
    lines.append(f'{name}_bucket{{{shown},le="+Inf"}} {latency.count}')
    lines.append(f"{name}_sum{{{shown}}} {latency.sum:g}")
    lines.append(f"{name}_count{{{shown}}} {latency.count}")


def _family(
    lines: list[str],
    name: str,
    kind: str,
    help_text: str,
    samples: list[tuple[Mapping[str, str], float]],
) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        shown = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{shown}}} {value:g}" if shown else f"{name} {value:g}")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


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
