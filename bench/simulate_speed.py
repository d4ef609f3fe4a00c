"""Bench 5: `callback-dialer simulate` on 100 000 orders over 3 days against its 60 s limit.

Run with the others: .venv/bin/python -m bench --only simulate
Alone:               .venv/bin/python bench/simulate_speed.py [--orders N] [--agents K]
The workload is bench/make_orders.py (seed 1). With --quick (or fewer orders) the limit is
scaled in proportion (20 000 orders: 12 s).
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

LIMIT_S = 60.0
FULL_ORDERS = 100_000


def measure(orders_n: int, agents: int) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        orders = Path(tmp) / "orders.jsonl"
        write_orders(orders, orders_n, parse_utc("2026-03-10T00:00:00Z"), seed=1)
        command = [
            sys.executable, "-m", "dialer", "--db", f"sqlite:///{tmp}/b.db", "simulate",
            "--orders", str(orders), "--start", "2026-03-10T00:00:00Z", "--days", "3",
            "--agents", str(agents),
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
              "60 s per 100 000 orders", "≤ limit", seconds <= limit)  # fmt: skip
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
