"""A shop's own CRM database: orders read from a mapped table, outcomes written back by SQL.

The mapping names the table (or view) and its columns; every identifier is checked
against a conservative pattern and quoted by SQLAlchemy, never formatted into SQL.
Outcomes are written in one of two modes:

* ``columns``: ``UPDATE`` the order row's status/problem/callback/comment/call columns.
  Every value is absolute, so applying the same outcome again changes nothing; the adapter
  compares first and reports an identical row as already applied.
* ``table``: ``INSERT`` one row per outcome into an outcome table whose idempotency-key
  column is unique; a key already there is acknowledged and not inserted again.

Paging is by keyset on (created, id), oldest first, so rows changing between pages are
neither skipped nor repeated.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import pytz
from sqlalchemy import (
    ColumnElement,
    Engine,
    TableClause,
    and_,
    column,
    create_engine,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.sql.expression import ColumnClause

from campaigns.orders import Order, OrderItem
from crm_adapter.card_fields import NO_ITEMS, date_of, items_of, kept, optional_number
from crm_adapter.errors import CrmConfigError, CrmDataError, CrmUnavailableError, OrderNotFoundError
from crm_adapter.port import CrmOrderStatus, IntakeFilter, OutcomeDelivery, validate_delivery

T = TypeVar("T")
_IDENTIFIER = re.compile(r"^[^\W\d]\w{0,62}$")
_TRUE_TEXT = frozenset({"1", "t", "true", "y", "yes", "да", "on"})
ORDER_FIELDS = ("id", "phone", "name", "product", "status", "created")
OPTIONAL_ORDER_FIELDS = (
    "state", "source", "region", "city", "prepaid", "tz", "country", "callback_at"
)  # fmt: skip
CARD_FIELDS = ("items", "total", "address", "delivery_date", "extra_phone", "comment")


def check_identifier(value: str, where: str) -> str:
    """``value`` when it is a plain SQL identifier (letters, digits, _; ≤ 63); else
    CrmConfigError naming ``where``."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise CrmConfigError(
            f"{where}: {value!r} is not a plain SQL identifier (letters, digits and _, "
            "not starting with a digit, at most 63 characters)"
        )
    return value


@dataclass(frozen=True, slots=True)
class OrderColumns:
    """Column names of the orders table/view; the optional ones may be None.

    The order card's columns (issue 15) are unmapped unless named: ``items`` holds the
    JSON list ``[{"name", "quantity", "price"}]`` (text or a JSON column), ``total`` a
    number or numeric text, ``delivery_date`` a date, date-time or ``YYYY-MM-DD`` text.
    ``callback_at`` is the CRM's callback date-time (a date-time, naive in the CRM's
    ``timezone``, or ISO text), read after an answered call with ``disposition_source``
    "crm" (issue 15 §3); it may be the same column the dialer writes its callback to.
    """

    id: str = "id"
    phone: str = "phone"
    name: str = "name"
    product: str = "product"
    status: str = "status"
    created: str = "created_at"
    state: str | None = "state"
    source: str | None = "source"
    region: str | None = None
    city: str | None = None
    prepaid: str | None = None
    tz: str | None = None
    country: str | None = None
    callback_at: str | None = None
    items: str | None = None
    total: str | None = None
    address: str | None = None
    delivery_date: str | None = None
    extra_phone: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class OutcomeColumns:
    """``columns`` mode: where on the order row each outcome value goes (None: not written)."""

    status: str = "status"
    problem: str | None = "problem"
    callback: str | None = "callback_at"
    comment: str | None = "comment"
    call_made: str | None = "call_made"
    attempts: str | None = None


@dataclass(frozen=True, slots=True)
class OutcomeTable:
    """``table`` mode: the outcome table and its columns; ``key`` must be unique."""

    table: str = "dialer_outcomes"
    schema: str | None = None
    order_id: str = "order_id"
    key: str = "idempotency_key"
    outcome: str = "outcome"
    status: str = "status"
    problem: str = "problem"
    callback: str = "callback_at"
    comment: str = "comment"
    call_made: str = "call_made"
    attempt_no: str = "attempt_no"
    at: str = "created_at"


