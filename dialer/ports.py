"""The dialer's ports: small protocols with a real adapter and an in-memory fake each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from campaigns.calls import CallReport, OriginateRequest

ReportSink = Callable[[CallReport], None]


class Telephony(Protocol):
    """Places agent-first calls. ``originate`` returns at once; the end of the call is
    reported later, exactly once per request, to the sink given at construction."""

    def originate(self, request: OriginateRequest) -> None: ...
