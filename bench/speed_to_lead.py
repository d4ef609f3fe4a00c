"""Bench 1: speed to lead — order pushed to /intake → the agent's Originate, p50/p99.

The real service (subprocess, SQLite) with many free agent doubles (answer, 1 s, press 1)
and customers that answer and stay 1 s; orders are pushed one per signed request in a
steady stream (``rate``/s, well under what the agents can take, so an agent is always
free). Latency = the service's "dial order" log line (ms, UTC; the Originate is written
in the same loop turn) minus the moment the push was sent. The limit is the 1 s target plus
the bare Originate round trip (panoramisk alone, Originate → OriginateResponse on the same
Asterisk) measured in the same run, so a slow machine does not fail the service for
Asterisk's own latency.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import Asterisk, Outcome, Row, percentile
from bench.originate import Plan, bare_loop
from bench.service_run import Service, agent_ids, customer_orders, seed_shop, write_config

TARGET_S = 1.0


def run(ast: Asterisk, quick: bool) -> Outcome:
    n = 200 if quick else 1000
    rate = 10.0
    bare = asyncio.run(bare_loop(ast, Plan(10, 0.0, 4.0, 1), None))
    bare_rtt_s = bare["originate_rtt_ms_p99"] / 1000
    orders = customer_orders(n, 3_000_000, 1)
    with tempfile.TemporaryDirectory(prefix="bench-stl-") as tmp_name:
        tmp = Path(tmp_name)
        shop = seed_shop(tmp / "shop.db", orders, datetime.now().astimezone())
        config = write_config(
            tmp, ast, shop, agents=agent_ids(60),
            service={"cps": 50, "campaign_lines": 60, "trunk_lines": 60},
        )  # fmt: skip
        service = Service(config, f"sqlite:///{tmp}/dialer.db", ast)
        pushed: dict[str, datetime] = {}
        try:
            start = time.monotonic()
            for i, order in enumerate(orders):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pushed[order.id] = service.push([order], f"bench-stl-{order.id}")
            deadline = time.monotonic() + 30
            while len(service.dials()) < n and time.monotonic() < deadline:
                time.sleep(0.5)
            dials = service.dials()
            exit_code = service.stop()
        finally:
            service.kill()
    latencies = sorted((dials[k][0] - t).total_seconds() for k, t in pushed.items() if k in dials)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    limit = TARGET_S + bare_rtt_s
    details: dict[str, Any] = {
        "orders": n,
        "push_rate_per_s": rate,
        "agents": 60,
        "dialled": len(latencies),
        "p50_s": p50,
        "p99_s": p99,
        "max_s": latencies[-1],
        "bare_originate_rtt_p99_s": bare_rtt_s,
        "bare_originate_rtt_p50_s": bare["originate_rtt_ms_p50"] / 1000,
        "exit_code": exit_code,
    }
    rows = [
        Row("speed_to_lead", "push → Originate p50", p50 * 1000, "ms", limit * 1000,
            "1 s + bare Originate RTT p99", "informative", None),
        Row("speed_to_lead", "push → Originate p99", p99 * 1000, "ms", limit * 1000,
            "1 s + bare Originate RTT p99", "p99 ≤ 1 s (+RTT)",
            p99 <= limit and len(latencies) == n),
    ]  # fmt: skip
    return Outcome("speed_to_lead", rows, details)