@dataclass(frozen=True, slots=True)
class SqlCrmSettings:
    """The CRM database (URL with its secret), the mapping and the write mode.

    ``timezone`` is the zone of naive datetimes in the CRM (``created`` read, callback
    written). ``call_made_text`` is what the call column says for made / not made.
    """

    url: str = field(repr=False)
    table: str = "orders"
    schema: str | None = None
    columns: OrderColumns = field(default_factory=OrderColumns)
    write_mode: Literal["columns", "table"] = "columns"
    outcome_columns: OutcomeColumns = field(default_factory=OutcomeColumns)
    outcome_table: OutcomeTable = field(default_factory=OutcomeTable)
    timezone: str = "UTC"
    call_made_text: tuple[str, str] = ("Совершался", "Не совершался")

    def __post_init__(self) -> None:
        check_identifier(self.table, "crm.sql.table")
        if self.schema is not None:
            check_identifier(self.schema, "crm.sql.schema")
        _check_all(self.columns, "crm.sql.columns")
        if self.write_mode == "columns":
            _check_all(self.outcome_columns, "crm.sql.outcome_columns")
        elif self.write_mode == "table":
            _check_all(self.outcome_table, "crm.sql.outcome_table")
        else:
            raise CrmConfigError(f"crm.sql.write_mode: {self.write_mode!r} is not columns or table")
        if self.timezone not in pytz.all_timezones_set:
            raise CrmConfigError(f"crm.sql.timezone: unknown time zone {self.timezone!r}")


def _check_all(names: Any, where: str) -> None:
    for name in names.__dataclass_fields__:
        value = getattr(names, name)
        if value is not None:
            check_identifier(value, f"{where}.{name}")


