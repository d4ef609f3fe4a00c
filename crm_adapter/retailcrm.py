"""RetailCRM API v5: orders listed by status, one order read, outcomes written by order edit.

Request and answer shapes assumed (from RetailCRM's v5 documentation as remembered;
the local test server serves exactly these):

* every request carries the header ``X-API-KEY: <key>`` (never the ``apiKey`` query
  parameter, so the key stays out of URLs and logs);
* ``GET /api/v5/orders?filter[extendedStatus][]=<code>&filter[sites][]=<site>&limit=100&page=N``
  answers ``{"success": true, "orders": [...], "pagination": {"limit": 100,
  "totalCount": T, "currentPage": N, "totalPageCount": P}}``; ``limit`` is 20, 50 or 100;
* ``GET /api/v5/orders/{id}?by=id|externalId&site=<site>`` answers
  ``{"success": true, "order": {...}}``; an unknown order is 404 ``{"success": false,
  "errorMsg": "Not found"}``;
* ``POST /api/v5/orders/{id}/edit`` with an ``application/x-www-form-urlencoded`` body of
  ``by``, ``site`` and ``order`` (the JSON of the fields to change: ``status``,
  ``managerComment``, ``customFields``) answers ``{"success": true, "id": N}``;
* an order has ``id``, ``externalId``, ``number``, ``status`` (a code), ``createdAt``
  (``YYYY-MM-DD HH:MM:SS`` in the account's time zone), ``firstName``, ``lastName``,
  ``patronymic``, ``phone``, ``items[].offer.displayName|name``, ``delivery.address.region
  /city``, ``orderMethod``, ``site``, ``totalSumm``, ``prepaySum``, ``fullPaidAt``,
  ``customFields`` (an object by field code); for the order card (issue 15)
  ``items[].productName|offer.displayName|offer.name``, ``items[].quantity``,
  ``items[].initialPrice`` (the unit price before discounts), ``totalSumm``,
  ``delivery.address.text``, ``delivery.date`` (``YYYY-MM-DD``), ``additionalPhone``,
  ``customerComment``; the CRM's callback date-time (issue 15 §3) is read from the
  custom field ``custom_fields.callback`` (``YYYY-MM-DD HH:MM:SS`` in ``timezone``, the
  field the dialer writes its own callbacks to): RetailCRM v5 has no standard order field
  for a callback time, so this is an assumption of the account's set-up, not of the API;
* errors answer ``{"success": false, "errorMsg": "...", "errors": {...}}``; the rate limit
  (10 requests per second per key) answers 429 or 503, possibly with ``Retry-After``.

The edit sets absolute values, so repeating it changes nothing; when ``marker`` names a
custom field, the idempotency key is written in the same edit and a retried delivery
reads it first to acknowledge an edit already applied.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, Literal

import pytz

from campaigns.orders import Order, OrderItem
from crm_adapter.card_fields import (
    MAX_ITEMS,
    NO_ITEMS,
    calendar_date,
    kept,
    number,
    optional_number,
)
from crm_adapter.errors import (
    CrmDataError,
    CrmRateLimitedError,
    CrmRejectedError,
    CrmUnavailableError,
    OrderNotFoundError,
)
from crm_adapter.port import CrmOrderStatus, IntakeFilter, OutcomeDelivery, validate_delivery
from crm_adapter.transport import HttpAnswer, HttpTransport, is_server_error

PAGE_LIMITS = (20, 50, 100)
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_OK_MAX, _NOT_FOUND, _TOO_MANY, _UNAVAILABLE = 299, 404, 429, 503


@dataclass(frozen=True, slots=True)
class CustomFields:
    """Codes of the RetailCRM custom fields the dialer writes (None: not written).

    ``state`` is read as the order's state; without it every order has ``default_state``.
    """

    problem: str | None = "problem"
    call: str | None = "call"
    callback: str | None = "callback_at"
    attempts: str | None = None
    marker: str | None = "dialer_event"
    state: str | None = None


@dataclass(frozen=True, slots=True)
class RetailCrmSettings:
    """The account URL, API key (from the environment or a file), site and mapping."""

    url: str
    api_key: str = field(repr=False)
    site: str | None = None
    by: Literal["id", "externalId"] = "id"
    timezone: str = "Europe/Moscow"
    rate_per_s: float = 10.0
    max_wait_s: float = 30.0
    retries: int = 3
    source_field: str = "orderMethod"
    default_state: str = "Новый"
    custom_fields: CustomFields = field(default_factory=CustomFields)
    call_made_text: tuple[str, str] = ("Совершался", "Не совершался")
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.by not in ("id", "externalId"):
            raise ValueError(f"by must be id or externalId, not {self.by!r}")
        if self.timezone not in pytz.all_timezones_set:
            raise ValueError(f"unknown time zone {self.timezone!r}")
        if self.rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")


class TokenBucket:
    """At most ``rate`` requests per second on average, bursts up to ``burst``.

    ``clock`` is monotonic seconds and ``sleep`` waits; both are injected so tests run
    on a fake clock.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._rate = rate
        self._burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self._burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()

    def acquire(self) -> None:
        """Takes one token, sleeping until one is there."""
        self._refill()
        if self._tokens < 1:
            self._sleep((1 - self._tokens) / self._rate)
            self._refill()
        self._tokens = max(0.0, self._tokens - 1)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now


