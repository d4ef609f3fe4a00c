"""One harness per adapter for the contract tests: seed orders, change them, read effects."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pytz
from crm_servers import HttpJsonCrm, RetailCrmDouble
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    update,
)

from campaigns.orders import Order
from crm_adapter.card_fields import item_json
from crm_adapter.fake import InMemoryCrm
from crm_adapter.http_json import HttpJsonAdapter, HttpJsonSettings
from crm_adapter.order_json import order_json
from crm_adapter.port import CrmAdapter
from crm_adapter.retailcrm import CustomFields, RetailCrmAdapter, RetailCrmSettings
from crm_adapter.retailcrm_limits import RateLimiter
from crm_adapter.sql import (
    OrderColumns,
    OutcomeColumns,
    OutcomeTable,
    SqlCrmAdapter,
    SqlCrmSettings,
)

MSK = pytz.timezone("Europe/Moscow")


@dataclass(frozen=True)
class Shown:
    """What the CRM shows for an order after the dialer wrote to it."""

    status: str
    problem: str | None
    comment: str
    call_made: bool
    callback_at: datetime | None


class Backend(Protocol):
    adapter: CrmAdapter

    def seed(self, orders: Sequence[Order]) -> None: ...
    def set_status(self, order_id: str, status: str, state: str | None = None) -> None: ...
    def set_callback(self, order_id: str, at: datetime | None) -> None: ...
    def shown(self, order_id: str) -> Shown: ...
    def effects(self, order_id: str) -> int | None: ...


class FakeClock:
    """Monotonic seconds that ``sleep`` advances; records the sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeBackend:
    def __init__(self) -> None:
        self.crm = InMemoryCrm()
        self.adapter: CrmAdapter = self.crm

    def seed(self, orders: Sequence[Order]) -> None:
        for order in orders:
            self.crm.put(order)

    def set_status(self, order_id: str, status: str, state: str | None = None) -> None:
        self.crm.set_status(order_id, status, state)

    def set_callback(self, order_id: str, at: datetime | None) -> None:
        self.crm.set_callback(order_id, at)

    def shown(self, order_id: str) -> Shown:
        last = [d for d in self.crm.applied if d.order_id == order_id][-1]
        return Shown(last.status, last.problem, last.comment, last.call_made, last.callback_at)

    def effects(self, order_id: str) -> int | None:
        return sum(1 for d in self.crm.applied if d.order_id == order_id)


class HttpBackend:
    def __init__(self, crm: HttpJsonCrm, secret: bytes) -> None:
        self.crm = crm
        url = crm.server.url
        settings = HttpJsonSettings(
            pull_url=f"{url}/orders",
            status_url=f"{url}/orders/{{id}}",
            outcome_url=f"{url}/outcomes",
            secret=secret,
            timeout_s=5,
        )
        self.adapter: CrmAdapter = HttpJsonAdapter(settings, clock=lambda: datetime.now(UTC))

    def seed(self, orders: Sequence[Order]) -> None:
        for order in orders:
            self.crm.orders[order.id] = order_json(order)

    def set_status(self, order_id: str, status: str, state: str | None = None) -> None:
        self.crm.orders[order_id]["status"] = status
        if state is not None:
            self.crm.orders[order_id]["state"] = state

    def set_callback(self, order_id: str, at: datetime | None) -> None:
        self.crm.orders[order_id]["callback_at"] = None if at is None else at.isoformat()

    def shown(self, order_id: str) -> Shown:
        last = [a for a in self.crm.applied if a["order_id"] == order_id][-1]
        callback = last["callback_at"]
        return Shown(
            last["status"], last["problem"], last["comment"], last["call_made"],
            None if callback is None else datetime.fromisoformat(callback),
        )  # fmt: skip

    def effects(self, order_id: str) -> int | None:
        return sum(1 for a in self.crm.applied if a["order_id"] == order_id)


