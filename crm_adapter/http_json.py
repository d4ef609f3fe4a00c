"""The generic HTTP/JSON CRM (1C and in-house CRMs): signed pull, push intake, outcome webhook.

Shapes (see docs/crm.md):

* pull: ``GET {pull_url}?status=S&state=T&exclude_source=X&filter=F&page=N&limit=M``
  answers ``{"orders": [<order>...], "next_page": N+1 | null}``; each list value is its own
  repeated parameter (``status=A&status=B``), and ``filter`` repeats the three lists as one
  JSON object (``{"status": [...], "state": [...], "exclude_source": [...]}``) for servers
  whose query map keeps one value per name;
* status: ``GET {status_url with {id}}`` answers one ``<order>`` (at least ``id``, ``status``);
* outcome: ``POST {outcome_url}`` with ``OutcomeDelivery.as_json()``; any 2xx is an
  acknowledgement, ``{"duplicate": true}`` says the CRM had the event already; a 4xx whose
  body says ``{"final": true}`` is a refusal for good (``FinalRejectionError``);
* intake: the CRM posts ``{"orders": [<order>...]}`` to the dialer (``IntakeHandler``).

Every request either way carries the headers of ``crm_adapter.signing``; ids in headers
are percent-encoded UTF-8 (``header_text``), ids in bodies are JSON strings as they are.
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from campaigns.orders import Order
from crm_adapter.errors import (
    CrmDataError,
    CrmRateLimitedError,
    CrmRejectedError,
    CrmUnavailableError,
    FinalRejectionError,
    IntakeError,
    OrderNotFoundError,
    SignatureError,
    UnsendableRequestError,
)
from crm_adapter.order_json import callback_field, parse_order
from crm_adapter.port import CrmOrderStatus, IntakeFilter, OutcomeDelivery, validate_delivery
from crm_adapter.signing import (
    EVENT_ID_HEADER,
    IDEMPOTENCY_HEADER,
    TOLERANCE_S,
    SeenEvents,
    event_id_of,
    signed_headers,
    verify,
)
from crm_adapter.transport import HttpAnswer, HttpTransport, is_server_error, json_text

Clock = Callable[[], datetime]
MAX_INTAKE_BYTES = 1 << 20
MAX_PAGES = 10_000
_OK_MIN, _OK_MAX = 200, 299
_NOT_FOUND, _TOO_MANY = 404, 429
_CLIENT_ERROR_MIN, _CLIENT_ERROR_END = 400, 500
_TOO_LARGE, _UNSUPPORTED = 413, 415


@dataclass(frozen=True, slots=True)
class HttpJsonSettings:
    """Where the CRM is and the shared secret (read from the environment or a file)."""

    pull_url: str
    status_url: str
    outcome_url: str
    secret: bytes
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if "{id}" not in self.status_url:
            raise ValueError("status_url must contain {id}")
        if len(self.secret) < 16:  # noqa: PLR2004 - the minimum is stated in the message
            raise ValueError("the HMAC secret must be at least 16 bytes")


class HttpJsonAdapter:
    """The CRM port over signed HTTP/JSON; ``clock`` gives the signing timestamps."""

    def __init__(
        self, settings: HttpJsonSettings, *, clock: Clock, transport: HttpTransport | None = None
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._http = transport or HttpTransport(timeout_s=settings.timeout_s)

    def fetch_waiting(self, intake: IntakeFilter) -> Iterator[Order]:
        page: int | None = 1
        while page is not None:
            data = self._get(self._pull_url(intake, page), "orders page")
            orders = data.get("orders") if isinstance(data, dict) else None
            if not isinstance(orders, list):
                raise CrmDataError(f"orders page {page}: 'orders' must be a list")
            for index, item in enumerate(orders):
                order = parse_order(item, f"page {page} orders[{index}]", strict_card=False)
                if intake.admits(order):
                    yield order
            page = _next_page(data, page)

    def read_status(self, order_id: str) -> CrmOrderStatus:
        data = self._get(status_url(self._settings.status_url, order_id), f"order {order_id}")
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            raise CrmDataError(f"order {order_id}: 'status' must be a string")
        state, source = data.get("state"), data.get("source")
        return CrmOrderStatus(
            order_id=order_id,
            status=data["status"],
            state=state if isinstance(state, str) else None,
            prepaid=data.get("prepaid") is True,
            source=source if isinstance(source, str) else None,
            callback_at=callback_field(data, f"order {order_id}", strict=False),
        )

    def write_outcome(self, delivery: OutcomeDelivery) -> bool:
        validate_delivery(delivery)
        try:
            body, headers = outcome_request(self._settings.secret, self._clock(), delivery)
        except UnicodeEncodeError as exc:  # a lone surrogate: UTF-8 cannot carry it
            raise UnsendableRequestError(
                f"outcome {delivery.key!r}: not encodable as UTF-8 ({exc.reason})"
            ) from exc
        answer = self._http.request("POST", self._settings.outcome_url, headers=headers, body=body)
        _raise_for(answer, f"outcome {delivery.key}")
        try:
            data = json.loads(json_text(answer.body) or "{}")
        except (ValueError, RecursionError):  # UnicodeDecodeError included
            return True
        return not (isinstance(data, dict) and data.get("duplicate") is True)

    def close(self) -> None:
        """urllib keeps no connections open."""

    def _pull_url(self, intake: IntakeFilter, page: int) -> str:
        return pull_url(self._settings.pull_url, intake, page)

    def _get(self, url: str, what: str) -> Any:
        headers = signed_headers(self._settings.secret, self._clock(), b"", "")
        del headers[EVENT_ID_HEADER]  # reads are not events
        answer = self._http.request("GET", url, headers=headers)
        _raise_for(answer, what)
        return answer.json(what)


def pull_url(base: str, intake: IntakeFilter, page: int) -> str:
    """``base`` with the pull's query: the intake lists, ``filter``, ``page``, ``limit``."""
    query: list[tuple[str, str | int]] = [("status", s) for s in intake.statuses]
    query += [("state", s) for s in intake.states]
    query += [("exclude_source", s) for s in intake.excluded_sources]
    query.append(("filter", pull_filter(intake)))
    query += [("page", page), ("limit", intake.page_size)]
    separator = "&" if "?" in base else "?"
    return base + separator + urllib.parse.urlencode(query)


