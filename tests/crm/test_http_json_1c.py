"""Issue 17 §3: what a 1C implementation sends is taken — upper-case hex signatures, a UTF-8
byte-order mark in any JSON body, several statuses in one pull — and a refusal for good ends
the outbox row as dead with the CRM's own reason."""

from __future__ import annotations

import json
import random
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from crm_backends import HttpBackend
from crm_servers import SECRET, HttpJsonCrm
from outbox_rows import add_outcome, outbox
from sqlalchemy import Engine

from campaigns.orders import Order
from crm_adapter.errors import FinalRejectionError
from crm_adapter.http_json import IntakeHandler
from crm_adapter.port import IntakeFilter
from crm_adapter.signing import SeenEvents, signed_headers
from dialer.delivery.outbox import OutboxWorker
from dialer.storage.migrate import open_database
from dialer.storage.outbox import SqlOutboxStore

BOM = b"\xef\xbb\xbf"
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ORDER = {
    "id": "НФ-00123", "phone": "+7 916 123-45-67", "name": "Татьяна",
    "product": "Перуанская мака", "created_at": "2026-03-10T11:50:00+03:00",
    "status": "Ожидает подтверждения", "state": "Новый", "source": "site",
}  # fmt: skip


def upper_signed(body: bytes, event: str) -> dict[str, str]:
    """Headers as 1C writes them: ПолучитьHexСтрокуИзДвоичныхДанных gives upper case."""
    headers = signed_headers(SECRET, NOW, body, event)
    prefix, _, hexpart = headers["X-Dialer-Signature"].partition("=")
    return headers | {
        "X-Dialer-Signature": f"{prefix}={hexpart.upper()}",
        "Content-Type": "application/json; charset=utf-8",
    }


def test_a_push_with_a_bom_and_an_upper_case_signature_is_taken() -> None:
    body = BOM + json.dumps({"orders": [ORDER]}, ensure_ascii=False).encode()
    (order,) = IntakeHandler(SECRET, SeenEvents()).handle(body, upper_signed(body, "НФ-1"), NOW)
    assert (order.id, order.name) == ("НФ-00123", "Татьяна")


def test_a_push_signed_over_the_body_without_its_bom_is_refused() -> None:
    """The signature covers the bytes sent: a BOM added after signing is a different body."""
    plain = json.dumps({"orders": [ORDER]}, ensure_ascii=False).encode()
    with pytest.raises(Exception, match="does not match"):
        IntakeHandler(SECRET, SeenEvents()).handle(BOM + plain, upper_signed(plain, "e"), NOW)


def test_pull_status_read_and_outcome_answers_with_a_bom_are_read(http_crm: HttpJsonCrm) -> None:
    from test_crm_contract import delivery  # noqa: PLC0415

    http_crm.server.bom = True
    http_crm.orders["НФ-00123"] = dict(ORDER)
    adapter = HttpBackend(http_crm, SECRET).adapter
    intake = IntakeFilter(statuses=("Ожидает подтверждения",), states=("Новый",))
    assert [o.id for o in adapter.fetch_waiting(intake)] == ["НФ-00123"]
    assert adapter.read_status("НФ-00123").status == "Ожидает подтверждения"
    first = delivery("НФ-00123", "НФ-00123:17")
    assert adapter.write_outcome(first) is True
    assert adapter.write_outcome(first) is False  # {"duplicate": true} after a BOM
    http_crm.final.add("НФ-7")
    http_crm.orders["НФ-7"] = ORDER | {"id": "НФ-7"}
    with pytest.raises(FinalRejectionError, match="заказ НФ-7 в архиве"):
        adapter.write_outcome(delivery("НФ-7", "НФ-7:1"))


def test_several_statuses_stay_several_in_the_pull_query(http_crm: HttpJsonCrm) -> None:
    statuses = ("Ожидает подтверждения", "Повторный звонок, вечер", "A&B=C+D")
    for n, status in enumerate(statuses):
        http_crm.orders[f"НФ-{n}"] = ORDER | {"id": f"НФ-{n}", "status": status}
    http_crm.orders["НФ-9"] = ORDER | {"id": "НФ-9", "status": "Отменён"}
    adapter = HttpBackend(http_crm, SECRET).adapter
    intake = IntakeFilter(statuses=statuses, states=("Новый",), excluded_sources=("Kaspi",))
    assert sorted(o.id for o in adapter.fetch_waiting(intake)) == ["НФ-0", "НФ-1", "НФ-2"]
    (path,) = [p for m, p, _h, _b in http_crm.server.requests if m == "GET"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    assert query["status"] == list(statuses)  # repeated, each whole
    assert json.loads(query["filter"][0]) == {
        "status": list(statuses), "state": ["Новый"], "exclude_source": ["Kaspi"],
    }  # fmt: skip


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'dialer.db'}")
    yield engine
    engine.dispose()