class SqlCrmAdapter:
    """The CRM port over a SQL database reachable by SQLAlchemy (SQLite, PostgreSQL...)."""

    def __init__(self, settings: SqlCrmSettings, *, engine: Engine | None = None) -> None:
        self._s = settings
        self._engine = engine or _engine(settings.url)
        self._zone = pytz.timezone(settings.timezone)
        cols = settings.columns
        names = [getattr(cols, f) for f in (*ORDER_FIELDS, *OPTIONAL_ORDER_FIELDS, *CARD_FIELDS)]
        self._orders = table(
            settings.table,
            *(column(n) for n in dict.fromkeys(n for n in names if n)),
            schema=settings.schema,
        )
        self._outcome_cols = _columns_table(settings)
        self._outcome_table = _outcome_table(settings.outcome_table)

    def fetch_waiting(self, intake: IntakeFilter) -> Iterator[Order]:
        after: tuple[Any, Any] | None = None
        while True:
            rows = self._run(functools.partial(_page_rows, self._page(intake, after)))
            for row in rows:
                order = self._order(row)
                if intake.admits(order):
                    yield order
            if len(rows) < intake.page_size:
                return
            last = rows[-1]
            after = (last[self._s.columns.created], last[self._s.columns.id])

    def read_status(self, order_id: str) -> CrmOrderStatus:
        row = self._run(lambda conn: self._row(conn, order_id))
        if row is None:
            raise OrderNotFoundError(f"order {order_id!r} not found in {self._s.table}", 404)
        cols = self._s.columns
        return CrmOrderStatus(
            order_id=order_id,
            status=_str(row[cols.status]),
            state=None if cols.state is None else _opt_str(row[cols.state]),
            prepaid=False if cols.prepaid is None else _truthy(row[cols.prepaid]),
            source=None if cols.source is None else _opt_str(row[cols.source]),
            callback_at=self._callback(row, f"order {order_id}"),
        )

    def write_outcome(self, delivery: OutcomeDelivery) -> bool:
        validate_delivery(delivery)
        if self._s.write_mode == "columns":
            return self._run(lambda conn: self._update_order(conn, delivery), write=True)
        return self._run(lambda conn: self._insert_outcome(conn, delivery), write=True)

    def close(self) -> None:
        self._engine.dispose()

    def _page(self, intake: IntakeFilter, after: tuple[Any, Any] | None) -> Any:
        t, cols = self._orders, self._s.columns
        created, ident = t.c[cols.created], t.c[cols.id]
        where: list[ColumnElement[bool]] = [t.c[cols.status].in_(intake.statuses)]
        if cols.state is not None and intake.states:
            where.append(t.c[cols.state].in_(intake.states))
        if cols.source is not None and intake.excluded_sources:
            source = t.c[cols.source]
            where.append(or_(source.is_(None), source.not_in(intake.excluded_sources)))
        if after is not None:
            where.append(or_(created > after[0], and_(created == after[0], ident > after[1])))
        return select(t).where(*where).order_by(created, ident).limit(intake.page_size)

    def _row(self, conn: Connection, order_id: str) -> Mapping[str, Any] | None:
        t = self._orders
        query = select(t).where(t.c[self._s.columns.id] == order_id)
        row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def _order(self, row: Mapping[str, Any]) -> Order:
        cols = self._s.columns

        def opt(name: str | None) -> str | None:
            return None if name is None else _opt_str(row[name])

        return Order(
            id=_str(row[cols.id]),
            phone=_str(row[cols.phone]),
            name=_str(row[cols.name]),
            product=_str(row[cols.product]),
            created_at=self._instant(row[cols.created], f"{cols.created} of order {row[cols.id]}"),
            status=_str(row[cols.status]),
            state=opt(cols.state) or "",
            source=opt(cols.source),
            region=opt(cols.region),
            city=opt(cols.city),
            tz=opt(cols.tz),
            country=opt(cols.country),
            prepaid=False if cols.prepaid is None else _truthy(row[cols.prepaid]),
            callback_at=self._callback(row, f"order {row[cols.id]}"),
            **_card(row, cols, f"order {row[cols.id]}"),
        )

    def _instant(self, value: Any, where: str) -> datetime:
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError as exc:
                raise CrmDataError(f"{where}: {value[:40]!r} is not a date-time") from exc
        if not isinstance(value, datetime):
            raise CrmDataError(f"{where}: expected a date-time, got {type(value).__name__}")
        aware: datetime = self._zone.localize(value) if value.tzinfo is None else value
        return aware.astimezone(UTC)

    def _callback(self, row: Mapping[str, Any], where: str) -> datetime | None:
        """The mapped callback column; a malformed value is logged naming the order and
        the column and read as absent (the order is kept)."""
        name = self._s.columns.callback_at
        if name is None or row[name] in (None, ""):
            return None
        where = f"{where}: column {name}"
        return kept(lambda: self._instant(row[name], where), None)

    def _local(self, value: datetime | None) -> datetime | None:
        """A callback instant as the CRM's naive local time."""
        return None if value is None else value.astimezone(self._zone).replace(tzinfo=None)

    def _update_order(self, conn: Connection, d: OutcomeDelivery) -> bool:
        values = self._outcome_values(d)
        t = self._outcome_cols
        query = select(t).where(t.c[self._s.columns.id] == d.order_id)
        current = conn.execute(query).mappings().first()
        if current is None:
            raise OrderNotFoundError(f"order {d.order_id!r} not found in {self._s.table}", 404)
        if all(_same(current[k], v) for k, v in values.items()):
            return False  # this outcome is what the row shows already
        conn.execute(update(t).where(t.c[self._s.columns.id] == d.order_id).values(values))
        return True

    def _outcome_values(self, d: OutcomeDelivery) -> dict[str, Any]:
        oc = self._s.outcome_columns
        made, not_made = self._s.call_made_text
        values: dict[str | None, Any] = {
            oc.status: d.status,
            oc.problem: d.problem,
            oc.callback: self._local(d.callback_at),
            oc.comment: d.comment,
            oc.call_made: made if d.call_made else not_made,
            oc.attempts: d.attempt_no,
        }
        return {k: v for k, v in values.items() if k is not None}

    def _insert_outcome(self, conn: Connection, d: OutcomeDelivery) -> bool:
        if self._row(conn, d.order_id) is None:
            raise OrderNotFoundError(f"order {d.order_id!r} not found in {self._s.table}", 404)
        t, ot = self._outcome_table, self._s.outcome_table
        if conn.execute(select(t.c[ot.key]).where(t.c[ot.key] == d.key)).first() is not None:
            return False
        made, not_made = self._s.call_made_text
        row = {
            ot.order_id: d.order_id, ot.key: d.key, ot.outcome: d.kind, ot.status: d.status,
            ot.problem: d.problem, ot.callback: self._local(d.callback_at), ot.comment: d.comment,
            ot.call_made: made if d.call_made else not_made, ot.attempt_no: d.attempt_no,
            ot.at: self._local(d.at),
        }  # fmt: skip
        try:
            conn.execute(t.insert().values(row))
        except IntegrityError:
            conn.rollback()
            return False  # a concurrent delivery of the same key won
        return True

    def _run(self, work: Callable[[Connection], T], *, write: bool = False) -> T:
        try:
            with self._engine.connect() as conn:
                result = work(conn)
                if write:
                    conn.commit()
                return result
        except SQLAlchemyError as exc:
            raise CrmUnavailableError(f"CRM database: {_short(exc)}") from exc


