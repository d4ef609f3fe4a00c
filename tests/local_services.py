"""Helpers for tests that start real local services (Asterisk, PostgreSQL) on loopback."""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def unavailable(service: str, reason: str) -> NoReturn:
    """A real service could not be had: a failure in CI (never a silent skip), a skip
    with the reason on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"a real {service} is required in CI: {reason}")
    pytest.skip(f"no local {service}: {reason}")