def test_a_final_4xx_ends_the_outbox_row_as_dead_with_the_crms_reason(
    http_crm: HttpJsonCrm, engine: Engine
) -> None:
    """docs/crm.md «Refusing an outcome for good»: 4xx + {"final": true, "error": …}."""
    http_crm.orders["НФ-00123"] = dict(ORDER)
    http_crm.orders["НФ-00124"] = ORDER | {"id": "НФ-00124"}
    http_crm.final.add("НФ-00123")
    dead_id = add_outcome(engine, "НФ-00123", NOW)
    add_outcome(engine, "НФ-00124", NOW)
    adapter = HttpBackend(http_crm, SECRET).adapter
    worker = OutboxWorker(SqlOutboxStore(engine), adapter, rng=random.Random(1))
    assert worker.deliver_due(NOW) == 1
    rows = {row.id: row for row in outbox(engine)}
    dead = rows[dead_id]
    assert dead.dead and dead.tries == 1
    assert dead.last_error == (
        f"permanent: FinalRejectionError: outcome НФ-00123:{dead_id}: HTTP 422 (final) "
        "заказ НФ-00123 в архиве: результат не принимается"
    )
    assert [a["order_id"] for a in http_crm.applied] == ["НФ-00124"]
    assert worker.dead_counts() == {"permanent": 1, "expired": 0}


def test_order_is_unchanged_by_reading_with_a_bom() -> None:
    """The same order with and without a BOM in front of the push parses the same."""
    plain = json.dumps({"orders": [ORDER]}, ensure_ascii=False).encode()
    handler = IntakeHandler(SECRET, SeenEvents())
    with_bom = handler.handle(BOM + plain, upper_signed(BOM + plain, "a"), NOW)
    without = handler.handle(plain, upper_signed(plain, "b"), NOW)
    assert with_bom == without and isinstance(with_bom[0], Order)


def sketch_hmac_sha256(key: bytes, message: bytes) -> bytes:
    """docs/crm.md's 1C sketch step by step: a 64-byte zero block holding the key, XOR 0x36
    and 0x5C byte by byte, two SHA-256 hashes each fed two parts (Хеш.Добавить twice)."""
    import hashlib  # noqa: PLC0415

    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    inner, outer = bytes(b ^ 54 for b in block), bytes(b ^ 92 for b in block)
    first = hashlib.sha256(inner)
    first.update(message)
    second = hashlib.sha256(outer)
    second.update(first.digest())
    return second.digest()


def test_the_docs_1c_hmac_sketch_gives_the_worked_example_and_the_dialer_takes_its_hex() -> None:
    """ПолучитьHexСтрокуИзДвоичныхДанных gives upper case: the dialer takes it as it is."""
    digest = sketch_hmac_sha256(b"0123456789abcdef", b'1767225600.{"orders":[]}')
    upper = "sha256=" + digest.hex().upper()
    assert upper == "sha256=24FB97AAC020E00D059AF1BA5E6F01907A1B577EC4D2BD2144B8640F5DC5C2E6"
    long_key = "секрет-длиннее-64-байт-".encode() * 4
    body = json.dumps({"orders": [ORDER]}, ensure_ascii=False).encode()
    stamp = int(NOW.timestamp())
    sketch = sketch_hmac_sha256(long_key, f"{stamp}.".encode() + body).hex().upper()
    headers = {
        "X-Dialer-Timestamp": str(stamp), "X-Dialer-Signature": f"sha256={sketch}",
        "X-Dialer-Event-Id": "%D0%9D%D0%A4-1", "Content-Type": "application/json",
    }  # fmt: skip
    (order,) = IntakeHandler(long_key, SeenEvents()).handle(body, headers, NOW)
    assert order.id == "НФ-00123"
