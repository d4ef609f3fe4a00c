"""Fixtures for the API tests: a fresh dialer over a real SQLite database per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "fuzz"))  # http_wire: raw HTTP exchanges

from agent_web import PASSWORDS, Browser
from api_harness import Dialer


@pytest.fixture
def dialer(tmp_path: Path) -> Iterator[Dialer]:
    d = Dialer(tmp_path)
    yield d
    d.engine.dispose()


@pytest.fixture
def browser(dialer: Dialer) -> Browser:
    """An agent's browser, not signed in yet; agents 1001 and 1002 have ``PASSWORDS``."""
    for agent, password in PASSWORDS.items():
        dialer.agent_auth.set_password(agent, password)
    return Browser(dialer)
