"""Fixtures for the contract tests: the integration suite's real Asterisk (started only when a
test asks for it) for the telephony contract's AMI side."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "integration"))

_spec = importlib.util.spec_from_file_location(
    "contract_integration_conftest", HERE.parents[0] / "integration" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

asterisk = _integration.asterisk  # a private Asterisk instance for this folder's session
ami_settings = _integration.ami_settings
