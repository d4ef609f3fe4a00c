"""Helpers for tests that start real local services (Asterisk, PostgreSQL) on loopback."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, make_url, text


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port on ``host`` (any loopback address) that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def unavailable(service: str, reason: str) -> NoReturn:
    """A real service could not be had: a failure in CI (never a silent skip), a skip
    with the reason on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"a real {service} is required in CI: {reason}")
    pytest.skip(f"no local {service}: {reason}")


def integration_fixtures(name: str) -> ModuleType:
    """The integration suite's conftest loaded as module ``name``, for another folder to take
    its fixtures (``asterisk = integration_fixtures(...).asterisk``): that folder's session
    then has its own private Asterisk, started only when a test asks for it."""
    integration = Path(__file__).resolve().parent / "integration"
    sys.path.insert(0, str(integration))
    spec = importlib.util.spec_from_file_location(name, integration / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def fresh_database(server_url: str, prefix: str) -> Iterator[str]:
    """A database of its own on the session's PostgreSQL cluster (``server_url``), dropped
    afterwards even if a client is still connected; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
