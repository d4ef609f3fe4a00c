"""HTTP for the adapters over the stdlib: one request, its answer, network errors translated."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crm_adapter.errors import CrmDataError, CrmUnavailableError, UnsendableRequestError

_SERVER_ERROR = 500
UTF8_BOM = b"\xef\xbb\xbf"


def json_text(body: bytes) -> str:
    """A JSON body as text: UTF-8, one leading byte-order mark allowed and dropped (1C's
    ``УстановитьТелоИзСтроки`` may write one). Raises
    UnicodeDecodeError when the bytes are not UTF-8. The signature is still computed over
    the bytes as received, BOM included."""
    return body.removeprefix(UTF8_BOM).decode("utf-8")


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """Status, headers (lower-case names) and body of one HTTP answer."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self, what: str) -> Any:
        try:
            return json.loads(json_text(self.body))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise CrmDataError(f"{what}: the answer (HTTP {self.status}) is not JSON") from exc

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class HttpTransport:
    """Sends requests with urllib; any HTTP status is returned, never raised.

    Refused connections, timeouts and broken answers raise ``CrmUnavailableError``; a URL or
    header value http.client cannot send (not Latin-1, a line break) raises
    ``UnsendableRequestError``, which no retry cures.
    """

    def __init__(self, *, timeout_s: float = 10.0) -> None:
        self._timeout = timeout_s
        self._opener = urllib.request.build_opener(_NoRedirect())

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HttpAnswer:
        if not url.startswith(("http://", "https://")):
            raise CrmDataError(f"URL {url!r} must start with http:// or https://")
        try:
            req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))  # noqa: S310 - scheme checked above
            with self._opener.open(req, timeout=self._timeout) as answer:
                return _answer(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return _answer(exc.code, exc.headers, exc.read())
        except (http.client.InvalidURL, ValueError) as exc:  # UnicodeEncodeError included
            raise UnsendableRequestError(f"{method} {_shown(url)}: cannot be sent: {exc}") from exc
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise CrmUnavailableError(f"{method} {_shown(url)}: {_reason(exc)}") from exc


def _answer(status: int, headers: Any, body: bytes) -> HttpAnswer:
    names = {k.lower(): v for k, v in (headers.items() if headers is not None else ())}
    return HttpAnswer(status, body, names)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc) or type(exc).__name__


def _shown(url: str) -> str:
    """The URL without its query string (which may carry an API key)."""
    return url.split("?", 1)[0]


def is_server_error(status: int) -> bool:
    return status >= _SERVER_ERROR


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A CRM endpoint that redirects is misconfigured: return the 3xx instead of following."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