def status_url(template: str, order_id: str) -> str:
    """The status URL of ``order_id``: ``{id}`` replaced by the id URL-quoted as UTF-8."""
    return template.replace("{id}", urllib.parse.quote(order_id, safe=""))


def outcome_request(
    secret: bytes, now: datetime, delivery: OutcomeDelivery
) -> tuple[bytes, dict[str, str]]:
    """The outcome POST's body and headers (signing headers, Idempotency-Key, JSON type);
    UnicodeEncodeError when UTF-8 cannot carry a value."""
    body = json.dumps(delivery.as_json(), ensure_ascii=False, sort_keys=True).encode()
    headers = signed_headers(secret, now, body, delivery.key)
    headers |= {IDEMPOTENCY_HEADER: headers[EVENT_ID_HEADER], "Content-Type": "application/json"}
    return body, headers


def pull_filter(intake: IntakeFilter) -> str:
    """The intake filter as the pull's one ``filter`` parameter: compact JSON, ids and texts
    as they are (the URL encoding escapes them)."""
    lists = {
        "status": list(intake.statuses),
        "state": list(intake.states),
        "exclude_source": list(intake.excluded_sources),
    }
    return json.dumps(lists, ensure_ascii=False, separators=(",", ":"))


def _next_page(data: Mapping[str, Any], page: int) -> int | None:
    following = data.get("next_page")
    if following is None:
        return None
    if isinstance(following, bool) or not isinstance(following, int) or following <= page:
        raise CrmDataError(f"orders page {page}: 'next_page' must be null or above {page}")
    if following > MAX_PAGES:
        raise CrmDataError(f"orders page {page}: more than {MAX_PAGES} pages")
    return following