def retail_order(order: Order, number: int, site: str = "shop") -> dict[str, Any]:
    """The order as RetailCRM v5 answers it; the card fields in RetailCRM's own names
    (numbers as JSON numbers, as the API sends them)."""
    total: Any = 1990 if order.total is None else float(order.total)
    items: list[dict[str, Any]] = [{"offer": {"displayName": order.product, "name": order.product}}]
    if order.items:
        items = [
            {
                "productName": item.name, "quantity": float(item.quantity),
                "initialPrice": None if item.price is None else float(item.price),
                "offer": {"name": item.name},
            }
            for item in order.items
        ]  # fmt: skip
    delivery: dict[str, Any] = {"address": {"region": order.region, "city": order.city}}
    if order.address is not None:
        delivery["address"]["text"] = order.address
    if order.delivery_date is not None:
        delivery["date"] = order.delivery_date.isoformat()
    return {
        "id": number,
        "externalId": order.id,
        "number": f"{number}A",
        "site": site,
        "status": order.status,
        "createdAt": order.created_at.astimezone(MSK).strftime("%Y-%m-%d %H:%M:%S"),
        "firstName": order.name,
        "phone": order.phone,
        "items": items,
        "orderMethod": order.source,
        "delivery": delivery,
        "totalSumm": total,
        "prepaySum": total if order.prepaid else 0,
        "customFields": {"state": order.state},
        "additionalPhone": order.extra_phone,
        "customerComment": order.comment,
    }


# The contract speaks the manuals' status names; this account has statuses with those codes.
CONTRACT_STATUSES = (
    "Ожидает подтверждения", "Недозвон", "В буфер", "Отказ", "Невалид", "Отменён", "Подтвержден",
)  # fmt: skip


class RetailBackend:
    def __init__(self, crm: RetailCrmDouble, api_key: str, **changes: Any) -> None:
        self.crm = crm
        for code in CONTRACT_STATUSES:
            crm.statuses.setdefault(
                code, {"name": code, "code": code, "active": True, "ordering": 990, "group": "new"}
            )
        self.clock = FakeClock()
        settings = RetailCrmSettings(
            url=crm.server.url,
            api_key=api_key,
            site=crm.site,
            by="externalId",
            custom_fields=CustomFields(attempts="attempts", state="state"),
            timeout_s=5,
        )
        settings = dataclasses.replace(settings, **changes)
        limiter = RateLimiter(clock=self.clock, sleep=self.clock.sleep)
        self.adapter: CrmAdapter = RetailCrmAdapter(
            settings, limiter=limiter, sleep=self.clock.sleep
        )

    def seed(self, orders: Sequence[Order]) -> None:
        for order in orders:
            number = len(self.crm.orders) + 1
            self.crm.orders[order.id] = retail_order(order, number, self.crm.site)

    def set_status(self, order_id: str, status: str, state: str | None = None) -> None:
        self.crm.orders[order_id]["status"] = status
        if state is not None:
            self.crm.orders[order_id]["customFields"]["state"] = state

    def set_callback(self, order_id: str, at: datetime | None) -> None:
        text = None if at is None else at.astimezone(MSK).strftime("%Y-%m-%d %H:%M:%S")
        self.crm.orders[order_id]["customFields"]["callback_at"] = text

    def shown(self, order_id: str) -> Shown:
        order = self.crm.orders[order_id]
        custom = order["customFields"]
        callback = custom.get("callback_at")
        problem = custom.get("problem")
        elements = self.crm.dictionaries["dialer_problems"]["elements"]
        names = {e["code"]: e["name"] for e in elements}
        return Shown(
            order["status"], names.get(problem, problem) or None,
            order.get("managerComment") or order.get("statusComment") or "",
            custom["call"] is True,
            None if not callback else _moscow(callback),
        )  # fmt: skip

    def effects(self, order_id: str) -> int | None:
        return sum(1 for e in self.crm.edits if e["id"] == order_id)


def _moscow(text: str) -> datetime:
    naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - Moscow local
    return MSK.localize(naive).astimezone(UTC)


