"""``crm check --conformance``: drives an HTTP/JSON CRM through the protocol of docs/crm.md
and lists every deviation with what was expected.

Steps, in this order (reads first, so the writes cannot disturb them):

1. **signature** — a status read of the test order signed as the dialer signs (lower-case
   hex) and in upper-case hex must be answered 2xx; one signed with another secret and one
   with a timestamp 10 minutes old must be refused with 401.
2. **pull** — the intake filter's orders in pages of ``PAGE_LIMIT``: each page 200 with
   ``orders`` (at most ``limit``, each order readable field by field, each matching the
   filter) and ``next_page`` = page + 1 or null; no order twice; oldest first; the same
   orders as one pull in pages of ``page_size``.
3. **status** — the test order: 200, ``id`` = the id asked for, ``status`` a text, the
   optional fields well typed.
4. **unknown order** — a status read of an id that cannot exist (Cyrillic, percent-encoded):
   404.
5. **outcome** — outcome A (``no_answer`` with the mapping's status and problem) on the test
   order: 2xx, not called a duplicate; the next status read shows A's status.
6. **idempotency** — outcome B (``callback`` as mapped, a new event id), then A again
   with its event id: 2xx, ideally ``{"duplicate": true}``; the status read must still show
   B's status (a CRM that applied A again shows A's).
7. **malformed** — an outcome whose body is not JSON, and one without its required fields:
   each a 4xx with ``{"error": "…"}`` (never 2xx, never 5xx).

What it writes: only the outcomes of steps 5–7, only to the order given with ``--order``
(a test order the CRM's owner set aside; the check never picks an order itself), and only
when step 3 could read that order (a mistyped id that the CRM does not know gets nothing
written); with the comment ``проверка протокола callback-dialer (тест)``. The test order
ends with outcome B's status. Event ids are ``<order id>:conformance-<random>-a`` / ``-b``,
so they never collide with the dialer's own ``<order id>:<number>`` keys.
"""

from __future__ import annotations

import json
import secrets
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from campaigns.outcomes import CrmFields, OutcomeKind
from crm_adapter.errors import CrmDataError, CrmError
from crm_adapter.http_json import (
    HttpJsonSettings,
    outcome_request,
    pull_url,
    status_url,
)
from crm_adapter.order_json import optional_instant, parse_order
from crm_adapter.port import IntakeFilter, OutcomeDelivery
from crm_adapter.signing import (
    EVENT_ID_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    header_text,
    signed_headers,
)
from crm_adapter.transport import HttpAnswer, HttpTransport, json_text

Clock = Callable[[], datetime]
Planned = tuple[OutcomeKind, CrmFields]  # an outcome kind and what the mapping writes for it
PAGE_LIMIT = 2
MAX_PAGES = 25
COMMENT = "проверка протокола callback-dialer (тест)"
_OK, _UNAUTHORIZED, _NOT_FOUND = 200, 401, 404
_CLIENT_MIN, _SERVER_MIN = 400, 500
_REFUSED = (401, 403)
_STALE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Finding:
    """One step's result: ``deviation`` false for what conforms (``seen`` says what), true
    for a deviation (``seen`` is what the CRM did, ``expected`` what the protocol wants)."""

    step: str
    seen: str
    expected: str = ""
    deviation: bool = False


class _Unreachable(Exception):
    """The CRM cannot be reached at all: the remaining steps cannot run."""


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    data: Any  # the JSON read, or _NOT_JSON
    text: str  # the body's start, for messages


_NOT_JSON = object()
_STOP = object()  # a page could not be read: the deviation is listed


