"""RetailCRM API v5: orders listed by status or read from the order history since a kept
cursor, statuses re-read in batches, one order read, outcomes written by order edit.

Request and answer shapes, checked against RetailCRM's official API clients
(retailcrm/api-client-php: ``tests/src/ResourceGroup/OrdersTest.php``,
``ReferencesTest.php``, ``CustomFieldsTest.php``, ``ErrorTest.php``; retailcrm/api-client-go:
``error.go``, ``rate.go``) — the local test double (``tests/crm/retailcrm_fixtures.py``)
serves those shapes:

* every request carries the header ``X-API-KEY: <key>`` (never the ``apiKey`` query
  parameter, so the key stays out of URLs and logs);
* ``GET /api/v5/orders?filter[extendedStatus][]=<code>&filter[sites][]=<site>&limit=100&page=N``
  answers ``{"success": true, "orders": [...], "pagination": {"limit": 100,
  "totalCount": T, "currentPage": N, "totalPageCount": P}}``; ``limit`` is 20, 50 or 100;
* ``GET /api/v5/orders?filter[ids][]=<id>&filter[externalIds][]=<id>&limit=100`` (the same
  list filtered by ids, ``src/Model/Filter/Orders/OrderFilter.php``) reads up to 100 orders
  in one request: the orders changed in the history, and the pre-dial re-check's batch;
* ``GET /api/v5/orders/history?filter[sinceId]=N&limit=100`` (``crm_adapter.retailcrm_history``)
  answers what changed since history entry N; the entries made with the dialer's own key
  (``apiKey.current``) are left out;
* ``GET /api/v5/orders/{id}?by=id|externalId&site=<site>`` answers
  ``{"success": true, "order": {...}}``; an unknown order is 404 ``{"success": false,
  "errorMsg": "Not found"}``;
* ``POST /api/v5/orders/{id}/edit`` with an ``application/x-www-form-urlencoded`` body of
  ``by``, ``site`` and ``order`` (the JSON of the fields to change: ``status``,
  ``managerComment`` or ``statusComment``, ``customFields``) answers ``{"success": true,
  "id": N, "order": {...}}``;
* statuses are **codes** (``new``, ``client-confirmed``, ``no-call``, ``dict-statuses-…``);
  ``crm_adapter.retailcrm_codes`` has the stock ones and their groups;
* an order has ``id``, ``externalId`` (absent on an order typed by a manager or taken from
  a marketplace: the dialer calls it ``#<id>`` and addresses it ``by=id``), ``number``,
  ``status``, ``createdAt`` (``YYYY-MM-DD HH:MM:SS`` in the account's time zone),
  ``firstName``, ``lastName``, ``patronymic``, ``phone``, ``items[].offer.displayName|name``,
  ``delivery.address.region/city``, ``orderMethod`` (a code), ``site``, ``totalSumm``,
  ``prepaySum``, ``fullPaidAt``, ``customFields`` (an object by field code); for the order
  card (issue 15) ``items[].productName|offer.displayName|offer.name``,
  ``items[].quantity``, ``items[].initialPrice``, ``delivery.address.text``,
  ``delivery.date`` (``YYYY-MM-DD``), ``additionalPhone``, ``customerComment``; the CRM's
  callback date-time (issue 15 §3) is read from the custom field ``custom_fields.callback``
  (``YYYY-MM-DD HH:MM:SS`` in ``timezone``, a string field: RetailCRM has no datetime
  type and no standard callback field — an assumption of the account's set-up);
* custom-field values are typed for their field (``crm_adapter.retailcrm_fields``);
* errors answer ``{"success": false, "errorMsg": "...", "errors": {...}}``: 400 (validation)
  and 404 are permanent; an HTML page (nginx's 405) means the account does not exist; the
  rate limit (10 requests per second per key, 40 on telephony routes) answers 429 or 503,
  possibly with ``Retry-After``; both are retried.

The edit sets absolute values, so repeating it changes nothing (a comment line appended to
``managerComment`` is not appended twice); when ``marker`` names a custom field, the
idempotency key is written in the same edit and a retried delivery reads it first to
acknowledge an edit already applied.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
    OrderGoneError,
    PermanentRejectionError,
)
from crm_adapter.port import (
    CrmOrderStatus,
    IntakeChanges,
    IntakeFilter,
    OutcomeDelivery,
    validate_delivery,
)
from crm_adapter.retailcrm_fields import (
    Catalogue,
    Dictionary,
    UntypableValueError,
    dictionary_from,
    field_infos,
    typed,
)
from crm_adapter.retailcrm_history import Cursor, entries, parse_cursor
from crm_adapter.retailcrm_limits import RateLimiter, TokenBucket
from crm_adapter.transport import HttpAnswer, HttpTransport, is_server_error

__all__ = ["CustomFields", "RetailCrmAdapter", "RetailCrmSettings", "TokenBucket"]

PAGE_LIMITS = (20, 50, 100)
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_OK_MAX, _BAD_REQUEST, _NOT_FOUND = 299, 400, 404
_TOO_MANY, _UNAVAILABLE = 429, 503
_INTERNAL = "#"  # the dialer's id of an order without externalId: "#<RetailCRM id>"
_IDS_PER_READ = 100  # orders read by ids in one request (the list's largest page)
_log = logging.getLogger("crm_adapter.retailcrm")


@dataclass(frozen=True, slots=True)
class CustomFields:
    """Codes of the RetailCRM order custom fields the dialer writes (None: not written).

    ``state`` is read as the order's state; without it every order has ``default_state``.
    ``comment`` is the dialer's own comment field, used with ``comment_to = "customField"``.
    The types each may have are ``retailcrm_fields.ROLE_TYPES``.
    """

    problem: str | None = "problem"
    call: str | None = "call"
    callback: str | None = "callback_at"
    attempts: str | None = None
    marker: str | None = "dialer_event"
    state: str | None = None
    comment: str | None = None


COMMENT_TARGETS = ("managerComment", "statusComment", "customField")


@dataclass(frozen=True, slots=True)
class RetailCrmSettings:
    """The account URL, API key (from the environment or a file), site and mapping.

    ``comment_to``: where the dialer's ``DD.MM - text`` comment goes — appended as a new
    line to ``managerComment`` (read first; what a manager wrote stays), the edit's
    ``statusComment`` (the comment of the status change, in the order's history), or the
    custom field ``custom_fields.comment`` (the dialer's own field, overwritten).
    """

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
    comment_to: str = "managerComment"
    history: bool = True  # incremental intake from orders/history (else full listings)
    poll_interval_s: float = 2.0  # the poll with history (docs/crm.md: the request budget)
    listing_interval_s: float = 30.0  # full listings (no history: fallback) at most this often
    cursor_max_age_s: float = 86400.0  # an older kept cursor is not used: a full listing
    history_pages: int = 20  # history pages (100 entries) read in one poll, at most

    def __post_init__(self) -> None:
        if self.by not in ("id", "externalId"):
            raise ValueError(f"by must be id or externalId, not {self.by!r}")
        if self.timezone not in pytz.all_timezones_set:
            raise ValueError(f"unknown time zone {self.timezone!r}")
        if self.rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        if self.comment_to not in COMMENT_TARGETS:
            raise ValueError(
                f"comment_to must be one of {', '.join(COMMENT_TARGETS)}, not {self.comment_to!r}"
            )
        if self.comment_to == "customField" and not self.custom_fields.comment:
            raise ValueError('comment_to = "customField" needs custom_fields.comment')
        for name in ("poll_interval_s", "listing_interval_s", "cursor_max_age_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.history_pages < 1:
            raise ValueError("history_pages must be at least 1")


class RetailCrmAdapter:
    """The CRM port over RetailCRM API v5 (shapes in the module docstring)."""

    def __init__(
        self,
        settings: RetailCrmSettings,
        *,
        limiter: RateLimiter,
        sleep: Callable[[float], None],
        transport: HttpTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._s = settings
        self._clock = clock or (lambda: datetime.now(UTC))
        self._history_retry_at: datetime | None = None  # history refused: tried again then
        self._listed_at: datetime | None = None  # the last full listing
        self._limiter = limiter
        self._sleep = sleep
        self._http = transport or HttpTransport(timeout_s=settings.timeout_s)
        self._zone = pytz.timezone(settings.timezone)
        self._base = settings.url.rstrip("/") + "/api/v5"
        self._catalogue: Catalogue | None = None
        self._catalogue_lock = threading.Lock()

    @property
    def settings(self) -> RetailCrmSettings:
        return self._s

    def fetch_waiting(self, intake: IntakeFilter) -> Iterator[Order]:
        """Every page of the intake statuses; an order that cannot be read is skipped with
        a warning naming it (its id and number), never failing the poll."""
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
                try:
                    order = self._order(item, f"orders page {page} [{index}]")
                except (CrmDataError, ValueError, TypeError) as exc:  # or an unforeseen shape
                    _log.warning("RetailCRM order%s skipped: %s", _named(item), exc)
                    continue
                if intake.admits(order):
                    yield order
            pages = _total_pages(data, page)
            page += 1

    @property
    def poll_interval_s(self) -> float:
        """With history a poll is one request when nothing changed; without, the listing
        interval (``IncrementalIntake``)."""
        return self._s.poll_interval_s if self._s.history else self._s.listing_interval_s

    def fetch_changes(self, intake: IntakeFilter, cursor: str | None) -> IntakeChanges | None:
        """The orders created or changed (by anyone but this key) since ``cursor``, read
        from ``orders/history``; or a full listing of the waiting orders when no usable
        cursor is kept (the newest history id is read **before** the listing, so a change
        made during the listing is read again next time, never lost). History refused (a
        403 for the key's rights, a malformed answer) → a full listing with a warning, at
        most every ``listing_interval_s``, history tried again after as long. None: nothing
        due. A 503/429 or no connection is raised: the poll failed, the cursor stays."""
        now = self._clock()
        if not self._s.history:  # polled every listing_interval_s: each poll lists
            return self._listing(intake, None, now, due=True)
        if self._history_retry_at is not None and now < self._history_retry_at:
            return self._listing(intake, None, now)
        account = self._s.url.rstrip("/")
        max_age = timedelta(seconds=self._s.cursor_max_age_s)
        kept_cursor, why = parse_cursor(cursor, account, now, max_age)
        try:
            if kept_cursor is None:
                if cursor is not None:
                    _log.warning("RetailCRM intake: %s; the waiting orders are listed again", why)
                newest = self._newest_history_id()
            else:
                changes = self._since(kept_cursor, now)
        except (CrmRejectedError, CrmDataError) as exc:
            self._history_retry_at = now + timedelta(seconds=self._s.listing_interval_s)
            _log.warning("RetailCRM orders/history not usable (%s): the waiting orders are "
                         "listed in full instead, every %.0f s", exc,
                         self._s.listing_interval_s)  # fmt: skip
            return self._listing(intake, None, now)
        self._history_retry_at = None
        if kept_cursor is None:
            return self._listing(intake, Cursor(account, newest, now), now, due=True)
        return changes

    def read_statuses(self, order_ids: Sequence[str]) -> dict[str, CrmOrderStatus]:
        """Many orders' statuses in one list request per 100 (``filter[ids][]`` for the
        ids RetailCRM gave, ``filter[externalIds][]`` for the shop's); an order RetailCRM
        does not have is absent. ``orders/statuses`` (500 at once) is not used: it answers
        only ``status`` and ``group``, and the re-check also judges prepayment, the state
        field and the source."""
        internal: list[str] = []
        external: list[str] = []
        for order_id in dict.fromkeys(order_ids):
            by, ident = self._address(order_id)
            (internal if by == "id" else external).append(ident)
        found: dict[str, CrmOrderStatus] = {}
        for name, idents in (("ids", internal), ("externalIds", external)):
            for start in range(0, len(idents), _IDS_PER_READ):
                chunk = idents[start : start + _IDS_PER_READ]
                for o in self._by_ids(name, chunk):
                    try:
                        ident = self._ident(o, "orders by id")
                        found[ident] = self._status_of(ident, o)
                    except (CrmDataError, ValueError, TypeError) as exc:
                        _log.warning("RetailCRM order%s not read: %s", _named(o), exc)
        wanted = set(order_ids)
        return {k: v for k, v in found.items() if k in wanted}

    def _status_of(self, order_id: str, o: Mapping[str, Any]) -> CrmOrderStatus:
        source = _opt(_dotted(o, self._s.source_field))
        return CrmOrderStatus(
            order_id, _status(o, f"order {order_id}"), self._state(o), _prepaid(o), source,
            callback_at=self._callback(o, f"order {order_id}"),
        )  # fmt: skip

    def _listing(
        self, intake: IntakeFilter, cursor: Cursor | None, now: datetime, *, due: bool = False
    ) -> IntakeChanges | None:
        # polls come every poll_interval_s, a little early or late: half of it is allowed
        every = timedelta(seconds=self._s.listing_interval_s - self._s.poll_interval_s / 2)
        if not due and self._listed_at is not None and now - self._listed_at < every:
            return None
        orders = tuple(self.fetch_waiting(intake))
        self._listed_at = now
        return IntakeChanges(orders, None if cursor is None else cursor.text(), full=True)

    def _newest_history_id(self) -> int:
        """The id of the newest history entry (0 for an account with none): the count of
        pages, then the last page."""
        query: list[tuple[str, str | int]] = [("limit", 100), ("page", 1)]
        data = self._call("GET", "/orders/history", query=query, what="orders/history")
        pages = _total_pages(data, 1, "orders/history")
        if pages > 1:
            query = [("limit", 100), ("page", pages)]
            what = f"orders/history page {pages}"
            data = self._call("GET", "/orders/history", query=query, what=what)
        found = entries(data, "orders/history")
        return max((e.id for e in found), default=0)

    def _since(self, cursor: Cursor, now: datetime) -> IntakeChanges:
        """History pages since the cursor (each asked from the last id read, at most
        ``history_pages``), then the changed orders read by ids."""
        since, changed, skipped, gone = cursor.since_id, dict[int, str](), 0, list[str]()
        for _ in range(self._s.history_pages):
            query: list[tuple[str, str | int]] = [("filter[sinceId]", since), ("limit", 100)]
            what = f"orders/history since {since}"
            data = self._call("GET", "/orders/history", query=query, what=what)
            page = entries(data, what)
            for e in page:
                since = max(since, e.id)
                if e.own:
                    skipped += 1
                elif e.deleted and e.order is not None:
                    gone += self._gone(e.order, e.label)
                elif e.order_id is not None:
                    changed.setdefault(e.order_id, e.label)
            if _total_pages(data, 1, what) <= 1 or not page:
                break
        if skipped:
            _log.debug("RetailCRM history: %d change(s) made by the dialer's key left out", skipped)
        orders: list[Order] = []
        ids = [str(i) for i in changed]
        for start in range(0, len(ids), _IDS_PER_READ):
            for o in self._by_ids("ids", ids[start : start + _IDS_PER_READ]):
                try:
                    orders.append(self._order(o, "orders by id"))
                except (CrmDataError, ValueError, TypeError) as exc:
                    _log.warning("RetailCRM order%s skipped: %s", _named(o), exc)
        cursor_text = Cursor(cursor.account, since, now).text()
        return IntakeChanges(tuple(orders), cursor_text, gone=tuple(gone))

    def _gone(self, order: Mapping[str, Any], label: str) -> list[str]:
        """The dialer's id of a deleted order, when the entry names it (and it is of the
        configured site: externalIds may repeat across a key's shops)."""
        if self._s.site and order.get("site") not in (None, self._s.site):
            return []
        try:
            return [self._ident(order, label)]
        except CrmDataError as exc:
            _log.warning("RetailCRM %s: a deleted order not named: %s", label, exc)
            return []

    def _by_ids(self, name: str, idents: Sequence[str]) -> list[Any]:
        """``GET /orders?filter[ids][]=…`` (or ``externalIds``), at most 100 in one page."""
        if not idents:
            return []
        query: list[tuple[str, str | int]] = [(f"filter[{name}][]", i) for i in idents]
        if self._s.site:
            query.append(("filter[sites][]", self._s.site))
        query += [("limit", _IDS_PER_READ), ("page", 1)]
        data = self._call("GET", "/orders", query=query, what=f"orders by {name}")
        return _list(data, "orders", 1)

    def read_status(self, order_id: str) -> CrmOrderStatus:
        return self._status_of(order_id, self._read(order_id))

    def write_outcome(self, delivery: OutcomeDelivery) -> bool:
        """One edit; the order is read first when its comment is appended to
        ``managerComment`` or the try may be a repeat (then the marker field acknowledges
        an edit already applied, and a comment line already there is not added again)."""
        validate_delivery(delivery)
        marker = self._s.custom_fields.marker
        current: dict[str, Any] | None = None
        if delivery.retry or self._s.comment_to == "managerComment":
            current = self._read(delivery.order_id)
            fields = current.get("customFields") or {}
            if marker and isinstance(fields, dict) and fields.get(marker) == delivery.key:
                return False
        by, ident = self._address(delivery.order_id)
        edit = self._edit(delivery, current)
        form = {"by": by, "order": json.dumps(edit, ensure_ascii=False)}
        if self._s.site:
            form["site"] = self._s.site
        path = f"/orders/{_quoted(ident)}/edit"
        self._call("POST", path, form=form, what=f"edit of order {delivery.order_id}")
        return True

    def close(self) -> None:
        """urllib keeps no connections open."""

    def catalogue(self) -> Catalogue:
        """The account's order custom fields and the dictionaries of the dialer's fields,
        read once (``GET /custom-fields?filter[entity]=order``, every page, and
        ``/custom-fields/dictionaries/{code}``). A key that may not read them (a refusal)
        gets an unknown catalogue: values are then typed as docs/crm.md recommends."""
        with self._catalogue_lock:
            if self._catalogue is None:
                try:
                    self._catalogue = self.read_catalogue()
                except CrmRejectedError as exc:
                    _log.warning("RetailCRM custom fields cannot be read (%s); values are "
                                 "written with the recommended types", exc)  # fmt: skip
                    self._catalogue = Catalogue(known=False)
            return self._catalogue

    def reference(self, name: str, key: str) -> dict[str, Any]:
        """``GET /reference/{name}``'s object ``key`` (e.g. statuses → ``statuses``)."""
        data = self._call("GET", f"/reference/{name}", what=f"reference/{name}")
        value = data.get(key)
        if isinstance(value, list) and not value:
            return {}  # PHP's empty array
        if not isinstance(value, dict):
            raise CrmDataError(f"reference/{name}: '{key}' must be an object")
        return value

    def read_catalogue(self) -> Catalogue:
        """The catalogue read now; errors are raised (``crm check`` reports them)."""
        rows: list[Any] = []
        page, pages = 1, 1
        while page <= pages:
            query: list[tuple[str, str | int]] = [
                ("filter[entity]", "order"), ("limit", 100), ("page", page),
            ]  # fmt: skip
            what = f"custom-fields page {page}"
            data = self._call("GET", "/custom-fields", query=query, what=what)
            value = data.get("customFields")
            if not isinstance(value, list):
                raise CrmDataError(f"{what}: 'customFields' must be a list")
            rows += value
            pages = _total_pages(data, page, what)
            page += 1
        infos = field_infos(rows)
        dictionaries: dict[str, Dictionary] = {}
        cf = self._s.custom_fields
        for code in (cf.problem, cf.call, cf.state):
            info = infos.get(code) if code else None
            if info is None or info.dictionary is None or info.dictionary in dictionaries:
                continue
            what = f"custom-fields/dictionaries/{info.dictionary}"
            path = f"/custom-fields/dictionaries/{_quoted(info.dictionary)}"
            data = self._call("GET", path, what=what)
            dictionaries[info.dictionary] = dictionary_from(
                data.get("customDictionary"), info.dictionary
            )
        return Catalogue(infos, dictionaries)

    def _edit(self, d: OutcomeDelivery, current: Mapping[str, Any] | None) -> dict[str, Any]:
        cf = self._s.custom_fields
        callback = None
        if d.callback_at is not None:
            local = d.callback_at.astimezone(self._zone)
            callback = (local.strftime("%Y-%m-%d"), local.strftime(_TIME_FORMAT))
        values: list[tuple[str, str | None, Any]] = [
            ("problem", cf.problem, d.problem),
            ("call", cf.call, d.call_made),
            ("callback", cf.callback, callback),
            ("attempts", cf.attempts, d.attempt_no),
            ("marker", cf.marker, d.key),
        ]
        if self._s.comment_to == "customField":
            values.append(("comment", cf.comment, d.comment))
        catalogue = self.catalogue()
        custom: dict[str, Any] = {}
        notes: list[str] = []
        for role, code, value in values:
            if not code:
                continue
            try:
                custom[code] = typed(catalogue, role, code, value, texts=self._s.call_made_text)
            except UntypableValueError as exc:
                _log.warning("order %s: custom_fields.%s not written: %s", d.order_id, role, exc)
                if role == "problem" and value:
                    notes.append(str(value))  # the problem is kept in the comment instead
        edit: dict[str, Any] = {"status": d.status, "customFields": custom}
        comment = d.comment if not notes else f"{d.comment} ({'; '.join(notes)})"
        if self._s.comment_to == "statusComment":
            edit["statusComment"] = comment
        elif self._s.comment_to == "managerComment":
            appended = _appended(current.get("managerComment") if current else None, comment)
            if appended is not None:
                edit["managerComment"] = appended
        return edit

    def _address(self, order_id: str) -> tuple[str, str]:
        """``(by, identifier)`` of the dialer's order id: an order RetailCRM has without
        ``externalId`` got the id ``#<id>`` and is addressed ``by=id``."""
        if self._s.by == "externalId" and _is_internal(order_id):
            return "id", order_id[1:]
        return self._s.by, order_id

    def _read(self, order_id: str) -> dict[str, Any]:
        by, ident = self._address(order_id)
        query: list[tuple[str, str | int]] = [("by", by)]
        if self._s.site:
            query.append(("site", self._s.site))
        what = f"order {order_id}"
        data = self._call("GET", f"/orders/{_quoted(ident)}", query=query, what=what)
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
            self._limiter.acquire(path)
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
        ident = self._ident(o, where)
        names = (_text(o.get(k)) for k in ("lastName", "firstName", "patronymic"))
        return Order(
            id=ident,
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

    def _ident(self, o: Mapping[str, Any], where: str) -> str:
        """The dialer's id of the order: its ``by`` identifier; with ``by = "externalId"``
        an order without one (typed by a manager, from a marketplace) is ``#<id>``."""
        by = self._s.by
        ident = o.get(by)
        if ident not in (None, ""):
            text = str(ident)
            if by == "externalId" and text.startswith(_INTERNAL):
                raise CrmDataError(
                    f"{where}.externalId: {text!r} starts with {_INTERNAL!r}, which the dialer "
                    "keeps for orders addressed by id"
                )
            return text
        internal = o.get("id")
        if by == "externalId" and isinstance(internal, int) and not isinstance(internal, bool):
            return f"{_INTERNAL}{internal}"
        raise CrmDataError(f"{where}.{by}: required")

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
    """The answer's JSON when it succeeded; else the error RetailCRM's status means.

    400 (a validation error: ``{"success": false, "errorMsg": "Errors in the entity
    format", "errors": {"status": "..."}}``) and 404 (``"Not found"``) are permanent: the
    same request fails the same way. An HTML page instead of JSON (nginx's 405) is what
    RetailCRM answers for an account that does not exist (the official clients map it to
    "account does not exist"): the configured URL is wrong.
    """
    if is_server_error(answer.status):
        raise CrmUnavailableError(f"{what}: HTTP {answer.status}")
    if answer.body.lstrip()[:1] == b"<":
        raise CrmRejectedError(
            f"{what}: HTTP {answer.status} with an HTML page: the account does not exist "
            "(check crm.retailcrm.url)",
            answer.status,
        )
    data = answer.json(what)
    if not isinstance(data, dict):
        raise CrmDataError(f"{what}: the answer is not a JSON object")
    if answer.status <= _OK_MAX and data.get("success") is True:
        return data
    message = f"{what}: HTTP {answer.status} {_error_text(data)}".strip()
    if answer.status == _NOT_FOUND:
        raise OrderGoneError(message, answer.status)
    if answer.status == _BAD_REQUEST:
        raise PermanentRejectionError(message, answer.status)
    raise CrmRejectedError(message, answer.status)


def _error_text(data: Mapping[str, Any]) -> str:
    """RetailCRM's ``errorMsg`` and its ``errors`` (an object by field, or a list)."""
    text = str(data.get("errorMsg") or "")
    errors = data.get("errors")
    if isinstance(errors, dict) and errors:
        text += " (" + "; ".join(f"{k}: {v}" for k, v in errors.items()) + ")"
    elif isinstance(errors, list) and errors:
        text += " (" + "; ".join(str(e) for e in errors) + ")"
    return text


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


def _total_pages(data: Mapping[str, Any], page: int, what: str | None = None) -> int:
    pagination = data.get("pagination")
    total = pagination.get("totalPageCount") if isinstance(pagination, dict) else None
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        where = what or f"orders page {page}"
        raise CrmDataError(f"{where}: pagination.totalPageCount must be an integer")
    return total


def _named(item: Any) -> str:
    """`` (id 7141, number 7141C)`` for a warning about an order, when it has them."""
    if not isinstance(item, dict):
        return ""
    names = [f"{k} {item[k]}" for k in ("id", "number", "externalId") if item.get(k) is not None]
    return f" ({', '.join(names)})" if names else ""


def _is_internal(order_id: str) -> bool:
    return order_id.startswith(_INTERNAL) and order_id[1:].isdigit()


def _appended(existing: Any, line: str) -> str | None:
    """``managerComment`` with ``line`` added as its last line; None when it holds that
    line already (a repeated delivery) or ``line`` is empty."""
    text = existing if isinstance(existing, str) else ""
    if not line.strip() or line in text.splitlines():
        return None
    return f"{text.rstrip()}\n{line}" if text.strip() else line


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
