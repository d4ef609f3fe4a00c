"""STYLE principle 1: the policy core and the dispatch round import no I/O library and read
no clock. The core is ``campaigns/``, ``dialer/dispatch/`` (the round, the dispatcher, the
agent pool, pacing, the status re-check, the ports and their in-memory fake) and the pure
parts of ``dialer/ami/``: the dial-string gate and the facts → result table; and the rules of
agent sign-in (``dialer/agent_auth/``: passwords, lockout, scope)."""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import campaigns
import dialer.dispatch

FORBIDDEN = (
    "asyncio",
    "twisted",
    "panoramisk",
    "sqlalchemy",
    "apscheduler",
    "socket",
    "requests",
    "urllib.request",
    "http",
)
PURE_AMI = ("dialer.ami.dial_gate", "dialer.ami.results")
PURE_AGENT_AUTH = ("dialer.agent_auth.lockout", "dialer.agent_auth.passwords",
                   "dialer.agent_auth.scope", "dialer.agent_auth.errors")  # fmt: skip
CORE = sorted(
    [
        *(m.name for m in pkgutil.iter_modules(campaigns.__path__, "campaigns.")),
        *(m.name for m in pkgutil.iter_modules(dialer.dispatch.__path__, "dialer.dispatch.")),
        *PURE_AMI,
        *PURE_AGENT_AUTH,
    ]
)


def _path(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    return Path(spec.origin)


def test_the_core_has_the_policy_the_round_and_the_pure_ami_modules() -> None:
    for module in ("campaigns.lifecycle", "campaigns.retry", "dialer.dispatch.round",
                   "dialer.dispatch.dispatcher", "dialer.dispatch.pacing", *PURE_AMI,
                   *PURE_AGENT_AUTH):  # fmt: skip
        assert module in CORE


def test_importing_the_core_loads_no_io_library() -> None:
    code = (
        "import sys\n"
        f"for m in {CORE!r}: __import__(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} "
        f"or m in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def clock_reads(source: str) -> list[int]:
    """Lines that read the clock: ``datetime.now()``, ``date.today()``, ``time.time()`` …"""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today", "time"}:
            base = node.value
            if isinstance(base, ast.Name) and base.id in {"datetime", "date", "time"}:
                lines.append(node.lineno)
    return lines


def test_the_clock_scan_finds_a_clock_read() -> None:
    assert clock_reads("from datetime import datetime\nx = datetime.now()\n") == [2]
    assert clock_reads("def f(now):\n    return now\n") == []


def test_the_core_never_reads_the_clock() -> None:
    offenders = [
        f"{module}:{line}"
        for module in CORE
        for line in clock_reads(_path(module).read_text(encoding="utf-8"))
    ]
    assert offenders == []
