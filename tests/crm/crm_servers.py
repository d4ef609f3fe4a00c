"""Local CRM servers for the tests: a signed HTTP/JSON CRM and a RetailCRM API v5 double.

Both run a stdlib ThreadingHTTPServer on 127.0.0.1, record what they applied, de-duplicate
by idempotency key, and can answer 503 (``down = True``) or refuse connections (``stop``).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import retailcrm_fixtures as fixtures

from crm_adapter.errors import SignatureError
from crm_adapter.signing import IDEMPOTENCY_HEADER, from_header, verify
from crm_adapter.transport import json_text

SECRET = b"test-secret-of-32-bytes-exactly!"
OUTCOME_FIELDS = ("event_id", "order_id", "outcome", "status", "call_made", "at")
API_KEY = "retail-key-123"

# handlers get header names in lower case
Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], Any]]


class LocalServer:
    """One HTTP server on a fixed port; ``stop``/``start`` toggle refused connections.

    ``post_delay_s`` makes every POST wait that long before it is handled (a slow CRM);
    ``post_overlaps`` counts POSTs that arrived while another was still in progress.
    """

    def __init__(self, handle: Handler) -> None:
        self._handle = handle
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.down = False
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.answers: list[tuple[str, str, int, Any]] = []  # method, path, status, JSON
        self.lock = threading.Lock()
        self.post_delay_s = 0.0
        self.bom = False  # start every answer body with a UTF-8 byte-order mark (as 1C may)
        self.post_overlaps = 0
        self.posts_in_progress = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with outer.lock:
                    outer.post_overlaps += outer.posts_in_progress > 0
                    outer.posts_in_progress += 1
                try:
                    time.sleep(outer.post_delay_s)
                    self._serve()
                finally:
                    with outer.lock:
                        outer.posts_in_progress -= 1

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with outer.lock:
                    outer.requests.append((self.command, self.path, headers, body))
                    if outer.down:
                        status, extra, data = 503, {}, {"error": "maintenance"}
                    else:
                        status, extra, data = outer._handle(self.command, self.path, headers, body)
                    outer.answers.append((self.command, self.path, status, data))
                html = isinstance(data, bytes)  # a page of the web server in front of the API
                raw = data if html else json.dumps(data, ensure_ascii=False).encode()
                if outer.bom and not html:
                    raw = b"\xef\xbb\xbf" + raw
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                kind = "text/html; charset=utf-8" if html else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = _serve

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class HttpJsonCrm:
    """The CRM side of docs/crm.md's HTTP/JSON contract, checking every signature.

    Ids in headers are percent-encoded UTF-8 and decoded here; a repeated idempotency key is
    acknowledged with 200 ``{"duplicate": true}`` and not applied again. ``final`` lists
    order ids whose outcomes are refused for good (422 ``{"final": true}``).
    """

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.orders: dict[str, dict[str, Any]] = {}
        self.applied: list[dict[str, Any]] = []
        self.keys: set[str] = set()
        self.duplicates = 0
        self.final: set[str] = set()
        self.server = LocalServer(self._handle)

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        try:
            event = {"x-dialer-event-id": headers.get("x-dialer-event-id") or "read"}
            signed = verify(self.secret, headers | event, body, datetime.now(UTC))
        except SignatureError as exc:
            return 401, {}, {"error": str(exc)}
        parsed = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qs(parsed.query)
        if method == "GET" and parsed.path == "/orders":
            return self._page(query)
        if method == "GET" and parsed.path.startswith("/orders/"):
            order = self.orders.get(urllib.parse.unquote(parsed.path[len("/orders/") :]))
            return (200, {}, order) if order else (404, {}, {"error": "no such order"})
        if method == "POST" and parsed.path == "/outcomes":
            return self._outcome(signed.event_id, headers, body)
        return 404, {}, {"error": f"no route {method} {parsed.path}"}

    def _page(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        page, limit = int(query["page"][0]), int(query["limit"][0])
        rows = sorted(
            (o for o in self.orders.values()
             if o["status"] in query.get("status", [])
             and (not query.get("state") or o.get("state") in query["state"])
             and o.get("source") not in query.get("exclude_source", [])),
            key=lambda o: (o["created_at"], o["id"]),
        )  # fmt: skip
        chunk = rows[(page - 1) * limit : page * limit]
        following = page + 1 if page * limit < len(rows) else None
        return 200, {}, {"orders": chunk, "next_page": following}

    def _outcome(
        self, event_id: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        data, refusal = _outcome_body(body)
        key = ""
        if refusal is None:
            try:
                key = from_header(headers.get(IDEMPOTENCY_HEADER.lower(), ""))
            except ValueError as exc:
                refusal = f"Idempotency-Key: {exc}"
        if refusal is None and (not key or key != event_id or key != data.get("event_id")):
            refusal = "Idempotency-Key missing, or not the event id"
        if refusal is not None:  # nothing a resend could change
            return 400, {}, {"error": refusal, "final": True}
        if key in self.keys:
            self.duplicates += 1
            return 200, {}, {"duplicate": True}
        if data["order_id"] in self.final:
            reason = f"заказ {data['order_id']} в архиве: результат не принимается"
            return 422, {}, {"error": reason, "final": True}
        order = self.orders.get(data["order_id"])
        if order is None:
            return 404, {}, {"error": "no such order"}
        self.keys.add(key)
        self.applied.append(data)
        order["status"] = data["status"]
        return 200, {}, {"ok": True}


def _outcome_body(body: bytes) -> tuple[dict[str, Any], str | None]:
    """The outcome's JSON object, or why it is refused (not JSON, a field missing)."""
    try:
        data = json.loads(json_text(body))
    except (UnicodeDecodeError, ValueError):
        return {}, "the body is not UTF-8 JSON"
    if not isinstance(data, dict):
        return {}, "the body is not a JSON object"
    missing = [name for name in OUTCOME_FIELDS if name not in data]
    return data, f"missing: {', '.join(missing)}" if missing else None


