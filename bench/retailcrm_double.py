"""A small RetailCRM API v5 double for the benchmarks (loopback), with the shapes the
tests' double takes from RetailCRM's official clients (``tests/crm/retailcrm_fixtures.py``
names the files): the orders list (by status, site, ids, externalIds; paged), the order
history since an id (``apiKey.current`` true for edits made through the API), one order,
the edit, and an empty custom-field catalogue. Every request is counted with its time."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any]


class RetailCrmBenchDouble:
    def __init__(self, api_key: str, site: str = "shop") -> None:
        self.api_key, self.site = api_key, site
        self.orders: dict[int, dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []
        self.requests: list[tuple[float, str]] = []  # monotonic time, path
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(outer.handle("GET", self.path, self.headers.get("X-API-KEY"), b""))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                key = self.headers.get("X-API-KEY")
                self._answer(outer.handle("POST", self.path, key, body))

            def _answer(self, answer: Answer) -> None:
                status, data = answer
                body = json.dumps(data, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def create(self, number: int, phone: str, status: str = "new") -> datetime:
        """A new order as a shop's site makes it (no externalId: the dialer's ``#<id>``)."""
        now = datetime.now(UTC)
        order = {
            "id": number, "number": f"{number}A", "site": self.site, "status": status,
            "createdAt": now.strftime("%Y-%m-%d %H:%M:%S"), "firstName": "Клиент",
            "phone": phone, "orderMethod": "shopping-cart", "totalSumm": 1990, "prepaySum": 0,
            "items": [{"offer": {"displayName": "Перуанская мака"}}], "customFields": {},
        }  # fmt: skip
        with self.lock:
            self.orders[number] = order
            self._record(order, "status", {"code": status}, own=False, created=True)
        return now

    def _record(
        self, order: dict[str, Any], field: str, new: Any, *, own: bool, created: bool = False
    ) -> None:
        entry: dict[str, Any] = {
            "id": len(self.history) + 1, "createdAt": order["createdAt"], "field": field,
            "source": "api" if own else "user", "apiKey": {"current": own},
            "oldValue": None, "newValue": new,
            "order": dict(order) if created else {"id": order["id"], "site": order["site"]},
        }  # fmt: skip
        if created:
            entry["created"] = True
        self.history.append(entry)

    def handle(self, method: str, raw_path: str, key: str | None, body: bytes) -> Answer:
        parsed = urllib.parse.urlsplit(raw_path)
        path = parsed.path.removeprefix("/api/v5")
        query = urllib.parse.parse_qs(parsed.query)
        with self.lock:
            self.requests.append((time.monotonic(), path))
            if key != self.api_key:
                return 403, _failure('Wrong "apiKey" value.')
            return self._route(method, path, query, body)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Answer:
        if method == "GET" and path == "/orders":
            return self._list(query)
        if method == "GET" and path == "/orders/history":
            since = int(query.get("filter[sinceId]", ["0"])[0])
            return self._paged(query, "history", [e for e in self.history if e["id"] > since])
        if method == "GET" and path == "/custom-fields":
            return self._paged(query, "customFields", [])
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 3 and parts[2] == "edit":
            return self._edit(parts[1], body)
        one = method == "GET" and len(parts) == 2 and parts[0] == "orders"
        order = self._find(parts[1], query.get("by", ["externalId"])[0]) if one else None
        if order is None:
            return 404, _failure("Not found")
        return 200, {"success": True, "order": order}

    def _find(self, ident: str, by: str) -> dict[str, Any] | None:
        return next((o for o in self.orders.values() if str(o.get(by)) == ident), None)

    def _list(self, query: dict[str, list[str]]) -> Answer:
        statuses = query.get("filter[extendedStatus][]")
        ids = query.get("filter[ids][]")
        rows = [
            o for o in self.orders.values()
            if (statuses is None or o["status"] in statuses)
            and (ids is None or str(o["id"]) in ids)
        ]  # fmt: skip
        return self._paged(query, "orders", rows)

    def _paged(self, query: dict[str, list[str]], name: str, rows: list[Any]) -> Answer:
        limit, page = int(query.get("limit", ["20"])[0]), int(query.get("page", ["1"])[0])
        pages = (len(rows) + limit - 1) // limit
        pagination = {"limit": limit, "totalCount": len(rows), "currentPage": page,
                      "totalPageCount": pages}  # fmt: skip
        chunk = rows[(page - 1) * limit : page * limit]
        return 200, {"success": True, "pagination": pagination, name: chunk}

    def _edit(self, ident: str, body: bytes) -> Answer:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        order = self._find(urllib.parse.unquote(ident), form.get("by", "externalId"))
        if order is None:
            return 404, _failure("Not found")
        change = json.loads(form["order"])
        if "status" in change:
            order["status"] = change["status"]
            self._record(order, "status", {"code": change["status"]}, own=True)
        order["customFields"].update(change.get("customFields") or {})
        return 200, {"success": True, "id": order["id"], "order": order}


def _failure(message: str) -> dict[str, Any]:
    return {"success": False, "errorMsg": message}
