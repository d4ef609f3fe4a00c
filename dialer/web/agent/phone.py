"""``GET /agent/phone``: the signed-in agent's own softphone settings (issue 16 §2).

The page's WebRTC softphone (JsSIP, ``static/agent/vendor/``) registers to Asterisk over a
secure WebSocket as the agent's PJSIP endpoint (``dialer/asterisk_files/pjsip-webrtc.conf``): SIP
user = the agent id, password from ``[service] agent_phone_secrets_file``. This route gives
the page exactly that, for the agent of the session and no other:

    {"enabled": true, "ws_url": "wss://pbx:8089/ws", "uri": "sip:201@pbx",
     "username": "201", "password": "…"}

or ``{"enabled": false, "reason": …}`` when the service has no softphone configured
(``agent_phone_ws_url`` empty) or the file names no password for this agent: the page then
shows no phone and the agent uses a desk phone as before.

The secrets file is TOML, ``"AGENT" = "SIP password"`` lines, read on every request so a
changed password needs no restart; it is never logged. A file that cannot be read is a 503
naming the setting (the page says the phone is not available).
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dialer.web.api.errors import ApiError

log = logging.getLogger("dialer.agent")


@dataclass(frozen=True, slots=True)
class PhoneSettings:
    """Where the agents' softphones register: ``ws_url`` (empty: no softphone), the SIP
    ``domain`` of their URIs (empty: the WebSocket URL's host), the secrets file."""

    ws_url: str = ""
    domain: str = ""
    secrets_file: Path | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.ws_url)

    def ws_origin(self) -> str:
        """``wss://host:port`` of ``ws_url`` (what the page's CSP lets it connect to)."""
        parts = urlsplit(self.ws_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""

    def sip_domain(self) -> str:
        return self.domain or (urlsplit(self.ws_url).hostname or "")

    def for_agent(self, agent_id: str) -> dict[str, Any]:
        """The page's settings for ``agent_id`` (its own password only)."""
        if not self.enabled:
            return {"enabled": False, "reason": "no softphone configured (agent_phone_ws_url)"}
        password = self._secrets().get(agent_id)
        if not isinstance(password, str) or not password:
            return {
                "enabled": False,
                "reason": f"no SIP password for agent {agent_id} (agent_phone_secrets_file)",
            }
        return {
            "enabled": True,
            "ws_url": self.ws_url,
            "uri": f"sip:{agent_id}@{self.sip_domain()}",
            "username": agent_id,
            "password": password,
        }

    def _secrets(self) -> dict[str, Any]:
        if self.secrets_file is None:
            return {}
        try:
            return tomllib.loads(self.secrets_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            log.error("agent_phone_secrets_file %s cannot be read: %s", self.secrets_file,
                      type(exc).__name__)  # fmt: skip
            raise ApiError(503, "the softphone's secrets file cannot be read; see the "
                                "service log", "agent_phone_secrets_file") from None  # fmt: skip