class SqlBackend:
    """A shop database with a reserved-word table name and a Cyrillic column."""

    def __init__(self, url: str, mode: str) -> None:
        self.engine = create_engine(url)
        self.mode = mode
        meta = MetaData()
        self.orders = Table(
            "order", meta,
            Column("order_no", String(40), primary_key=True),
            Column("tel", String(40)), Column("fio", String(200)), Column("tovar", String(200)),
            Column("статус", String(80)), Column("sostoyanie", String(80)),
            Column("istochnik", String(80), nullable=True), Column("region", String(80)),
            Column("city", String(80)), Column("oplacheno", Boolean),
            Column("created", DateTime), Column("problema", String(80)),
            Column("perezvon", DateTime), Column("kommentariy", String(500)),
            Column("zvonok", String(40)), Column("popytki", Integer),
            Column("sostav", Text), Column("summa", Numeric(12, 2, asdecimal=True)),
            Column("adres", Text), Column("data_dostavki", Date),
            Column("dop_telefon", String(40)), Column("kommentariy_klienta", Text),
        )  # fmt: skip
        self.outcomes = Table(
            "dialer_outcomes", meta,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("order_id", String(40)), Column("idempotency_key", String(100), unique=True),
            Column("outcome", String(40)), Column("status", String(80)),
            Column("problem", String(80)), Column("callback_at", DateTime),
            Column("comment", String(500)), Column("call_made", String(40)),
            Column("attempt_no", Integer), Column("created_at", DateTime),
        )  # fmt: skip
        meta.drop_all(self.engine)
        meta.create_all(self.engine)
        settings = SqlCrmSettings(
            url=url,
            table="order",
            columns=OrderColumns(
                id="order_no", phone="tel", name="fio", product="tovar", status="статус",
                created="created", state="sostoyanie", source="istochnik", region="region",
                city="city", prepaid="oplacheno", items="sostav", total="summa",
                address="adres", delivery_date="data_dostavki", extra_phone="dop_telefon",
                comment="kommentariy_klienta", callback_at="perezvon",
            ),
            write_mode="columns" if mode == "columns" else "table",
            outcome_columns=OutcomeColumns(
                status="статус", problem="problema", callback="perezvon",
                comment="kommentariy", call_made="zvonok", attempts="popytki",
            ),
            outcome_table=OutcomeTable(),
            timezone="Europe/Moscow",
        )  # fmt: skip
        self.adapter: CrmAdapter = SqlCrmAdapter(settings)

    def seed(self, orders: Sequence[Order]) -> None:
        rows = [
            {
                "order_no": o.id, "tel": o.phone, "fio": o.name, "tovar": o.product,
                "статус": o.status, "sostoyanie": o.state, "istochnik": o.source,
                "region": o.region, "city": o.city, "oplacheno": o.prepaid,
                "created": o.created_at.astimezone(MSK).replace(tzinfo=None),
                "sostav": json.dumps([item_json(i) for i in o.items], ensure_ascii=False)
                if o.items else None,
                "summa": o.total, "adres": o.address, "data_dostavki": o.delivery_date,
                "dop_telefon": o.extra_phone, "kommentariy_klienta": o.comment,
            }
            for o in orders
        ]  # fmt: skip
        with self.engine.begin() as conn:
            conn.execute(insert(self.orders), rows)

    def set_status(self, order_id: str, status: str, state: str | None = None) -> None:
        values: dict[str, Any] = {"статус": status}
        if state is not None:
            values["sostoyanie"] = state
        with self.engine.begin() as conn:
            conn.execute(
                update(self.orders).where(self.orders.c.order_no == order_id).values(values)
            )

    def set_callback(self, order_id: str, at: datetime | None) -> None:
        local = None if at is None else at.astimezone(MSK).replace(tzinfo=None)
        with self.engine.begin() as conn:
            conn.execute(
                update(self.orders).where(self.orders.c.order_no == order_id)
                .values(perezvon=local)
            )  # fmt: skip

    def shown(self, order_id: str) -> Shown:
        with self.engine.connect() as conn:
            if self.mode == "columns":
                r = conn.execute(
                    select(self.orders).where(self.orders.c.order_no == order_id)
                ).one()
                values = (r.статус, r.problema, r.kommentariy, r.zvonok, r.perezvon)
            else:
                t = self.outcomes
                r = conn.execute(
                    select(t).where(t.c.order_id == order_id).order_by(t.c.id.desc())
                ).first()
                assert r is not None
                values = (r.status, r.problem, r.comment, r.call_made, r.callback_at)
        status, problem, comment, call, callback = values
        return Shown(
            status, problem, comment, call == "Совершался",
            None if callback is None else MSK.localize(callback).astimezone(UTC),
        )  # fmt: skip

    def effects(self, order_id: str) -> int | None:
        if self.mode == "columns":
            return None  # an UPDATE leaves no count; content comparison is checked instead
        with self.engine.connect() as conn:
            t = self.outcomes
            rows = conn.execute(select(t.c.id).where(t.c.order_id == order_id)).all()
            return len(rows)

    def close(self) -> None:
        self.adapter.close()
        self.engine.dispose()
