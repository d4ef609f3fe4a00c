"""Builds the configured adapter; the composition root hands in the clocks and sleep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from crm_adapter.config import CrmConfig
from crm_adapter.http_json import HttpJsonAdapter
from crm_adapter.port import CrmAdapter
from crm_adapter.retailcrm import RetailCrmAdapter
from crm_adapter.retailcrm_limits import shared_limiter
from crm_adapter.sql import SqlCrmAdapter


def make_adapter(
    config: CrmConfig,
    *,
    clock: Callable[[], datetime],
    monotonic: Callable[[], float],
    sleep: Callable[[float], None],
) -> CrmAdapter:
    """The adapter of ``config.kind``. ``clock`` is wall time (request signatures),
    ``monotonic`` and ``sleep`` drive RetailCRM's rate limit, one per API key for the
    whole process (every thread and every adapter built for that key share it)."""
    if config.http is not None:
        return HttpJsonAdapter(config.http, clock=clock)
    if config.sql is not None:
        return SqlCrmAdapter(config.sql)
    if config.retailcrm is not None:
        s = config.retailcrm
        limiter = shared_limiter(s.api_key, rate=s.rate_per_s, clock=monotonic, sleep=sleep)
        return RetailCrmAdapter(s, limiter=limiter, sleep=sleep, clock=clock)
    raise AssertionError(f"no settings for crm kind {config.kind!r}")  # pragma: no cover
