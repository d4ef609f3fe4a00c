"""Run the benchmarks: `.venv/bin/python -m bench [--quick] [--only NAME ...]`.

Names: speed_to_lead, originate, ami_pipeline, queue_scale, agent_card, sip_legs, simulate,
retailcrm_intake (default: all, in that order). Starts its own Asterisk instance
(scripts/asterisk-local, unique name, free AMI port) and PostgreSQL cluster
(scripts/postgres-local), and stops them at the end, even on failure (agent_card: also its
service and headless Chromium; sip_legs: an Asterisk of its own with PJSIP, and SIPp, which
needs root). Prints one table (figure, the limit measured in the same run, ratio, target,
pass/MISS) and writes bench/results/<name>.json. Never run by the test suite.
Profile the service while it runs: BENCH_PROFILE_DIR=/tmp/prof (needs py-spy in the venv).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import (
    agent_card,
    ami_pipeline,
    originate,
    queue_scale,
    retailcrm_intake,
    simulate_speed,
    sip_legs,
    speed_to_lead,
)
from bench.common import Asterisk, Outcome, Row, asterisk, machine, table, write_json

NAMES = (
    "speed_to_lead", "originate", "ami_pipeline", "queue_scale", "agent_card", "sip_legs",
    "simulate", "retailcrm_intake",
)  # fmt: skip
_NEEDS_ASTERISK = {
    "speed_to_lead", "originate", "ami_pipeline", "queue_scale", "agent_card", "retailcrm_intake",
}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (~5 minutes)")
    parser.add_argument("--only", action="append", choices=NAMES, help="repeatable")
    args = parser.parse_args()
    chosen = [n for n in NAMES if not args.only or n in args.only]
    rows: list[Row] = []
    failed: list[str] = []
    print(f"machine: {machine()}", flush=True)
    with contextlib.ExitStack() as stack:
        ast: Asterisk | None = None
        if _NEEDS_ASTERISK & set(chosen):
            ast = stack.enter_context(asterisk("main"))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        for name in chosen:
            started = time.monotonic()
            print(f"== {name} ...", flush=True)
            try:
                outcome = _one(name, ast, args.quick, tmp)
            except Exception:
                traceback.print_exc()
                failed.append(name)
                continue
            path = write_json(outcome, args.quick)
            rows += outcome.rows
            print(table(outcome.rows))
            print(f"   ({time.monotonic() - started:.0f} s, {path})", flush=True)
    print()
    print(table(rows))
    if failed:
        print(f"failed to run: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _one(name: str, ast: Asterisk | None, quick: bool, tmp: Path) -> Outcome:  # noqa: PLR0911
    stream = tmp / "ami-stream.bin"
    if name == "speed_to_lead":
        assert ast is not None
        return speed_to_lead.run(ast, quick)
    if name == "originate":
        assert ast is not None
        return originate.run(ast, quick, stream)
    if name == "ami_pipeline":
        if not stream.exists() or stream.stat().st_size == 0:
            assert ast is not None
            ami_pipeline.record(ast, stream)
        return ami_pipeline.run(stream, quick)
    if name == "queue_scale":
        assert ast is not None
        return queue_scale.run(ast, quick)
    if name in ("agent_card", "retailcrm_intake"):
        assert ast is not None
        return (agent_card.run if name == "agent_card" else retailcrm_intake.run)(ast, quick)
    if name == "sip_legs":
        return sip_legs.run(quick, tmp)
    return simulate_speed.run(quick)


if __name__ == "__main__":
    sys.exit(main())
