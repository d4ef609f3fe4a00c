"""`callback-dialer crm check --conformance --order ID` (issue 17 §3): the HTTP CRM double
conforms (exit 0, only the test order written to); each deliberately wrong double is caught
with the deviation named and what was expected (exit 1)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from crm_servers import SECRET, HttpJsonCrm

from dialer.cli import main

TEST_ORDER = "НФ-00123"
Answer = tuple[int, dict[str, str], Any]


def order(order_id: str, minute: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": order_id, "phone": "+7 916 123-45-67", "name": "Татьяна",
        "product": "Перуанская мака", "created_at": f"2026-03-10T11:{minute:02d}:00+03:00",
        "status": "Ожидает подтверждения", "state": "Новый", "source": "site",
    } | changes  # fmt: skip


def seeded(crm: HttpJsonCrm) -> HttpJsonCrm:
    """Five waiting orders (three pages of two) with 1C numbers, the test order one of them,
    and orders the filter leaves out."""
    for n in range(1, 5):
        crm.orders[f"НФ-0000{n}"] = order(f"НФ-0000{n}", n)
    crm.orders[TEST_ORDER] = order(TEST_ORDER, 30)
    crm.orders["НФ-K"] = order("НФ-K", 7, source="Kaspi")
    crm.orders["НФ-X"] = order("НФ-X", 8, status="Отменён")
    return crm


def config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "dialer.toml"
    path.write_text(
        f'[crm]\nkind = "http"\npage_size = 100\n[crm.http]\npull_url = "{url}/orders"\n'
        f'status_url = "{url}/orders/{{id}}"\noutcome_url = "{url}/outcomes"\n'
        'secret_env = "TEST_CRM_SECRET"\n',
        encoding="utf-8",
    )
    return path


def run(crm: HttpJsonCrm, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = config(tmp_path, crm.server.url)
    code = main(["crm", "check", "--config", str(path), "--conformance", "--order", TEST_ORDER])
    return code, capsys.readouterr().out


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CRM_SECRET", SECRET.decode())


def test_the_http_crm_double_conforms_and_only_the_test_order_is_written(
    http_crm: HttpJsonCrm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(http_crm)
    code, out = run(http_crm, tmp_path, capsys)
    assert code == 0, out
    assert "DEVIATION" not in out
    assert "ok         pull: 5 waiting order(s) in 3 page(s) of 2" in out
    assert "ok         unknown order: order НФ-conformance-" in out
    assert 'ok         idempotency: outcome A again: 2xx {"duplicate": true}' in out
    assert out.rstrip().endswith(
        f"conformant: the CRM follows the protocol (test order {TEST_ORDER})"
    )
    assert {a["order_id"] for a in http_crm.applied} == {TEST_ORDER}
    assert [a["outcome"] for a in http_crm.applied] == ["no_answer", "callback"]
    assert http_crm.applied[0]["problem"] == "Не отвечает"
    assert all(
        "проверка протокола callback-dialer (тест)" in a["comment"] for a in http_crm.applied
    )
    assert http_crm.duplicates == 1
    assert http_crm.orders[TEST_ORDER]["status"] == "В работе"  # outcome B's status
    untouched = {k: v["status"] for k, v in http_crm.orders.items() if k != TEST_ORDER}
    assert set(untouched.values()) == {"Ожидает подтверждения", "Отменён"}


def test_conformance_needs_a_test_order_and_an_http_crm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, "http://127.0.0.1:9")
    bad_id = ["--conformance", "--order", "НФ-\udcff"]  # argv bytes that are not UTF-8
    for args in (["--conformance"], ["--conformance", "--order", " "], ["--order", "1"], bad_id):
        with pytest.raises(SystemExit) as exit_:
            main(["crm", "check", "--config", str(path), *args])
        assert exit_.value.code == 2
    assert "--order ID" in capsys.readouterr().err
    demo = tmp_path / "sql.toml"
    demo.write_text('[crm]\nkind = "sql"\n[crm.sql]\nurl = "sqlite:///shop.db"\n'
                    'table = "orders"\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        main(["crm", "check", "--config", str(demo), "--conformance", "--order", "1"])
    assert exit_.value.code == 2
    assert "checks an HTTP/JSON CRM" in capsys.readouterr().err


def test_nothing_is_written_when_the_test_order_cannot_be_read(
    http_crm: HttpJsonCrm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(http_crm)
    del http_crm.orders[TEST_ORDER]  # a mistyped --order
    code, out = run(http_crm, tmp_path, capsys)
    assert code == 1
    assert f"DEVIATION  outcome: not run: the test order {TEST_ORDER} could not be read" in out
    assert not [m for m, *_ in http_crm.server.requests if m == "POST"]


def test_an_unreachable_crm_is_one_deviation_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crm = HttpJsonCrm(SECRET)
    crm.server.start()
    crm.server.stop()  # the port is now refused
    code, out = run(crm, tmp_path, capsys)
    assert code == 1
    assert "DEVIATION  connection:" in out and "1 deviation(s)" in out


# ---- deliberately wrong CRMs ---------------------------------------------------------------


class IgnoresPage(HttpJsonCrm):
    def _page(self, query: dict[str, list[str]]) -> Answer:
        page = int(query["page"][0])
        status, extra, data = super()._page(query | {"page": ["1"]})
        return status, extra, data | {"next_page": page + 1 if page < 4 else None}


class HtmlPull(HttpJsonCrm):
    """A web server's error page instead of the HTTP service's JSON."""

    def _page(self, query: dict[str, list[str]]) -> Answer:
        return 200, {}, "<html><body>Ошибка при вызове метода контекста</body></html>"


class FloatNextPage(HttpJsonCrm):
    def _page(self, query: dict[str, list[str]]) -> Answer:
        status, extra, data = super()._page(query)
        following = data["next_page"]
        return status, extra, data | {"next_page": None if following is None else following + 0.0}


class IgnoresLimit(HttpJsonCrm):
    def _page(self, query: dict[str, list[str]]) -> Answer:
        return super()._page(query | {"limit": ["100"]})


class SkipsAPage(HttpJsonCrm):
    def _page(self, query: dict[str, list[str]]) -> Answer:
        status, extra, data = super()._page(query)
        following = data["next_page"]
        return status, extra, data | {"next_page": None if following is None else following + 1}


class NewestFirst(HttpJsonCrm):
    def _page(self, query: dict[str, list[str]]) -> Answer:
        page, limit = int(query["page"][0]), int(query["limit"][0])
        rows = sorted(
            (o for o in self.orders.values() if o["status"] in query["status"]
             and o.get("source") not in query.get("exclude_source", [])),
            key=lambda o: o["created_at"], reverse=True,
        )  # fmt: skip
        following = page + 1 if page * limit < len(rows) else None
        return 200, {}, {"orders": rows[(page - 1) * limit : page * limit], "next_page": following}


class IgnoresFilter(HttpJsonCrm):
    def _page(self, query: dict[str, list[str]]) -> Answer:
        everything = list(self.orders.values())
        return super()._page(query | {"status": sorted({o["status"] for o in everything})})


class MissingField(HttpJsonCrm):
    def _page(self, query: dict[str, list[str]]) -> Answer:
        status, extra, data = super()._page(query)
        orders = [{k: v for k, v in o.items() if k != "product"} for o in data["orders"]]
        return status, extra, data | {"orders": orders}


class NoOffset(HttpJsonCrm):
    def _page(self, query: dict[str, list[str]]) -> Answer:
        status, extra, data = super()._page(query)
        orders = [o | {"created_at": o["created_at"][:19]} for o in data["orders"]]
        return status, extra, data | {"orders": orders}


class CaseSensitive(HttpJsonCrm):
    """Compares its own hex with ``==``: ``upper`` as 1C computes it, or lower case."""

    upper = True

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        stamp = headers.get("x-dialer-timestamp", "")
        digest = hmac.new(self.secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        mine = "sha256=" + (digest.upper() if self.upper else digest)
        if headers.get("x-dialer-signature") != mine:
            return 401, {}, {"error": "bad signature"}
        return super()._handle(method, path, headers, body)


class CaseSensitiveLower(CaseSensitive):
    upper = False


class ChecksNoSignature(HttpJsonCrm):
    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        good = self._good_headers(headers, body)
        return super()._handle(method, path, good, body)

    def _good_headers(self, headers: dict[str, str], body: bytes) -> dict[str, str]:
        from datetime import UTC, datetime  # noqa: PLC0415

        from crm_adapter.signing import signed_headers  # noqa: PLC0415

        fresh = signed_headers(self.secret, datetime.now(UTC), body, "x")
        return headers | {k.lower(): v for k, v in fresh.items() if k != "X-Dialer-Event-Id"}


class UnknownIs200(HttpJsonCrm):
    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        status, extra, data = super()._handle(method, path, headers, body)
        return (200, extra, {}) if status == 404 else (status, extra, data)


class StatusWrongId(HttpJsonCrm):
    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        status, extra, data = super()._handle(method, path, headers, body)
        if method == "GET" and not path.startswith("/orders?") and status == 200:
            return status, extra, data | {"id": 4711, "prepaid": "нет"}
        return status, extra, data


class NonIdempotent(HttpJsonCrm):
    def _outcome(self, event_id: str, headers: dict[str, str], body: bytes) -> Answer:
        self.keys.clear()  # forgets every key: a repeat is applied again
        return super()._outcome(event_id, headers, body)


class RefusesRepeat(HttpJsonCrm):
    def _outcome(self, event_id: str, headers: dict[str, str], body: bytes) -> Answer:
        if event_id in self.keys:
            return 409, {}, {"error": "already applied"}
        return super()._outcome(event_id, headers, body)


class TakesAnything(HttpJsonCrm):
    def _outcome(self, event_id: str, headers: dict[str, str], body: bytes) -> Answer:
        try:
            data = json.loads(body)
        except ValueError:
            return 200, {}, {"ok": True}
        if "status" not in data:
            raise KeyError("status")  # the server drops the connection: no answer at all
        return super()._outcome(event_id, headers, body)


class CrashesOnMalformed(HttpJsonCrm):
    def _outcome(self, event_id: str, headers: dict[str, str], body: bytes) -> Answer:
        status, extra, data = super()._outcome(event_id, headers, body)
        return (
            (500, extra, {"error": "Ошибка при вызове метода"})
            if status == 400
            else (
                status,
                extra,
                data,
            )
        )


class NoErrorText(HttpJsonCrm):
    def _outcome(self, event_id: str, headers: dict[str, str], body: bytes) -> Answer:
        status, extra, data = super()._outcome(event_id, headers, body)
        return (status, extra, []) if status == 400 else (status, extra, data)


WRONG = [
    (IgnoresPage, "pull", "came twice in pages of 2", "each order once"),
    (HtmlPull, "pull", "page 1 (limit 2): HTTP 200", "200 with a JSON object"),
    (FloatNextPage, "pull", "page 1 (limit 2): next_page is 2.0", "2 or null"),
    (IgnoresLimit, "pull", "page 1 (limit 2): 5 orders", "at most limit=2 per page"),
    (SkipsAPage, "pull", "page 1 (limit 2): next_page is 3", "2 or null on the last page"),
    (NewestFirst, "pull", "the orders are not oldest first", "ordered by created_at"),
    (IgnoresFilter, "pull", "order НФ-X (status 'Отменён'", "only orders of the query's status"),
    (MissingField, "pull", "page 1 (limit 2) orders[0].product: required", "order.json"),
    (NoOffset, "pull", "created_at: '2026-03-10T11:01:00' needs a UTC offset", "order.json"),
    (CaseSensitive, "signature", "a valid lower-case hex signature got HTTP 401",
     "compare the hex without regard to case"),
    (CaseSensitiveLower, "signature", "a valid upper-case hex signature got HTTP 401",
     "compare the hex without regard to case"),
    (ChecksNoSignature, "signature", "signed with another secret got HTTP 200", "401"),
    (UnknownIs200, "unknown order", "(no such order) got HTTP 200", "404 for an order"),
    (StatusWrongId, "status", "order НФ-00123: id is 4711", "'НФ-00123'"),
    (StatusWrongId, "status", "order НФ-00123: prepaid is a text", "true or false"),
    (NonIdempotent, "idempotency", "(a repeat is not applied) shows 'Недозвон'", "'В работе'"),
    (RefusesRepeat, "idempotency", "outcome A sent again (same event id) got HTTP 409",
     "a repeated event id acknowledged"),
    (TakesAnything, "malformed", "an outcome body that is not JSON got HTTP 200",
     "4xx with {\"error\""),
    (CrashesOnMalformed, "malformed", "an outcome without status, outcome, call_made, at got "
     "HTTP 500", "never a 5xx"),
    (NoErrorText, "malformed", "got HTTP 400 without an error text", "{\"error\""),
]  # fmt: skip


@pytest.mark.parametrize("wrong", WRONG, ids=[f"{w[0].__name__}-{w[1]}" for w in WRONG])
def test_each_deviation_of_a_wrong_crm_is_named_with_what_was_expected(
    wrong: tuple[type[HttpJsonCrm], str, str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    double, step, seen, expected = wrong
    crm = seeded(double(SECRET))
    crm.server.start()
    try:
        code, out = run(crm, tmp_path, capsys)
    finally:
        crm.server.stop()
    assert code == 1, out
    lines = out.splitlines()
    found = [
        (line, lines[i + 1])
        for i, line in enumerate(lines)
        if line.startswith(f"DEVIATION  {step}: ") and seen in line
    ]
    assert found, out
    assert expected in found[0][1] and found[0][1].lstrip().startswith("expected: "), out
    assert {a["order_id"] for a in crm.applied} <= {TEST_ORDER}


def test_the_outcomes_written_are_the_mappings_own() -> None:
    from campaigns.outcomes import DEFAULT_CRM_MAPPING, CrmFields, OutcomeKind  # noqa: PLC0415
    from crm_adapter.conformance import planned_outcomes  # noqa: PLC0415

    (kind_a, a), (kind_b, b) = planned_outcomes(DEFAULT_CRM_MAPPING)
    assert (kind_a, a.status, a.problem) == (OutcomeKind.NO_ANSWER, "Недозвон", "Не отвечает")
    assert (kind_b, b.status) == (OutcomeKind.CALLBACK, "В работе")
    same = dict(DEFAULT_CRM_MAPPING) | {OutcomeKind.CALLBACK: CrmFields("Недозвон", None)}
    assert planned_outcomes(same)[1][1].status == "В буфер"  # the first other status
    single = {kind: CrmFields("Недозвон", None) for kind in DEFAULT_CRM_MAPPING}
    with pytest.raises(ValueError, match="single status"):
        planned_outcomes(single)
