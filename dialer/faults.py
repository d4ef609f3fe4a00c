"""Fail points for the crash tests: ``crash_point(step)`` SIGKILLs the process at a named step.

A test hook, inert in production. When the environment variable ``CALLBACK_DIALER_CRASH_AT``
names a step (``claimed``), the process kills itself with SIGKILL the first time it passes
that step; ``claimed:3`` kills it the third time. There is no cleanup, no flush, no
``finally``: it is ``kill -9`` at a precise place, so a test can check what a restart
makes of the state left behind. Unset (or empty), every call is one dictionary lookup that
returns at once. The variable is read once, at the first call.

The steps of one attempt, in the order they happen (``STEPS``):

* ``claimed``: the dispatcher's claim of due orders is committed;
* ``originating``: the attempt row is committed and the Originate written to the AMI socket;
* ``agent_ringing``: AMI announced the agent's channel (the first Newchannel of the attempt);
* ``bridged``: the customer answered (DialEnd ANSWER of the customer's Dial);
* ``outcome_written``: an outcome and its outbox row are committed;
* ``outbox_delivering``: the CRM accepted an outcome, not yet marked delivered in the outbox.

A value naming no known step, or with a count that is not a positive integer, raises
``ValueError`` at the first call, naming the variable: a typo must not silently test nothing.
"""

from __future__ import annotations

import os
import signal
import sys

ENV_VAR = "CALLBACK_DIALER_CRASH_AT"
STEPS = (
    "claimed",
    "originating",
    "agent_ringing",
    "bridged",
    "outcome_written",
    "outbox_delivering",
)


class _Plan:
    """Which step kills the process, and after how many passes; None when unarmed."""

    def __init__(self) -> None:
        self.loaded = False
        self.step: str | None = None
        self.remaining = 0


_plan = _Plan()  # the process-wide switch: the environment is process-wide too


def parse(value: str) -> tuple[str, int] | None:
    """``"step"`` or ``"step:N"`` as (step, N); None for an empty value."""
    text = value.strip()
    if not text:
        return None
    step, _, count = text.partition(":")
    if step not in STEPS:
        raise ValueError(f"{ENV_VAR}: unknown step {step!r}; one of {', '.join(STEPS)}")
    if not count:
        return step, 1
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"{ENV_VAR}: the count after ':' must be a positive integer: {count!r}")
    return step, int(count)


def crash_point(step: str, *, when: bool = True) -> None:
    """SIGKILL this process if ``CALLBACK_DIALER_CRASH_AT`` names ``step`` and this is the
    N-th time it is passed (with ``when`` true)."""
    if not _plan.loaded:
        _load()
    if _plan.step != step or not when:
        return
    _plan.remaining -= 1
    if _plan.remaining == 0:
        print(f"crash point {step}: SIGKILL", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


def _load() -> None:
    parsed = parse(os.environ.get(ENV_VAR, ""))
    _plan.loaded = True
    if parsed is not None:
        _plan.step, _plan.remaining = parsed
