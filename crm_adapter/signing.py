"""HMAC-SHA256 request signing both ways, timestamp tolerance and event-id de-duplication.

The signed message is ``f"{timestamp}."`` (ASCII) followed by the raw body bytes;
``timestamp`` is Unix seconds. Headers::

    X-Dialer-Timestamp: 1767225600
    X-Dialer-Signature: sha256=<hex HMAC-SHA256(secret, message)>
    X-Dialer-Event-Id:  <unique id of this event; the outbox's idempotency key>

The dialer sends lower-case hex; it accepts upper-case hex too (1C's
``ПолучитьHexСтрокуИзДвоичныхДанных`` writes upper case), and the ``sha256=`` prefix in any
case. Anything else (no prefix, another length, a space) is refused.

Ids travel in headers as ``header_text(id)``: UTF-8, percent-encoded except RFC 3986's
unreserved characters (letters, digits, ``-._~``) and ``:`` — so ``1143383:17`` is sent as
it is and ``НФ-00123:17`` as ``%D0%9D%D0%A4-00123:17``. ``from_header`` reverses it. The
signature covers the timestamp and the body only, never a header: both sides recompute it
from bytes they both have. (An outcome's body repeats its event id as it is.)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import urllib.parse
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_adapter.errors import ReplayedEventError, SignatureError

TIMESTAMP_HEADER = "X-Dialer-Timestamp"
SIGNATURE_HEADER = "X-Dialer-Signature"
EVENT_ID_HEADER = "X-Dialer-Event-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOLERANCE_S = 300
_PREFIX = "sha256="
_MAX_EVENT_ID = 200
_HEX_SHA256 = re.compile(r"[0-9A-Fa-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only; 12 digits reach the year 33658
_HEADER_SAFE = ":"  # kept as is besides RFC 3986's unreserved characters, which quote keeps
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def header_text(value: str) -> str:
    """``value`` as header text: UTF-8 percent-encoded, except letters, digits, ``-._~:``.
    Raises UnicodeEncodeError for a string UTF-8 cannot hold (a lone surrogate)."""
    return urllib.parse.quote(value, safe=_HEADER_SAFE, errors="strict")


def from_header(text: str) -> str:
    """The value ``header_text`` sent; raises ValueError when a ``%`` escape is malformed or
    the escaped bytes are not UTF-8. Characters that were not escaped pass through."""
    if _BAD_ESCAPE.search(text):
        raise ValueError("a '%' is not followed by two hex digits")
    try:
        return urllib.parse.unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise ValueError("its %-escapes are not UTF-8") from None


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``"<timestamp>." + body``."""
    digest = hmac.new(secret, f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return _PREFIX + digest.hexdigest()


def signed_headers(secret: bytes, now: datetime, body: bytes, event_id: str) -> dict[str, str]:
    """The three signing headers for a request sent at ``now``."""
    timestamp = int(now.timestamp())
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        EVENT_ID_HEADER: header_text(event_id),
    }


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a verified request carries besides its body (``event_id`` decoded)."""

    timestamp: int
    event_id: str


def verify(
    secret: bytes,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    *,
    tolerance_s: int = TOLERANCE_S,
) -> SignedRequest:
    """Checks the signing headers of a request received at ``now``; raises SignatureError
    naming the header at fault. Compares in constant time."""
    lower = {k.lower(): v for k, v in headers.items()}
    raw_ts = _header(lower, TIMESTAMP_HEADER)
    given = _header(lower, SIGNATURE_HEADER)
    event_id = event_id_of(lower)
    if len(event_id) > _MAX_EVENT_ID:
        raise SignatureError(f"{EVENT_ID_HEADER} is longer than {_MAX_EVENT_ID} characters")
    if not _TIMESTAMP.fullmatch(raw_ts):
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds, not {raw_ts[:40]!r}")
    timestamp = int(raw_ts)
    skew = abs(now.timestamp() - timestamp)
    if skew > tolerance_s:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is {int(skew)} s away from our clock (tolerance {tolerance_s} s)"
        )
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode("ascii"), _normalised(given)):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body and timestamp")
    return SignedRequest(timestamp, event_id)


def _normalised(given: str) -> bytes:
    """``sha256=<hex>`` with the prefix and the hex in lower case, when ``given`` is one in
    any case; otherwise ``given`` as it is (which then never matches)."""
    prefix, _, hexpart = given.partition("=")
    if prefix.lower() == _PREFIX[:-1] and _HEX_SHA256.fullmatch(hexpart):
        return (_PREFIX + hexpart.lower()).encode("ascii")
    return given.encode("utf-8", "replace")


def event_id_of(headers: Mapping[str, str]) -> str:
    """The decoded ``X-Dialer-Event-Id`` of ``headers`` (names in any case); SignatureError
    when it is missing or not percent-encoded UTF-8."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        return from_header(_header(lower, EVENT_ID_HEADER))
    except ValueError as exc:
        raise SignatureError(f"{EVENT_ID_HEADER}: {exc} (percent-encode UTF-8)") from exc


def _header(lower: Mapping[str, str], name: str) -> str:
    value = lower.get(name.lower(), "").strip()
    if not value:
        raise SignatureError(f"header {name} is missing")
    return value


class SeenEvents:
    """Event ids received within the tolerance window, bounded in memory.

    Kept in memory (the schema has no table for them): an id is remembered for twice the
    timestamp tolerance, because an older request is refused by its timestamp anyway; at
    most ``limit`` ids are kept, oldest forgotten first. A restart forgets them, so a
    request replayed within 300 s of being sent across a restart is accepted again: order
    intake is idempotent by order id, so that costs nothing.
    """

    def __init__(self, *, limit: int = 100_000, keep: timedelta | None = None) -> None:
        self._limit = limit
        self._keep = keep or timedelta(seconds=2 * TOLERANCE_S)
        self._seen: OrderedDict[str, datetime] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_add(self, event_id: str, now: datetime) -> None:
        """Remembers ``event_id``; raises ReplayedEventError when it was seen already."""
        self._forget_before(now - self._keep)
        if event_id in self._seen:
            raise ReplayedEventError(f"event {event_id!r} was already received")
        self._seen[event_id] = now
        while len(self._seen) > self._limit:
            self._seen.popitem(last=False)

    def forget(self, event_id: str) -> None:
        """Forget ``event_id`` (its request was not taken after all: a resend is welcome)."""
        self._seen.pop(event_id, None)

    def _forget_before(self, cutoff: datetime) -> None:
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if oldest >= cutoff:
                return
            self._seen.popitem(last=False)