def _card(row: Mapping[str, Any], cols: OrderColumns, where: str) -> dict[str, Any]:
    """The order card's fields (issue 15) from the mapped columns; a malformed value is
    logged naming the order and column and left out (``card_fields.kept``)."""

    def value(name: str | None) -> Any:
        return None if name is None else row[name]

    def text(name: str | None) -> str | None:
        return _opt_str(value(name)) or None

    items = functools.partial(_items, value(cols.items), f"{where}: column {cols.items}")
    total = functools.partial(optional_number, value(cols.total), f"{where}: column {cols.total}")
    day = functools.partial(
        date_of, value(cols.delivery_date), f"{where}: column {cols.delivery_date}"
    )
    return {
        "items": kept(items, NO_ITEMS),
        "total": kept(total, None),
        "address": text(cols.address),
        "delivery_date": kept(day, None),
        "extra_phone": text(cols.extra_phone),
        "comment": text(cols.comment),
    }


def _items(value: Any, where: str) -> tuple[OrderItem, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise CrmDataError(f"{where}: not a JSON list of items") from None
    return items_of(value, where, _item_name)


def _item_name(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise CrmDataError(f"{where}: expected a string")
    return value


def _page_rows(query: Any, conn: Connection) -> list[Mapping[str, Any]]:
    return [dict(row) for row in conn.execute(query).mappings()]


def _engine(url: str) -> Engine:
    try:
        return create_engine(make_url(url), pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise CrmConfigError(f"crm.sql url: cannot use it: {exc}") from exc


def _columns_table(s: SqlCrmSettings) -> TableClause:
    oc = s.outcome_columns
    names = [
        s.columns.id,
        oc.status,
        oc.problem,
        oc.callback,
        oc.comment,
        oc.call_made,
        oc.attempts,
    ]
    return table(
        s.table, *(column(n) for n in dict.fromkeys(n for n in names if n)), schema=s.schema
    )


def _outcome_table(ot: OutcomeTable) -> TableClause:
    names = [getattr(ot, f) for f in ot.__dataclass_fields__ if f not in ("table", "schema")]
    cols: list[ColumnClause[Any]] = [column(n) for n in names]
    return table(ot.table, *cols, schema=ot.schema)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_TEXT
    return bool(value)


def _same(current: Any, wanted: Any) -> bool:
    """Equal once the database's representation is read back (SQLite may give text)."""
    if current is None or wanted is None:
        return current is wanted
    if isinstance(wanted, datetime) and isinstance(current, str):
        try:
            current = datetime.fromisoformat(current)
        except ValueError:
            return False
    if isinstance(wanted, int) and not isinstance(current, int):
        return str(current) == str(wanted)
    return bool(current == wanted)


def _short(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).splitlines()[0][:300]