class RetailCrmAdapter:
    """The CRM port over RetailCRM API v5 (shapes in the module docstring)."""

    def __init__(
        self,
        settings: RetailCrmSettings,
        *,
        bucket: TokenBucket,
        sleep: Callable[[float], None],
        transport: HttpTransport | None = None,
    ) -> None:
        self._s = settings
        self._bucket = bucket
        self._sleep = sleep
        self._http = transport or HttpTransport(timeout_s=settings.timeout_s)
        self._zone = pytz.timezone(settings.timezone)
        self._base = settings.url.rstrip("/") + "/api/v5"

    def fetch_waiting(self, intake: IntakeFilter) -> Iterator[Order]:
        limit = next(n for n in PAGE_LIMITS if n >= intake.page_size)
        page, pages = 1, 1
        while page <= pages:
            query: list[tuple[str, str | int]] = [
                ("filter[extendedStatus][]", s) for s in intake.statuses
            ]
            if self._s.site:
                query.append(("filter[sites][]", self._s.site))
            query += [("limit", limit), ("page", page)]
            data = self._call("GET", "/orders", query=query, what=f"orders page {page}")
            for index, item in enumerate(_list(data, "orders", page)):
                order = self._order(item, f"orders page {page} [{index}]")
                if intake.admits(order):
                    yield order
            pages = _total_pages(data, page)
            page += 1

    def read_status(self, order_id: str) -> CrmOrderStatus:
        o = self._read(order_id)
        source = _opt(_dotted(o, self._s.source_field))
        return CrmOrderStatus(
            order_id, _status(o, f"order {order_id}"), self._state(o), _prepaid(o), source,
            callback_at=self._callback(o, f"order {order_id}"),
        )  # fmt: skip

    def write_outcome(self, delivery: OutcomeDelivery) -> bool:
        validate_delivery(delivery)
        marker = self._s.custom_fields.marker
        if delivery.retry and marker:
            fields = self._read(delivery.order_id).get("customFields") or {}
            if isinstance(fields, dict) and fields.get(marker) == delivery.key:
                return False
        form = {"by": self._s.by, "order": json.dumps(self._edit(delivery), ensure_ascii=False)}
        if self._s.site:
            form["site"] = self._s.site
        path = f"/orders/{_quoted(delivery.order_id)}/edit"
        self._call("POST", path, form=form, what=f"edit of order {delivery.order_id}")
        return True

    def close(self) -> None:
        """urllib keeps no connections open."""

    def _edit(self, d: OutcomeDelivery) -> dict[str, Any]:
        cf = self._s.custom_fields
        made, not_made = self._s.call_made_text
        callback = None
        if d.callback_at is not None:
            callback = d.callback_at.astimezone(self._zone).strftime(_TIME_FORMAT)
        custom: dict[str | None, Any] = {
            cf.problem: d.problem or "",
            cf.call: made if d.call_made else not_made,
            cf.callback: callback,
            cf.attempts: d.attempt_no,
            cf.marker: d.key,
        }
        return {
            "status": d.status,
            "managerComment": d.comment,
            "customFields": {k: v for k, v in custom.items() if k is not None},
        }

    def _read(self, order_id: str) -> dict[str, Any]:
        query: list[tuple[str, str | int]] = [("by", self._s.by)]
        if self._s.site:
            query.append(("site", self._s.site))
        what = f"order {order_id}"
        data = self._call("GET", f"/orders/{_quoted(order_id)}", query=query, what=what)
        order = data.get("order")
        if not isinstance(order, dict):
            raise CrmDataError(f"{what}: 'order' must be an object")
        return order

    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        query: list[tuple[str, str | int]] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        url = self._base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"X-API-KEY": self._s.api_key, "Accept": "application/json"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(self._s.retries + 1):
            self._bucket.acquire()
            answer = self._http.request(method, url, headers=headers, body=body)
            if answer.status not in (_TOO_MANY, _UNAVAILABLE):
                return _checked(answer, what)
            wait = _retry_after(answer)
            if attempt == self._s.retries or wait > self._s.max_wait_s:
                break
            self._sleep(wait)
        if answer.status == _TOO_MANY:
            raise CrmRateLimitedError(f"{what}: HTTP 429 after {attempt + 1} tries", wait)
        raise CrmUnavailableError(f"{what}: HTTP 503 after {attempt + 1} tries")

    def _order(self, o: Any, where: str) -> Order:
        if not isinstance(o, dict):
            raise CrmDataError(f"{where}: expected an object")
        ident = o.get(self._s.by)
        if ident in (None, ""):
            raise CrmDataError(f"{where}.{self._s.by}: required")
        names = (_text(o.get(k)) for k in ("lastName", "firstName", "patronymic"))
        return Order(
            id=str(ident),
            phone=_text(o.get("phone")),
            name=" ".join(n for n in names if n),
            product=", ".join(_products(o.get("items"))),
            created_at=self._instant(o.get("createdAt"), f"{where}.createdAt"),
            status=_status(o, where),
            state=self._state(o),
            source=_opt(_dotted(o, self._s.source_field)),
            region=_opt(_dotted(o, "delivery.address.region")),
            city=_opt(_dotted(o, "delivery.address.city")),
            prepaid=_prepaid(o),
            callback_at=self._callback(o, where),
            **_card(o, where),
        )

    def _state(self, o: Mapping[str, Any]) -> str:
        code = self._s.custom_fields.state
        custom = o.get("customFields")
        value = custom.get(code) if code and isinstance(custom, dict) else None
        return str(value) if value else self._s.default_state

    def _callback(self, o: Mapping[str, Any], where: str) -> datetime | None:
        """The callback custom field (``custom_fields.callback``, the one the dialer writes
        its callbacks to), ``YYYY-MM-DD HH:MM:SS`` in ``timezone``; a malformed value is
        logged naming it and read as absent."""
        code = self._s.custom_fields.callback
        custom = o.get("customFields")
        value = custom.get(code) if code and isinstance(custom, dict) else None
        if value in (None, ""):
            return None
        at = f"{where}.customFields.{code}"
        return kept(lambda: self._instant(value, at), None)

    def _instant(self, value: Any, where: str) -> datetime:
        if not isinstance(value, str):
            raise CrmDataError(f"{where}: required, 'YYYY-MM-DD HH:MM:SS'")
        try:
            naive = datetime.strptime(value, _TIME_FORMAT)  # noqa: DTZ007 - localised below
        except ValueError as exc:
            raise CrmDataError(f"{where}: {value[:40]!r} is not 'YYYY-MM-DD HH:MM:SS'") from exc
        return self._zone.localize(naive).astimezone(UTC)


