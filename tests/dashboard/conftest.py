"""Fixtures for the dashboard tests: the integration suite's real Asterisk, the service harness."""

from __future__ import annotations

import sys
from pathlib import Path

from local_services import integration_fixtures

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[0] / "service"))
sys.path.insert(0, str(HERE.parents[0] / "crm"))  # the HTTP/JSON CRM double
sys.path.insert(0, str(HERE.parents[0] / "faults"))  # its [crm] section
sys.path.insert(0, str(HERE))

_integration = integration_fixtures("dashboard_integration_conftest")

asterisk = _integration.asterisk  # a private Asterisk instance for this folder's session
