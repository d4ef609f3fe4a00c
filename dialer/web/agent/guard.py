"""Cross-site request checks for ``/agent``, pure: the ``Origin`` and the CSRF token.

A browser sends ``Origin`` with every POST; when present it must name this service itself:
``http`` or ``https`` and the same host and port the request was sent to (its ``Host``
header, so the check holds behind a proxy that keeps ``Host``). ``null`` (a sandboxed
frame, a redirect across sites) is refused. A request without ``Origin`` comes from no
browser page and passes this check; every POST but sign-in must still carry the session's
CSRF token in ``X-CSRF-Token``, which another site cannot read.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from dialer.web.api.errors import ApiError

_FORBIDDEN = 403


def check_origin(origin: str | None, host: str | None) -> None:
    """Nothing when ``origin`` is absent or names ``host``; else a 403 naming ``Origin``."""
    if origin is None:
        return
    try:
        parts = urlsplit(origin.strip())
        netloc = parts.netloc.lower()
    except ValueError:
        netloc, parts = "", urlsplit("")
    if parts.scheme in ("http", "https") and host and netloc == host.strip().lower():
        return
    raise ApiError(_FORBIDDEN, f"cross-site request refused: Origin {origin!r} is not "
                               "this service's own origin", "Origin")  # fmt: skip


def check_csrf(presented: str | None, expected: str) -> None:
    """Nothing when ``presented`` is the session's token; else a 403 naming the header."""
    if not presented:
        raise ApiError(_FORBIDDEN, "missing X-CSRF-Token header (the csrf_token of sign-in "
                                   "or GET /agent/me)", "X-CSRF-Token")  # fmt: skip
    if not hmac.compare_digest(presented.encode("utf-8", "replace"), expected.encode("utf-8")):
        raise ApiError(_FORBIDDEN, "X-CSRF-Token does not match this session", "X-CSRF-Token")


def unstorable_id(text: str) -> bool:
    """True for a path segment no order id can be (control characters, over 256 long): such
    an id is refused like an unknown order, before any query."""
    return any(ord(c) < 32 for c in text) or len(text) > 256  # noqa: PLR2004 - no such id