def _status(o: Mapping[str, Any], where: str) -> str:
    status = o.get("status")
    if not isinstance(status, str) or not status:
        raise CrmDataError(f"{where}.status: required, a status code")
    return status


def _checked(answer: HttpAnswer, what: str) -> dict[str, Any]:
    if is_server_error(answer.status):
        raise CrmUnavailableError(f"{what}: HTTP {answer.status}")
    data = answer.json(what)
    if not isinstance(data, dict):
        raise CrmDataError(f"{what}: the answer is not a JSON object")
    if answer.status <= _OK_MAX and data.get("success") is True:
        return data
    message = f"{what}: HTTP {answer.status} {data.get('errorMsg', '')} {data.get('errors', '')}"
    if answer.status == _NOT_FOUND:
        raise OrderNotFoundError(message.strip(), answer.status)
    raise CrmRejectedError(message.strip(), answer.status)


def _retry_after(answer: HttpAnswer) -> float:
    value = answer.header("Retry-After")
    try:
        return 1.0 if value is None else max(0.0, float(value))
    except ValueError:
        return 1.0


def _list(data: Mapping[str, Any], name: str, page: int) -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list):
        raise CrmDataError(f"orders page {page}: '{name}' must be a list")
    return value


def _total_pages(data: Mapping[str, Any], page: int) -> int:
    pagination = data.get("pagination")
    total = pagination.get("totalPageCount") if isinstance(pagination, dict) else None
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise CrmDataError(f"orders page {page}: pagination.totalPageCount must be an integer")
    return total


