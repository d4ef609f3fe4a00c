"""The dial-string gate: every request value that reaches an Asterisk dial string or channel
variable is checked here, by each ``Telephony`` adapter (AMI and simulated alike), before
anything is sent.

    ValueError
     └── InvalidRequest   a request value failed the gate; nothing was dialled
"""

from __future__ import annotations

import re

from campaigns.calls import OriginateRequest, dialable

ATTEMPT_ID = re.compile(r"[0-9a-f][0-9a-f-]{0,63}")
AGENT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
TEMPLATE_TEXT = re.compile(r"[A-Za-z0-9_./@:-]*")
MAX_TIMEOUT_S = 600
EXTENSION = re.compile(r"[0-9]{2,15}")  # a supervisor's phone, as dialer.storage.supervisors
SPY_OPTIONS = frozenset({"qE", "qwE", "qBE"})  # listen, whisper, barge (dialer.app.supervision)
# An agent channel as Asterisk named it (``PJSIP/1001-0000002a``, ``Local/1001@ctx-00000001;1``):
# no comma (ChanSpy's argument separator), no ``$`` or brackets (no dialplan expression).
CHANNEL_NAME = re.compile(r"[A-Za-z0-9_./@:;-]{1,200}")


class InvalidRequest(ValueError):
    """A request value would reach Asterisk unchecked; nothing was sent."""


def check_template(template: str, placeholder: str) -> str:
    """``template`` if it holds ``placeholder`` once and only safe characters, else ValueError."""
    before, found, after = template.partition(placeholder)
    if not found or not TEMPLATE_TEXT.fullmatch(before + after) or "{" in before + after:
        raise ValueError(f"dial template must contain {placeholder} once: {template!r}")
    return template


def check_request(request: OriginateRequest) -> None:
    """Raise ``InvalidRequest`` naming the first value the gate refuses."""
    _match(ATTEMPT_ID, request.attempt_id, "attempt id")
    _match(AGENT, request.agent, "agent")
    _digits(request.customer_number, "customer number")
    if request.announce_digits != "":
        _digits(request.announce_digits, "order digits")
    for template, placeholder in (
        (request.agent_channel_template, "{agent}"),
        (request.customer_channel_template, "{number}"),
    ):
        if template is not None:
            try:
                check_template(template, placeholder)
            except (ValueError, AttributeError) as exc:
                raise InvalidRequest(f"campaign dial template refused: {exc}") from None
    for name in ("ring_timeout_s", "accept_timeout_s"):
        value = getattr(request, name)
        if not isinstance(value, int) or not 0 < value <= MAX_TIMEOUT_S:
            raise InvalidRequest(f"{name} must be 1..600 seconds, got {value!r}")


def check_spy(extension: str, options: str, spied: str, template: str) -> None:
    """Raise ``InvalidRequest`` unless every value of a ChanSpy Originate is safe: the
    supervisor's extension digits only, the options one of the three modes', the spied
    channel a plain channel name and the template the campaign's checked agent template."""
    _match(EXTENSION, extension, "supervisor extension")
    if options not in SPY_OPTIONS:
        raise InvalidRequest(f"ChanSpy options refused by the dial-string gate: {options!r}")
    _match(CHANNEL_NAME, spied, "spied channel")
    try:
        check_template(template, "{agent}")
    except (ValueError, AttributeError) as exc:
        raise InvalidRequest(f"agent dial template refused: {exc}") from None


def _match(pattern: re.Pattern[str], value: str, what: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidRequest(f"{what} refused by the dial-string gate: {value!r}")


def _digits(value: str, what: str) -> None:
    try:
        dialable(value)
    except (ValueError, TypeError) as exc:
        raise InvalidRequest(f"{what}: {exc}") from None
