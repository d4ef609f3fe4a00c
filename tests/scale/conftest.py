"""Fixtures for the scale-out test: the integration suite's session Asterisk (ast-1), the
service harness, and a factory for a second Asterisk (ast-2)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "integration"))
sys.path.insert(0, str(HERE.parents[0] / "service"))

_spec = importlib.util.spec_from_file_location(
    "integration_conftest_scale", HERE.parents[0] / "integration" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

asterisk = _integration.asterisk  # the same session fixture: one private instance
