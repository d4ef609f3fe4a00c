"""Fixtures for the scale-out test: the integration suite's session Asterisk (ast-1), the
service harness, and a factory for a second Asterisk (ast-2)."""

from __future__ import annotations

import sys
from pathlib import Path

from local_services import integration_fixtures

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "service"))

_integration = integration_fixtures("integration_conftest_scale")

asterisk = _integration.asterisk  # the same session fixture: one private instance
