"""STYLE principle 1: the policy core imports no I/O library and reads no clock."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import campaigns

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
CORE = sorted(m.name for m in pkgutil.iter_modules(campaigns.__path__, "campaigns."))


def test_the_core_package_has_modules() -> None:
    assert "campaigns.lifecycle" in CORE
    assert "campaigns.retry" in CORE


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


def test_the_core_never_reads_the_clock() -> None:
    offenders = []
    for path in Path(campaigns.__path__[0]).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today", "time"}:
                base = node.value
                if isinstance(base, ast.Name) and base.id in {"datetime", "date", "time"}:
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
