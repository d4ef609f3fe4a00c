"""Fixtures for the fault tests: the integration suite's real Asterisk and the service
harness (the same helpers as tests/service)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in ("integration", "service"):
    sys.path.insert(0, str(HERE.parents[0] / folder))
sys.path.insert(0, str(HERE))

_spec = importlib.util.spec_from_file_location(
    "faults_integration_conftest", HERE.parents[0] / "integration" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

asterisk = _integration.asterisk  # a private instance for this folder's session