class RetailCrmDouble:
    """RetailCRM API v5 as its official clients' fixtures show it (``retailcrm_fixtures``).

    Checks the key and the forms; serves orders (paged by ``pagination``), one order
    ``by=id|externalId``, the edit, and the references ``crm check`` reads. Errors answer
    RetailCRM's body ``{"success": false, "errorMsg": ..., "errors": {...}}``: 400 for an
    unknown status or custom field in an edit, 404 for an unknown order; ``throttle`` and
    ``unavailable`` answer the next requests with 429 / 503; ``no_account`` answers nginx's
    HTML 405 page, as RetailCRM does for an account that does not exist.

    ``orders/history`` (shapes: ``retailcrm_fixtures.history_entry``) holds an entry for each
    order made with ``create`` and each change made with ``change`` (a manager's, or with
    ``own=True`` one made with this key) or by an edit through the API (``apiKey.current``
    true); ``history_forbidden`` answers it 403, as for a key without the right to read it.
    The order list filters by ``filter[ids][]`` and ``filter[externalIds][]`` too.
    """

    def __init__(self, api_key: str, site: str = "shop") -> None:
        self.api_key = api_key
        self.site = site
        self.sites: dict[str, dict[str, Any]] = {site: fixtures.site(site, 1)}
        self.orders: dict[str, dict[str, Any]] = {}
        self.edits: list[dict[str, Any]] = []
        self.statuses = fixtures.stock_statuses()
        self.status_groups: dict[str, dict[str, Any]] | None = fixtures.stock_status_groups()
        self.order_methods = dict(fixtures.ORDER_METHODS)
        self.custom_fields: list[dict[str, Any]] = [dict(f) for f in fixtures.DIALER_FIELDS]
        self.dictionaries = {"dialer_problems": fixtures.PROBLEM_DICTIONARY}
        self.throttle = 0  # answer this many next requests with 429
        self.unavailable = 0  # answer this many next requests with 503
        self.no_account = False
        self.retry_after = "1"
        self.history: list[dict[str, Any]] = []
        self.history_forbidden = False
        self.server = LocalServer(self._handle)

    def create(self, order: dict[str, Any], *, source: str = "user") -> None:
        """A new order in the account (typed by a manager, or from the shop's site)."""
        key = str(order.get("externalId") or f"#{order['id']}")
        self.orders[key] = order
        self._record(order, "status", None, {"code": order["status"]}, created=True,
                     source=source)  # fmt: skip

    def change(self, order_id: Any, name: str, value: Any, *, own: bool = False) -> None:
        """A change of one order field (``status``, ``phone``, ``customFields.<code>``) by a
        manager, or with ``own=True`` made with the dialer's key."""
        order = next(o for o in self.orders.values() if order_id in (o.get("externalId"), o["id"]))
        if name.startswith("customFields."):
            custom = order.setdefault("customFields", {})
            old, custom[name.split(".", 1)[1]] = custom.get(name.split(".", 1)[1]), value
            field = f"custom_{name.split('.', 1)[1]}"
        else:
            old, order[name] = order.get(name), value
            field = name
        if name == "status":
            old, value = {"code": old}, {"code": value}
        self._record(order, field, old, value, own=own, source="api" if own else "user")

    def delete(self, order_id: Any) -> None:
        """A manager deletes the order (``OrderHistory.php``'s ``deleted`` entry)."""
        key = next(k for k, o in self.orders.items() if order_id in (o.get("externalId"), o["id"]))
        order = self.orders.pop(key)
        self._record(order, "id", order["id"], None)
        self.history[-1]["deleted"] = True

    def _record(
        self, order: dict[str, Any], field: str, old: Any, new: Any, *, created: bool = False,
        own: bool = False, source: str = "user",
    ) -> None:  # fmt: skip
        entry = fixtures.history_entry(len(self.history) + 1, order, field, old, new,
                                       created=created, own=own, source=source)  # fmt: skip
        self.history.append(entry)

    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        refused = self._refused(headers)
        if refused is not None:
            return refused
        parsed = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qs(parsed.query)
        parts = parsed.path.removeprefix("/api/v5/").split("/")
        if method == "GET" and parts in (["orders"], ["orders", "history"]):
            return self._list(query) if len(parts) == 1 else self._history(query)
        if method == "GET" and len(parts) == 2 and parts[0] == "orders":
            return self._get(urllib.parse.unquote(parts[1]), query)
        if method == "POST" and len(parts) == 3 and parts[2] == "edit":
            return self._edit(urllib.parse.unquote(parts[1]), headers, body)
        if method == "GET":
            return self._reference(parts, query)
        return 404, {}, _failure("API method not found")

    def _refused(self, headers: dict[str, str]) -> tuple[int, dict[str, str], Any] | None:
        if self.no_account:
            return 405, {}, fixtures.ACCOUNT_MISSING_HTML
        if self.throttle > 0:
            self.throttle -= 1
            return 429, {"Retry-After": self.retry_after}, _failure("Rate limit exceeded")
        if self.unavailable > 0:
            self.unavailable -= 1
            return 503, {}, _failure("Service Unavailable")
        if headers.get("x-api-key") != self.api_key:
            return 403, {}, _failure('Wrong "apiKey" value.')
        return None

    def _reference(
        self, parts: list[str], query: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], Any]:
        found: dict[tuple[str, ...], tuple[str, Any]] = {
            ("reference", "statuses"): ("statuses", self.statuses),
            ("reference", "order-methods"): ("orderMethods", self.order_methods),
            ("reference", "sites"): ("sites", self.sites),
        }
        if self.status_groups is not None:
            found["reference", "status-groups"] = ("statusGroups", self.status_groups)
        if tuple(parts) in found:
            name, value = found[tuple(parts)]
            return 200, {}, {"success": True, name: value}
        if parts == ["custom-fields"]:
            entity = query.get("filter[entity]", [None])[0]
            rows = [f for f in self.custom_fields if entity is None or f["entity"] == entity]
            return self._paged(query, "customFields", rows)
        if len(parts) == 3 and parts[:2] == ["custom-fields", "dictionaries"]:
            dictionary = self.dictionaries.get(parts[2])
            if dictionary is None:
                return 404, {}, _failure("Not found")
            return 200, {}, {"success": True, "customDictionary": dictionary}
        return 404, {}, _failure("API method not found")

    def _history(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        if self.history_forbidden:
            return 403, {}, _failure("Access denied.")
        since = int(query.get("filter[sinceId]", ["0"])[0])
        rows = [e for e in self.history if e["id"] > since]
        return self._paged(query, "history", rows, generated=True)

    def _find(self, ident: str, by: str) -> dict[str, Any] | None:
        return next((o for o in self.orders.values() if str(o.get(by)) == ident), None)

    def _paged(
        self, query: dict[str, list[str]], name: str, rows: list[dict[str, Any]],
        *, generated: bool = False,
    ) -> tuple[int, dict[str, str], Any]:  # fmt: skip
        limit, page = int(query.get("limit", ["20"])[0]), int(query.get("page", ["1"])[0])
        if limit not in (20, 50, 100):
            return 400, {}, _failure("Errors in the input parameters",
                                     {"limit": "This value is not valid."})  # fmt: skip
        total_pages = (len(rows) + limit - 1) // limit
        pagination = {"limit": limit, "totalCount": len(rows), "currentPage": page,
                      "totalPageCount": total_pages}  # fmt: skip
        chunk = rows[(page - 1) * limit : page * limit]
        body: dict[str, Any] = {"success": True, "pagination": pagination, name: chunk}
        if generated:
            body["generatedAt"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return 200, {}, body

    def _list(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        statuses = query.get("filter[extendedStatus][]", [])
        sites = query.get("filter[sites][]", [])
        ids = query.get("filter[ids][]")
        external = query.get("filter[externalIds][]")
        rows = [
            o for o in self.orders.values()
            if (not statuses or o["status"] in statuses) and (not sites or o["site"] in sites)
            and (ids is None or str(o["id"]) in ids)
            and (external is None or str(o.get("externalId")) in external)
        ]  # fmt: skip
        rows.sort(key=lambda o: (o["createdAt"] or "", o["id"] or 0))
        return self._paged(query, "orders", rows)

    def _get(self, ident: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        by = query.get("by", ["externalId"])[0]
        if by != "id" and "site" not in query and len(self.sites) > 1:
            return 400, {}, _failure("Parameter 'site' is missing")
        order = self._find(ident, by)
        if order is None:
            return 404, {}, _failure("Not found")
        return 200, {}, {"success": True, "order": order}

    def _edit(
        self, ident: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        if headers.get("content-type") != "application/x-www-form-urlencoded":
            return 400, {}, _failure("form expected")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        if form.get("by") not in ("id", "externalId"):
            return 400, {}, _failure("Errors in the input parameters", {"by": "invalid"})
        if form["by"] != "id" and form.get("site") not in self.sites:
            return 400, {}, _failure("Parameter 'site' is missing")
        order = self._find(ident, form["by"])
        if order is None:
            return 404, {}, _failure("Not found")
        change = json.loads(form["order"])
        invalid = self._invalid(change)
        if invalid:
            return 400, {}, _failure("Errors in the entity format", invalid)
        self.edits.append({"id": ident, **change})
        if "status" in change and change["status"] != order["status"]:
            self._record(order, "status", {"code": order["status"]},
                         {"code": change["status"]}, own=True, source="api")  # fmt: skip
        for code, value in change.get("customFields", {}).items():
            self._record(order, f"custom_{code}", None, value, own=True, source="api")
        order["status"] = change.get("status", order["status"])
        for name in ("managerComment", "statusComment"):
            if name in change:
                order[name] = change[name]
        order.setdefault("customFields", {}).update(change.get("customFields", {}))
        return 200, {}, {"success": True, "id": order["id"], "order": order}

    def _invalid(self, change: dict[str, Any]) -> dict[str, str]:
        """What RetailCRM's validation would refuse: an unknown status, an unknown custom
        field, a value of the wrong type for its field (codes for a dictionary)."""
        errors: dict[str, str] = {}
        status = change.get("status")
        if status is not None and status not in self.statuses:
            errors["status"] = f"Status '{status}' does not exist."
        fields = {f["code"]: f for f in self.custom_fields}
        for code, value in change.get("customFields", {}).items():
            field = fields.get(code)
            if field is None:
                errors[f"customFields[{code}]"] = "This field does not exist."
            elif not _typed(field, value, self.dictionaries):
                errors[f"customFields[{code}]"] = f"This value is not a valid {field['type']}."
        return errors


def _typed(field: dict[str, Any], value: Any, dictionaries: dict[str, Any]) -> bool:
    if value is None:
        return True
    kind = field["type"]
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-"
    if kind == "dictionary":
        elements = dictionaries[field["dictionary"]]["elements"]
        return value in {e["code"] for e in elements}
    return isinstance(value, str)


def _failure(message: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "errorMsg": message}
    if errors:
        body["errors"] = errors
    return body
