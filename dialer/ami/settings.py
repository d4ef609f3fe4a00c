"""The AMI adapter's settings and errors: how to reach Asterisk, how to dial, how to back off.

``AmiSettings`` is loaded once (defaults < file < environment < overrides) and checked on
construction: a missing secret or an unsafe dial template never reaches the link.
``tls_context`` builds the client TLS context, ``reconnect_delay`` the link's backoff.

Errors raised by the AMI adapter (``dialer.ami.telephony`` re-exports them):

    AmiError
     ├── AmiConfigError (also ValueError)   bad settings: missing secret, unsafe template
     ├── InvalidRequest (also dial_gate.InvalidRequest) a request value failed the gate
     └── AmiUnavailable                     not connected and logged in within the time allowed
          └── AmiAuthError                  Asterisk refused the login
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer.ami import dial_gate


class AmiError(Exception):
    """Anything the AMI adapter reports."""


class AmiConfigError(AmiError, ValueError):
    """The settings cannot work (missing secret, unsafe dial template)."""


class InvalidRequest(AmiError, dial_gate.InvalidRequest):
    """A request value would reach Asterisk unchecked; nothing was sent (``dial_gate``)."""


class AmiUnavailable(AmiError):
    """The AMI link is not up and logged in."""


class AmiAuthError(AmiUnavailable):
    """Asterisk refused the dialer's login."""


def _check_template(template: str, placeholder: str) -> str:
    try:
        return dial_gate.check_template(template, placeholder)
    except ValueError as exc:
        raise AmiConfigError(str(exc)) from None


@dataclass(frozen=True)
class AmiSettings:
    """How to reach Asterisk and how to dial. Secrets never appear in repr.

    ``agent_channel``/``customer_channel`` are the defaults for requests that carry no
    campaign template. In every template ``{number}`` becomes the number's digits without
    the ``+`` (what carriers and dialplan patterns match).
    """

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "dialer"
    secret: str = field(default="", repr=False)
    ping_interval_s: float = 5.0
    ping_timeout_s: float = 5.0
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    ready_timeout_s: float = 30.0
    agent_ring_timeout_s: int = 20
    agent_channel: str = "PJSIP/{agent}"
    customer_channel: str = "PJSIP/{number}@trunk"
    context: str = "dialer-agent"
    voice_accept: bool = False
    tls: bool = False  # AMI over TLS (manager.conf tlsenable); the server's certificate is
    tls_ca_file: str = ""  # checked against this CA file, else the system's CAs,
    tls_verify: bool = True  # unless verification is explicitly turned off

    def __post_init__(self) -> None:
        if not self.secret:
            raise AmiConfigError("the AMI secret is empty")
        if (self.tls_ca_file or not self.tls_verify) and not self.tls:
            raise AmiConfigError("tls_ca_file and tls_verify need tls = true")
        if self.ping_interval_s + self.ping_timeout_s > 20:  # noqa: PLR2004 - the promise
            raise AmiConfigError("a silent link must be detected within 20 s")
        _check_template(self.agent_channel, "{agent}")
        _check_template(self.customer_channel, "{number}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> AmiSettings:
        """CALLBACK_DIALER_AMI_{HOST,PORT,USER,SECRET,SECRET_FILE} and the dial templates
        CALLBACK_DIALER_{AGENT,CUSTOMER}_CHANNEL; ``overrides`` win."""
        values: dict[str, Any] = {}
        pairs = (
            ("host", "CALLBACK_DIALER_AMI_HOST"),
            ("username", "CALLBACK_DIALER_AMI_USER"),
            ("secret", "CALLBACK_DIALER_AMI_SECRET"),
            ("agent_channel", "CALLBACK_DIALER_AGENT_CHANNEL"),
            ("customer_channel", "CALLBACK_DIALER_CUSTOMER_CHANNEL"),
        )
        values.update({name: environ[key] for name, key in pairs if environ.get(key)})
        if environ.get("CALLBACK_DIALER_AMI_PORT"):
            values["port"] = int(environ["CALLBACK_DIALER_AMI_PORT"])
        secret_file = environ.get("CALLBACK_DIALER_AMI_SECRET_FILE")
        if secret_file and "secret" not in values:
            values["secret"] = Path(secret_file).read_text(encoding="utf-8").strip()
        values.update(overrides)
        return cls(**values)


def tls_context(settings: AmiSettings) -> ssl.SSLContext | None:
    """The client TLS context for ``settings`` (None: plain TCP). Verification and the host
    name check are on unless ``tls_verify`` is false."""
    if not settings.tls:
        return None
    try:
        context = ssl.create_default_context(cafile=settings.tls_ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise AmiConfigError(f"tls_ca_file {settings.tls_ca_file!r}: {exc}") from exc
    if not settings.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def reconnect_delay(failures: int, settings: AmiSettings, rand: random.Random) -> float:
    """Capped exponential backoff with jitter: between half and all of min*2^(n-1)."""
    ceiling = min(settings.reconnect_max_s, settings.reconnect_min_s * 2.0 ** max(failures - 1, 0))
    return ceiling * (0.5 + rand.random() / 2)