def _raise_for(answer: HttpAnswer, what: str) -> None:
    status = answer.status
    if _OK_MIN <= status <= _OK_MAX:
        return
    detail = answer.body[:200].decode("utf-8", "replace")
    if status == _TOO_MANY:
        raise CrmRateLimitedError(f"{what}: HTTP 429", _retry_after(answer))
    if is_server_error(status):
        raise CrmUnavailableError(f"{what}: HTTP {status} {detail}")
    if _says_final(answer):
        reason = _reason_of(answer) or detail
        raise FinalRejectionError(f"{what}: HTTP {status} (final) {reason}", status)
    if status == _NOT_FOUND:
        raise OrderNotFoundError(f"{what}: not found (HTTP 404)", status)
    raise CrmRejectedError(f"{what}: HTTP {status} {detail}", status)


def _says_final(answer: HttpAnswer) -> bool:
    """A 4xx whose JSON body says ``"final": true``: the CRM will never take this request."""
    if not _CLIENT_ERROR_MIN <= answer.status < _CLIENT_ERROR_END:
        return False
    try:
        data = json.loads(json_text(answer.body))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("final") is True


def _reason_of(answer: HttpAnswer) -> str | None:
    """The CRM's own words in a JSON error body: ``error`` (or ``reason``, ``message``) as
    text, at most 500 characters; None when there is none."""
    try:
        data = json.loads(json_text(answer.body))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    for name in ("error", "reason", "message"):
        text = data.get(name)
        if isinstance(text, str) and text.strip():
            return text.strip()[:500]
    return None


def _retry_after(answer: HttpAnswer) -> float | None:
    value = answer.header("Retry-After")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


class IntakeHandler:
    """The dialer's push intake without a web framework: body and headers in, orders out.

    Raises ``IntakeError`` whose ``status`` (400, 401, 409, 413, 415) and message (naming
    the field or header) the web layer answers with.
    """

    def __init__(self, secret: bytes, seen: SeenEvents, *, tolerance_s: int = TOLERANCE_S) -> None:
        self._secret = secret
        self._seen = seen
        self._tolerance = tolerance_s

    def handle(self, body: bytes, headers: Mapping[str, str], now: datetime) -> list[Order]:
        if len(body) > MAX_INTAKE_BYTES:
            raise IntakeError(f"body is larger than {MAX_INTAKE_BYTES} bytes", _TOO_LARGE)
        lower = {k.lower(): v for k, v in headers.items()}
        content_type = lower.get("content-type", "application/json")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise IntakeError(
                f"Content-Type must be application/json, not {content_type!r}", _UNSUPPORTED
            )
        signed = verify(self._secret, headers, body, now, tolerance_s=self._tolerance)
        orders = _parse_intake(body)
        self._seen.check_and_add(signed.event_id, now)
        return orders

    def release(self, headers: Mapping[str, str]) -> None:
        """The orders of this (handled) request were not taken: forget its event id, so the
        CRM's resend of the same event is not refused as a replay."""
        with contextlib.suppress(SignatureError):
            self._seen.forget(event_id_of(headers))


def _parse_intake(body: bytes) -> list[Order]:
    try:
        data = json.loads(json_text(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise IntakeError(f"body is not UTF-8 JSON: {exc}") from exc
    except RecursionError:
        raise IntakeError("body is not UTF-8 JSON: nested too deeply") from None
    items = data.get("orders") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise IntakeError("orders: required, a list of order objects")
    try:
        return [parse_order(item, f"orders[{i}]") for i, item in enumerate(items)]
    except CrmDataError as exc:
        raise IntakeError(str(exc)) from exc


def intake_error_body(error: IntakeError) -> bytes:
    """The JSON body answered with ``error.status``."""
    return json.dumps({"error": str(error)}, ensure_ascii=False).encode()
