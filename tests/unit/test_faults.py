"""dialer.faults: the crash hook kills the process at the named step, the N-th time, and is
inert when the variable is unset; a malformed value is refused naming the variable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from dialer.faults import ENV_VAR, STEPS, parse

SCRIPT = """
from dialer.faults import crash_point
for n in range(1, 4):
    print("before", n, flush=True)
    crash_point("outcome_written", when=n != 2)
    crash_point("bridged")
print("survived", flush=True)
"""


def _run(value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if value is not None:
        env[ENV_VAR] = value
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip


def test_the_named_step_kills_the_process_with_sigkill_the_nth_time_it_is_passed() -> None:
    done = _run("outcome_written:2")  # passes 1 and 3 count; pass 2 has when=False
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["before", "1", "before", "2", "before", "3"]
    assert "crash point outcome_written: SIGKILL" in done.stderr


def test_unset_empty_or_another_step_never_kills() -> None:
    for value in (None, "", "claimed"):
        done = _run(value)
        assert done.returncode == 0, (value, done.stderr)
        assert done.stdout.split()[-1] == "survived"


def test_a_typo_in_the_variable_is_refused_naming_it() -> None:
    done = _run("bridge")
    assert done.returncode == 1
    assert f"{ENV_VAR}: unknown step 'bridge'" in done.stderr


@pytest.mark.parametrize("value", ["bridged:0", "bridged:x", "bridged:-1", "nope:2"])
def test_parse_refuses_bad_counts_and_steps(value: str) -> None:
    with pytest.raises(ValueError, match=ENV_VAR):
        parse(value)


def test_parse_reads_a_step_with_and_without_a_count() -> None:
    assert parse("bridged") == ("bridged", 1)
    assert parse(" outbox_delivering:3 ") == ("outbox_delivering", 3)
    assert parse("  ") is None
    assert set(STEPS) == {"claimed", "originating", "agent_ringing", "bridged",
                          "outcome_written", "outbox_delivering"}  # fmt: skip
