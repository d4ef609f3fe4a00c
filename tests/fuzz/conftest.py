"""Fixtures for the fuzz tests: the API harness's dialer (real SQLite, real dispatcher)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "api"))
