"""Bench 5: `callback-dialer simulate` on 100 000 orders over 3 days with the full round
(issue 18 §2): at most 20 s.

Run with the others: .venv/bin/python -m bench --only simulate
Alone:               .venv/bin/python bench/simulate_speed.py [--orders N] [--agents K]
The workload is bench/make_orders.py (seed 1; one order in 25 is cancelled in the CRM at
some point of its first two days). With --quick (or fewer orders) the limit is scaled in
proportion (20 000 orders: 4 s), which the fixed start-up cost (imports) weighs on.

The full round is the service's, as a real 200-agent centre would run it
(``SERVICE_TOML``, passed as ``--service-config``): pacing at 10 Originates a second,
200 campaign lines and 200 trunk lines (one per agent), the never-touch status re-check
against the simulated CRM with the service's default timings (a reading is good for 10 s)
and CRM reads taking ``STATUS_READ_S`` (0.3 s) of simulated time. Faults are off.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if not __package__:  # run as a script (README: .venv/bin/python bench/simulate_speed.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Outcome, Row, table, write_json
from bench.make_orders import write_orders
from dialer.clock_text import parse_utc

LIMIT_S = 20.0
FULL_ORDERS = 100_000
SERVICE_TOML = """\
[service]
cps = 10
campaign_lines = 200
trunk_lines = 200
"""
STATUS_READ_S = 0.3


def measure(orders_n: int, agents: int) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        orders = Path(tmp) / "orders.jsonl"
        write_orders(orders, orders_n, parse_utc("2026-03-10T00:00:00Z"), seed=1)
        service = Path(tmp) / "service.toml"
        service.write_text(SERVICE_TOML, encoding="utf-8")
        command = [
            sys.executable, "-m", "dialer", "--db", f"sqlite:///{tmp}/b.db", "simulate",
            "--orders", str(orders), "--start", "2026-03-10T00:00:00Z", "--days", "3",
            "--agents", str(agents), "--service-config", str(service),
            "--status-read-s", str(STATUS_READ_S),
        ]  # fmt: skip
        started = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        seconds = time.perf_counter() - started
    summary: dict[str, int] = json.loads(out.splitlines()[-1])
    return seconds, summary


def run(quick: bool, orders_n: int | None = None, agents: int = 200) -> Outcome:
    n = orders_n or (20_000 if quick else FULL_ORDERS)
    limit = LIMIT_S * n / FULL_ORDERS
    seconds, summary = measure(n, agents)
    row = Row("simulate", f"{n} orders, 3 days", seconds, "s", limit,
              "20 s per 100 000 orders", "≤ limit", seconds <= limit)  # fmt: skip
    details = {"orders": n, "agents": agents, "dials": summary.get("dials"), "seconds": seconds}
    return Outcome("simulate", [row], details)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=FULL_ORDERS)
    parser.add_argument("--agents", type=int, default=200)
    args = parser.parse_args()
    outcome = run(False, args.orders, args.agents)
    print(table(outcome.rows))
    write_json(outcome, quick=args.orders < FULL_ORDERS)


if __name__ == "__main__":
    main()