def _products(items: Any) -> list[str]:
    names: list[str] = []
    for item in items if isinstance(items, list) else ():
        offer = item.get("offer") if isinstance(item, dict) else None
        if isinstance(offer, dict):
            name = offer.get("displayName") or offer.get("name")
            if name:
                names.append(str(name))
    return names


def _card(o: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The order card's fields (issue 15) as ``Order`` keyword arguments; a malformed one
    is logged naming it and left out (``card_fields.kept``: a pull has no one to answer)."""
    items = partial(_items, o.get("items"), f"{where}.items")
    total = partial(optional_number, o.get("totalSumm"), f"{where}.totalSumm")
    day = partial(calendar_date, _dotted(o, "delivery.date"), f"{where}.delivery.date")
    return {
        "items": kept(items, NO_ITEMS),
        "total": kept(total, None),
        "address": _opt(_dotted(o, "delivery.address.text")),
        "delivery_date": kept(day, None),
        "extra_phone": _opt(o.get("additionalPhone")),
        "comment": _opt(o.get("customerComment")),
    }


def _items(items: Any, where: str) -> tuple[OrderItem, ...]:
    if items is None:
        return ()
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise CrmDataError(f"{where}: expected a list of at most {MAX_ITEMS} items")
    found = (_item(item, f"{where}[{index}]") for index, item in enumerate(items))
    return tuple(item for item in found if item is not None)


def _item(item: Any, at: str) -> OrderItem | None:
    """One line; None when it has no name the agent could read out (the CRM's card has it)."""
    if not isinstance(item, dict):
        raise CrmDataError(f"{at}: expected an object")
    offer = item.get("offer")
    offer = offer if isinstance(offer, dict) else {}
    name = item.get("productName") or offer.get("displayName") or offer.get("name")
    if not name:
        return None
    quantity = item.get("quantity")
    if quantity is not None:
        quantity = number(quantity, f"{at}.quantity", above_zero=True)
    return OrderItem(
        name=str(name),
        quantity=Decimal(1) if quantity is None else quantity,
        price=optional_number(item.get("initialPrice"), f"{at}.initialPrice"),
    )


def _prepaid(o: Mapping[str, Any]) -> bool:
    if o.get("fullPaidAt"):
        return True
    total, prepaid = o.get("totalSumm"), o.get("prepaySum")
    if isinstance(total, int | float) and isinstance(prepaid, int | float):
        return total > 0 and prepaid >= total
    return False


def _dotted(o: Mapping[str, Any], path: str) -> Any:
    value: Any = o
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _quoted(order_id: str) -> str:
    return urllib.parse.quote(order_id, safe="")
