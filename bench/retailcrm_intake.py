"""Bench: RetailCRM intake — a new order in RetailCRM → its first Originate, p50/p95, with
incremental intake from ``orders/history`` (a 2-s poll) against the old full listing of the
waiting orders every 30 s, in the same run; and the requests per second the dialer sent,
against RetailCRM's budget of 10 per API key.

Each mode runs the real service (subprocess, SQLite, ``[crm] kind = "retailcrm"``) against a
loopback RetailCRM double (``bench.retailcrm_double``) and the private Asterisk, with free
agent doubles (answer, 1 s, press 1) and customers that answer and stay 1 s, so every
outcome is written back (edits count against the budget). Orders appear in the double at
uniformly random moments over the run (as a shop's site creates them: no externalId).
Latency = the service's "dial order" log line (ms, UTC; the Originate is sent in the same
loop turn) minus the moment the order was created in the double. The request rate counts
every request the double received from the first order to the last dial; the peak is the
most in any 1-s window. Targets are the issue's fixed budgets: p95 ≤ 5 s, well under
10 requests/s.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import Asterisk, Outcome, Row, percentile
from bench.retailcrm_double import RetailCrmBenchDouble
from bench.service_run import Service, agent_ids, write_config

TARGET_P95_S = 5.0
BUDGET_PER_S = 10.0
_KEY_ENV = "BENCH_RETAILCRM_KEY"
_KEY = "bench-retailcrm-key-0123456789"


def run(ast: Asterisk, quick: bool) -> Outcome:
    n, span_s = (15, 60.0) if quick else (40, 150.0)
    rng = random.Random(17)
    found = {mode: _mode(ast, mode, n, span_s, rng) for mode in ("history", "listing")}
    h, old = found["history"], found["listing"]
    rows = [
        Row("retailcrm_intake", "history: new order → Originate p50", h["p50_s"], "s",
            TARGET_P95_S, "fixed budget (issue 17)", "informative", None),
        Row("retailcrm_intake", "history: new order → Originate p95", h["p95_s"], "s",
            TARGET_P95_S, "fixed budget (issue 17)", "p95 ≤ 5 s",
            h["p95_s"] <= TARGET_P95_S and h["dialled"] == n),
        Row("retailcrm_intake", "listing 30 s: new order → Originate p50", old["p50_s"], "s",
            TARGET_P95_S, "fixed budget (issue 17)", "informative (old way)", None),
        Row("retailcrm_intake", "listing 30 s: new order → Originate p95", old["p95_s"], "s",
            TARGET_P95_S, "fixed budget (issue 17)", "informative (old way)", None),
        Row("retailcrm_intake", "history: requests/s (mean)", h["rate_per_s"], "req/s",
            BUDGET_PER_S, "RetailCRM's budget per key", "well under 10/s (≤ 3)",
            h["rate_per_s"] <= BUDGET_PER_S * 0.3),
        Row("retailcrm_intake", "history: requests in the busiest 1 s", h["peak_per_s"],
            "req/s", BUDGET_PER_S, "RetailCRM's budget per key", "< 10", h["peak_per_s"] < 10),
        Row("retailcrm_intake", "listing 30 s: requests/s (mean)", old["rate_per_s"], "req/s",
            BUDGET_PER_S, "RetailCRM's budget per key", "informative (old way)", None),
    ]  # fmt: skip
    return Outcome("retailcrm_intake", rows, {"orders_per_mode": n, "span_s": span_s, **{
        f"{mode}_{k}": v for mode, d in found.items() for k, v in d.items()}})  # fmt: skip


def _mode(ast: Asterisk, mode: str, n: int, span_s: float, rng: random.Random) -> dict[str, Any]:
    double = RetailCrmBenchDouble(_KEY)
    double.start()
    os.environ[_KEY_ENV] = _KEY
    crm_lines = [
        "[crm]", 'kind = "retailcrm"', "[crm.retailcrm]", f'url = "{double.url}"',
        f'api_key_env = "{_KEY_ENV}"', 'site = "shop"', 'by = "id"', 'timezone = "UTC"',
        'comment_to = "statusComment"', f"history = {'true' if mode == 'history' else 'false'}",
        "poll_interval_s = 2", "listing_interval_s = 30",
    ]  # fmt: skip
    created: dict[str, datetime] = {}
    try:
        with tempfile.TemporaryDirectory(prefix=f"bench-rcrm-{mode}-") as tmp_name:
            tmp = Path(tmp_name)
            config = write_config(
                tmp, ast, "", agents=agent_ids(20), crm_lines=crm_lines,
                service={"cps": 20, "campaign_lines": 20, "trunk_lines": 20,
                         "poll_interval_s": 30, "status_max_age_s": 10},
            )  # fmt: skip
            service = Service(config, f"sqlite:///{tmp}/dialer.db", ast)
            try:
                time.sleep(3)  # the first poll (the full listing, the cursor) is done
                start = time.monotonic()
                moments = sorted(rng.uniform(0, span_s) for _ in range(n))
                for i, moment in enumerate(moments):
                    delay = start + moment - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    number = 5000 + i
                    created[str(number)] = double.create(number, f"+7916{i:05d}11")
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    if set(created) <= set(service.dials()):
                        break
                    time.sleep(0.2)
                end = time.monotonic()
                dials = service.dials()
                exit_code = service.stop()
            finally:
                service.kill()
    finally:
        double.stop()
    latencies = sorted((dials[k][0] - t).total_seconds() for k, t in created.items() if k in dials)
    sent = [at for at, _path in double.requests if start <= at <= end]
    peak = max((sum(1 for b in sent if a <= b < a + 1.0) for a in sent), default=0)
    return {
        "dialled": len(latencies),
        "p50_s": percentile(latencies, 50) if latencies else float("nan"),
        "p95_s": percentile(latencies, 95) if latencies else float("nan"),
        "max_s": latencies[-1] if latencies else float("nan"),
        "requests": len(sent),
        "seconds": end - start,
        "rate_per_s": len(sent) / (end - start),
        "peak_per_s": peak,
        "requests_by_route": dict(
            Counter(_route(p) for at, p in double.requests if start <= at <= end)
        ),
        "exit_code": exit_code,
    }


def _route(path: str) -> str:
    """``/orders/5001/edit`` → ``/orders/{id}/edit``."""
    return re.sub(r"/orders/\d+", "/orders/{id}", path)
