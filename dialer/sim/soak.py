"""``simulate --soak DURATION``: run seed after seed until the time is up, printing only the
seeds whose run broke an invariant (each violation as a JSON line), then a tally.

The seeds run the same orders and configuration as one ``simulate`` call, the seed alone
changing (``--seed``, ``--seed`` + 1, ...); a failing seed is reproduced byte for byte by
``simulate`` with that ``--seed`` and the same other arguments. The wall clock here only
bounds the soak: nothing of it reaches a run.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TextIO

from campaigns.orders import Order
from dialer.dispatch.dispatcher import Screen
from dialer.sim.phones import SimCallee
from dialer.sim.simulate import SimConfig, run_simulation

VIOLATED = 1  # the exit status of a run (or a soak) that broke an invariant


def soak(
    orders: Sequence[tuple[Order, SimCallee]],
    config: SimConfig,
    screen: Screen,
    seconds: float,
    *,
    out: TextIO,
    err: TextIO,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Seeds until ``seconds`` pass (or Ctrl-C); 1 when some seed failed, else 0."""
    deadline = clock() + seconds
    seeds = failed = 0
    seed = config.seed
    try:
        while seeds == 0 or clock() < deadline:
            one = replace(config, seed=seed)
            events = io.StringIO()
            summary = run_simulation(orders, one, screen, events)
            seeds += 1
            if summary["violations"]:
                failed += 1
                for line in events.getvalue().splitlines():
                    if '"event": "violation"' in line:
                        out.write(line + "\n")
                err.write(f"seed {seed}: {summary['violations']} violations "
                          f"(reproduce: simulate ... --seed {seed})\n")  # fmt: skip
                out.flush()
            seed += 1
    except KeyboardInterrupt:
        err.write("soak stopped\n")
    tally = {"event": "soak", "seeds": seeds, "first_seed": config.seed,
             "last_seed": config.seed + seeds - 1, "failed": failed}  # fmt: skip
    out.write(json.dumps(tally) + "\n")
    return VIOLATED if failed else 0
