"""Fixtures for the CRM tests: local CRM servers (PostgreSQL comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from crm_servers import API_KEY, SECRET, HttpJsonCrm, RetailCrmDouble


@pytest.fixture
def http_crm() -> Iterator[HttpJsonCrm]:
    crm = HttpJsonCrm(SECRET)
    crm.server.start()
    yield crm
    crm.server.stop()


@pytest.fixture
def retail_crm() -> Iterator[RetailCrmDouble]:
    crm = RetailCrmDouble(API_KEY)
    crm.server.start()
    yield crm
    crm.server.stop()
