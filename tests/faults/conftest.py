"""Fixtures for the fault tests: the integration suite's real Asterisk and the HTTP CRM double."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for folder in ("integration", "service", "crm"):
    sys.path.insert(0, str(HERE.parent / folder))
sys.path.insert(0, str(HERE))

from crm_servers import SECRET, HttpJsonCrm  # noqa: E402 - after the path is set

_spec = importlib.util.spec_from_file_location(
    "faults_integration_conftest", HERE.parent / "integration" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)

asterisk = _integration.asterisk  # the same session fixture: one private instance


@pytest.fixture
def http_crm() -> Iterator[HttpJsonCrm]:
    """The signed HTTP/JSON CRM double on a free loopback port, recording every outcome."""
    crm = HttpJsonCrm(SECRET)
    crm.server.start()
    yield crm
    crm.server.stop()
