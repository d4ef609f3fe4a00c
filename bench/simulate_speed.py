"""Benchmark: `callback-dialer simulate` on 100 000 orders over 3 days against its 60 s limit.

Run: .venv/bin/python bench/simulate_speed.py [--orders N] [--agents K]
Prints a table and writes bench/results/simulate_speed.json. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from make_orders import write_orders  # type: ignore[import-not-found]

from dialer.clock_text import parse_utc

LIMIT_S = 60.0
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        orders = Path(tmp) / "orders.jsonl"
        write_orders(orders, args.orders, parse_utc("2026-03-10T00:00:00Z"), seed=1)
        command = [
            sys.executable,
            "-m",
            "dialer",
            "--db",
            f"sqlite:///{tmp}/b.db",
            "simulate",
            "--orders",
            str(orders),
            "--start",
            "2026-03-10T00:00:00Z",
            "--days",
            "3",
            "--agents",
            str(args.agents),
        ]
        started = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        seconds = time.perf_counter() - started
    summary = json.loads(out.splitlines()[-1])
    result = {
        "orders": args.orders,
        "agents": args.agents,
        "dials": summary["dials"],
        "seconds": round(seconds, 2),
        "limit_s": LIMIT_S,
        "ratio": round(seconds / LIMIT_S, 3),
        "machine": f"{platform.machine()} {platform.python_version()}",
    }
    print(f"{'orders':>8} {'dials':>8} {'seconds':>8} {'limit':>6} {'ratio':>6}")
    print(
        f"{args.orders:>8} {summary['dials']:>8} {seconds:>8.1f} {LIMIT_S:>6.0f} "
        f"{seconds / LIMIT_S:>6.2f}"
    )
    target = ROOT / "bench" / "results" / "simulate_speed.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