class ConformanceCheck:
    """One run against the CRM of ``settings`` with the test order ``order_id``."""

    def __init__(
        self,
        settings: HttpJsonSettings,
        intake: IntakeFilter,
        *,
        order_id: str,
        outcomes: tuple[Planned, Planned],
        clock: Clock,
        transport: HttpTransport | None = None,
    ) -> None:
        if not order_id.strip():
            raise ValueError("--order: the test order id is empty")
        if not order_id.isprintable() or not _encodable(order_id):
            raise ValueError(f"--order: {order_id!r} is not printable UTF-8 text")
        if outcomes[0][1].status == outcomes[1][1].status:
            raise ValueError("the two outcome statuses must differ")
        self._settings = settings
        self._intake = intake
        self._order = order_id
        self._planned = {"a": outcomes[0], "b": outcomes[1]}
        self._status_a, self._status_b = (fields.status for _kind, fields in outcomes)
        self._clock = clock
        self._http = transport or HttpTransport(timeout_s=settings.timeout_s)
        self._run_id = secrets.token_hex(4)
        self._findings: list[Finding] = []
        self._order_read = False

    def run(self) -> list[Finding]:
        """Every step's findings, in order; an unreachable CRM ends the run with one."""
        reads = (self._signature, self._pull, self._status, self._unknown_order)
        writes = (self._outcome, self._idempotency, self._malformed)
        try:
            for step in reads:
                step()
            if not self._order_read:
                self._deviate(
                    "outcome",
                    f"not run: the test order {self._order} could not be read, so nothing "
                    "was written",
                    "a status read of the --order test order answered 200",
                )
                return list(self._findings)
            for step in writes:
                step()
        except _Unreachable as exc:
            self._deviate("connection", str(exc), "the CRM answers HTTP")
        return list(self._findings)

    # ---- steps -------------------------------------------------------------------------

    def _signature(self) -> None:
        step = "signature"
        url = status_url(self._settings.status_url, self._order)
        for case in ("lower", "upper"):
            answer = self._get(url, case=case)
            if answer.status not in _REFUSED:  # a 404 here is the status step's to name
                self._ok(step, f"the signature in {case}-case hex is accepted")
            else:
                self._deviate(
                    step,
                    f"a valid {case}-case hex signature got HTTP {answer.status} {answer.text}",
                    "2xx: compare the hex without regard to case (1C's "
                    "ПолучитьHexСтрокуИзДвоичныхДанных writes upper case, the dialer lower)",
                )
        for how, what in (("secret", "another secret"), ("stale", "a timestamp 10 min old")):
            answer = self._get(url, case=how)
            if answer.status == _UNAUTHORIZED:
                self._ok(step, f"a request signed with {what} is refused with 401")
            else:
                self._deviate(
                    step,
                    f"a request signed with {what} got HTTP {answer.status}",
                    "401: check X-Dialer-Signature over the raw body and refuse a "
                    "timestamp more than 300 s away",
                )

    def _pull(self) -> None:
        step = "pull"
        small = replace(self._intake, page_size=PAGE_LIMIT)
        paged = list(self._pages(step, small))
        if _STOP in paged:
            return
        ids = [order.id for order in paged if order is not None]
        seen: set[str] = set()
        for order_id in ids:
            if order_id in seen:
                self._deviate(
                    step,
                    f"order {order_id} came twice in pages of {PAGE_LIMIT}",
                    "each order once: page N holds orders (N-1)*limit+1 … N*limit",
                )
                return
            seen.add(order_id)
        created = [order.created_at for order in paged if order is not None]
        if created != sorted(created):
            self._deviate(
                step,
                "the orders are not oldest first",
                "ordered by created_at (then id), so pages stay stable while orders arrive",
            )
        if len(ids) >= MAX_PAGES * PAGE_LIMIT:
            self._ok(step, f"first {MAX_PAGES} pages of {PAGE_LIMIT} read (more not checked)")
            return
        whole = list(self._pages(step, self._intake))
        if _STOP in whole:
            return
        whole_ids = sorted(order.id for order in whole if order is not None)
        if whole_ids != sorted(ids):
            missing = sorted(set(whole_ids) - set(ids))[:5]
            extra = sorted(set(ids) - set(whole_ids))[:5]
            self._deviate(
                step,
                f"pages of {PAGE_LIMIT} hold other orders than pages of "
                f"{self._intake.page_size} (missing {missing}, extra {extra})",
                "the same orders whatever the limit: honour page and limit",
            )
            return
        pages = -(-len(ids) // PAGE_LIMIT) or 1
        self._ok(step, f"{len(ids)} waiting order(s) in {pages} page(s) of {PAGE_LIMIT}")
        if len(ids) <= PAGE_LIMIT:
            self._ok(
                step,
                f"note: paging was exercised only if more than {PAGE_LIMIT} orders wait "
                "(seed a few test orders to exercise it)",
            )

    def _pages(self, step: str, intake: IntakeFilter) -> Iterator[Any]:
        """The orders of every page (parsed; None for one that is not readable), and
        ``_STOP`` last when a page could not be read."""
        page = 1
        for _ in range(MAX_PAGES):
            answer = self._get(pull_url(self._settings.pull_url, intake, page))
            where = f"page {page} (limit {intake.page_size})"
            data = answer.data
            if answer.status != _OK or not isinstance(data, dict):
                self._deviate(
                    step,
                    f"{where}: HTTP {answer.status} {answer.text}",
                    '200 with a JSON object {"orders": [...], "next_page": N+1 or null}',
                )
                yield _STOP
                return
            orders = data.get("orders")
            if not isinstance(orders, list):
                self._deviate(step, f"{where}: 'orders' is {_kind(orders)}", "a list")
                yield _STOP
                return
            if len(orders) > intake.page_size:
                self._deviate(
                    step,
                    f"{where}: {len(orders)} orders",
                    f"at most limit={intake.page_size} per page",
                )
            for index, item in enumerate(orders):
                yield self._order_of(step, item, f"{where} orders[{index}]", intake)
            following = data.get("next_page", _NOT_JSON)
            if following is None:
                return
            if (
                not isinstance(following, int)
                or isinstance(following, bool)
                or following != page + 1
            ):
                shown = "absent" if following is _NOT_JSON else json.dumps(following)
                self._deviate(
                    step, f"{where}: next_page is {shown}", f"{page + 1} or null on the last page"
                )
                yield _STOP
                return
            page = following
        self._ok(step, f"stopped after {MAX_PAGES} pages")

    def _order_of(self, step: str, item: Any, where: str, intake: IntakeFilter) -> Any:
        try:
            order = parse_order(item, where)
        except CrmDataError as exc:
            self._deviate(step, str(exc), "every order as in order.json (docs/crm.md)")
            return None
        if not intake.admits(order):
            self._deviate(
                step,
                f"{where}: order {order.id} (status {order.status!r}, state {order.state!r}, "
                f"source {order.source!r}) does not match the filter",
                "only orders of the query's status, state and not of exclude_source "
                "(the dialer filters again, but pages are wasted)",
            )
        return order

    def _status(self) -> None:
        step = "status"
        answer = self._get(status_url(self._settings.status_url, self._order))
        data = answer.data
        if answer.status != _OK or not isinstance(data, dict):
            self._deviate(
                step,
                f"order {self._order}: HTTP {answer.status} {answer.text}",
                "200 with the order as a JSON object (status-answer.json)",
            )
            return
        self._order_read = True
        problems = _status_problems(data, self._order)
        for problem in problems:
            self._deviate(step, f"order {self._order}: {problem[0]}", problem[1])
        if not problems:
            self._ok(step, f"order {self._order} reads as status {data['status']!r}")

    def _unknown_order(self) -> None:
        step = "unknown order"
        ghost = f"НФ-conformance-{self._run_id}"
        answer = self._get(status_url(self._settings.status_url, ghost))
        if answer.status == _NOT_FOUND:
            self._ok(step, f"order {ghost} is 404")
        else:
            self._deviate(
                step,
                f"order {ghost} (no such order) got HTTP {answer.status} {answer.text}",
                "404 for an order the CRM does not have (the dialer then drops it)",
            )

    def _outcome(self) -> None:
        step = "outcome"
        answer = self._post_outcome(self._delivery("a"))
        if not self._acknowledged(step, answer, "outcome A"):
            return
        if isinstance(answer.data, dict) and answer.data.get("duplicate") is True:
            self._deviate(
                step,
                "outcome A (a new event id) was answered as a duplicate",
                'a first delivery is applied; {"duplicate": true} only for an event id seen',
            )
            return
        self._ok(step, f"outcome A (status {self._status_a!r}) acknowledged")
        self._status_shows(step, self._status_a, "after outcome A")

    def _idempotency(self) -> None:
        step = "idempotency"
        first = self._delivery("a")
        second = self._delivery("b")
        if not self._acknowledged(step, self._post_outcome(second), "outcome B"):
            return
        again = self._post_outcome(first)
        if not self._acknowledged(step, again, "outcome A sent again (same event id)"):
            return
        if isinstance(again.data, dict) and again.data.get("duplicate") is True:
            self._ok(step, 'outcome A again: 2xx {"duplicate": true}')
        else:
            self._ok(step, 'outcome A again: 2xx (saying {"duplicate": true} is recommended)')
        self._status_shows(
            step, self._status_b, "after outcome B and a repeat of A (a repeat is not applied)"
        )

    def _malformed(self) -> None:
        step = "malformed"
        key = f"{self._order}:conformance-{self._run_id}-m"
        partial = json.dumps({"event_id": key, "order_id": self._order}, ensure_ascii=False)
        for what, body in (
            ("an outcome body that is not JSON", b'{"event_id": '),
            ("an outcome without status, outcome, call_made, at", partial.encode()),
        ):
            answer = self._post(body, key)
            data = answer.data
            if not _CLIENT_MIN <= answer.status < _SERVER_MIN:
                self._deviate(
                    step,
                    f"{what} got HTTP {answer.status} {answer.text}",
                    '4xx with {"error": "<what is wrong>"}: never applied, never a 5xx',
                )
            elif not isinstance(data, dict) or not isinstance(data.get("error"), str):
                self._deviate(
                    step,
                    f"{what} got HTTP {answer.status} without an error text: {answer.text}",
                    '{"error": "<what is wrong>"} as the body of the 4xx',
                )
            else:
                self._ok(step, f"{what}: HTTP {answer.status} {data['error'][:80]!r}")

    # ---- helpers -----------------------------------------------------------------------

    def _delivery(self, which: str) -> OutcomeDelivery:
        at = self._clock()
        kind, fields = self._planned[which]
        return OutcomeDelivery(
            key=f"{self._order}:conformance-{self._run_id}-{which}",
            order_id=self._order,
            kind=kind.value,
            status=fields.status,
            problem=fields.problem,
            call_made=True,
            callback_at=at + timedelta(days=1) if which == "b" else None,
            comment=f"{at:%d.%m} - {COMMENT}",
            attempt_no=1,
            at=at,
        )

    def _acknowledged(self, step: str, answer: _Answer, what: str) -> bool:
        if _OK <= answer.status < _CLIENT_MIN:
            return True
        self._deviate(
            step,
            f"{what} got HTTP {answer.status} {answer.text}",
            "2xx: a first delivery is applied, a repeated event id acknowledged "
            "(a 4xx makes the outbox retry it for 3 days, then hold the order's later outcomes)",
        )
        return False

    def _status_shows(self, step: str, expected: str, when: str) -> None:
        answer = self._get(status_url(self._settings.status_url, self._order))
        data = answer.data
        got = data.get("status") if isinstance(data, dict) else None
        if answer.status == _OK and got == expected:
            self._ok(step, f"status read {when}: {expected!r}")
        else:
            shown = repr(got) if answer.status == _OK else f"HTTP {answer.status}"
            self._deviate(step, f"status read {when} shows {shown}", f"{expected!r}")

    def _get(self, url: str, *, case: str = "lower") -> _Answer:
        now = self._clock()
        secret = self._settings.secret
        if case == "secret":
            secret = secret[::-1] + b"-not-the-secret"
        if case == "stale":
            now -= _STALE
        headers = signed_headers(secret, now, b"", "")
        del headers[EVENT_ID_HEADER]  # reads are not events
        if case == "upper":
            prefix, _, hexpart = headers[SIGNATURE_HEADER].partition("=")
            headers[SIGNATURE_HEADER] = f"{prefix}={hexpart.upper()}"
        return self._send("GET", url, headers, None)

    def _post_outcome(self, delivery: OutcomeDelivery) -> _Answer:
        body, headers = outcome_request(self._settings.secret, self._clock(), delivery)
        return self._send("POST", self._settings.outcome_url, headers, body)

    def _post(self, body: bytes, key: str) -> _Answer:
        headers = signed_headers(self._settings.secret, self._clock(), body, key)
        headers |= {IDEMPOTENCY_HEADER: header_text(key), "Content-Type": "application/json"}
        return self._send("POST", self._settings.outcome_url, headers, body)

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> _Answer:
        try:
            answer = self._http.request(method, url, headers=headers, body=body)
        except CrmError as exc:
            raise _Unreachable(f"{method} {urllib.parse.urlsplit(url).path}: {exc}") from exc
        return _read(answer)

    def _ok(self, step: str, seen: str) -> None:
        self._findings.append(Finding(step, seen))

    def _deviate(self, step: str, seen: str, expected: str) -> None:
        self._findings.append(Finding(step, seen, expected, deviation=True))


def _read(answer: HttpAnswer) -> _Answer:
    text = answer.body[:160].decode("utf-8", "replace").strip()
    try:
        data: Any = json.loads(json_text(answer.body)) if answer.body.strip() else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        data = _NOT_JSON
    return _Answer(answer.status, data, text)


def _status_problems(data: Mapping[str, Any], order_id: str) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    given = data.get("id")
    if isinstance(given, bool) or str(given) != order_id:
        problems.append((f"id is {json.dumps(given, ensure_ascii=False)}", f"{order_id!r}"))
    if not isinstance(data.get("status"), str) or not data["status"]:
        problems.append(("status is missing or not a text", "the order's status as text"))
    for name in ("state", "source"):
        if data.get(name) is not None and not isinstance(data[name], str):
            problems.append((f"{name} is {_kind(data[name])}", "a text or null"))
    if "prepaid" in data and not isinstance(data["prepaid"], bool):
        problems.append((f"prepaid is {_kind(data['prepaid'])}", "true or false"))
    try:
        optional_instant(dict(data), "callback_at", f"order {order_id}")
    except CrmDataError as exc:
        problems.append((str(exc), "ISO 8601 with the UTC offset, or null"))
    return problems


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (argv bytes that are not UTF-8)
        return False
    return True


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a text"}.get(
        type(value), "a list" if isinstance(value, list) else "an object"
    )


def planned_outcomes(mapping: Mapping[OutcomeKind, CrmFields]) -> tuple[Planned, Planned]:
    """Outcome A and B as the configured mapping writes them: the no-answer, and the
    callback — or, when its status is the same, the first other outcome whose status
    differs. ValueError when the mapping has one status only."""
    first = (OutcomeKind.NO_ANSWER, mapping[OutcomeKind.NO_ANSWER])
    for kind in (OutcomeKind.CALLBACK, *mapping):
        fields = mapping.get(kind)
        if fields is not None and fields.status != first[1].status:
            return first, (kind, fields)
    raise ValueError("[crm.mapping] has a single status: the check needs two")
