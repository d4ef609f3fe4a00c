"""Fixtures for the security tests: the integration suite's real Asterisk and the service
harness (the service as a subprocess), as tests/service uses them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in ("integration", "service", "cli"):
    sys.path.insert(0, str(HERE.parent / folder))

_spec = importlib.util.spec_from_file_location(
    "integration_conftest_security", HERE.parent / "integration" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

asterisk = _integration.asterisk  # the same session fixture: one private instance
ami_lines = _integration.ami_lines
