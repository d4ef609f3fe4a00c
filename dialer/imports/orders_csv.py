"""A CRM's orders export (CSV) read into ``Order``s: encodings, delimiters, column names.

The file is UTF-8 (a byte-order mark is fine) or Windows-1251, separated by ``;`` or ``,``
(whichever the header line holds more of), one order a line under a header naming the
columns (Russian or English, see ``COLUMNS``; the order card's columns are optional, a
delivery date may be ``DD.MM.YYYY``; the items stay in the one product column). Each row
becomes the order JSON of
``crm_adapter.order_json`` and is read by ``parse_order``, so an exported order is checked
exactly like a pushed one. ``created_at`` is ISO 8601 with an offset, or ``DD.MM.YYYY
HH:MM[:SS]`` in the given zone. Any malformed line raises ``OrdersFileError`` naming it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.orders import Order
from crm_adapter.errors import CrmDataError
from crm_adapter.order_json import parse_order
from dialer.imports.csv_files import decode_export, next_row

COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "id": ("id", "номер", "номер заказа", "заказ"),
        "phone": ("phone", "телефон"),
        "name": ("name", "имя", "фио", "покупатель"),
        "product": ("product", "товар"),
        "created_at": ("created_at", "создан", "дата создания", "дата"),
        "status": ("status", "статус"),
        "state": ("state", "состояние"),
        "source": ("source", "источник"),
        "region": ("region", "регион", "область"),
        "city": ("city", "город"),
        "tz": ("tz", "часовой пояс"),
        "country": ("country", "страна"),
        "prepaid": ("prepaid", "предоплата"),
        # the order card (issue 15), optional: shown to the agent, never dialled
        "total": ("total", "сумма", "сумма заказа", "итого"),
        "address": ("address", "адрес", "адрес доставки"),
        "delivery_date": ("delivery_date", "дата доставки", "дата отгрузки"),
        "extra_phone": ("extra_phone", "доп. телефон", "дополнительный телефон", "доп телефон"),
        "comment": ("comment", "комментарий", "комментарий клиента"),
    }
)
REQUIRED = ("id", "phone", "name", "product", "created_at", "status")
MAX_CELL = 1000
_RU_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})[ T](\d{2}):(\d{2})(?::(\d{2}))?")
_RU_DAY = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")
_YES = {"да", "yes", "true", "1"}
_NO = {"нет", "no", "false", "0", ""}


class OrdersFileError(Exception):
    """The file cannot be read as orders; ``line`` is 1-based, 0 for the whole file."""

    def __init__(self, line: int, problem: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {problem}" if line else problem)


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding found: ``utf-8`` (with or without BOM) or ``cp1251``."""
    return decode_export(data, OrdersFileError)


def read_orders(text: str, zone: ZoneInfo) -> Iterator[tuple[int, Order]]:
    """``(line, order)`` for every non-empty row; raises on the first malformed line."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next_row(reader, OrdersFileError)
    if header is None:
        raise OrdersFileError(0, "the file is empty")
    columns = _columns(header)
    while True:
        line = reader.line_num + 1  # where the row starts (a quoted cell may span lines)
        row = next_row(reader, OrdersFileError)
        if row is None:
            return
        if any(cell.strip() for cell in row):
            yield line, _order(_cells(row, columns, len(header), line), zone, line)


def _normal(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").casefold().replace("ё", "е").split())


def _columns(header: Sequence[str]) -> dict[str, int]:
    positions = {_normal(name): index for index, name in enumerate(header)}
    found = {
        key: positions[_normal(alias)]
        for key, aliases in COLUMNS.items()
        for alias in reversed(aliases)
        if _normal(alias) in positions
    }
    missing = [COLUMNS[key][0] for key in REQUIRED if key not in found]
    if missing:
        shown = "; ".join(header)[:200]
        raise OrdersFileError(1, f"header lacks the column(s) {', '.join(missing)}; found {shown}")
    return found


def _cells(row: list[str], columns: dict[str, int], width: int, line: int) -> dict[str, str]:
    if len(row) != width:
        raise OrdersFileError(line, f"expected {width} fields, found {len(row)}")
    for index, text in enumerate(row):
        if "\x00" in text or len(text) > MAX_CELL:
            problem = "holds a NUL character" if "\x00" in text else f"is over {MAX_CELL} chars"
            raise OrdersFileError(line, f"field {index + 1} {problem}")
    return {key: row[index].strip() for key, index in columns.items()}


def _order(cells: dict[str, str], zone: ZoneInfo, line: int) -> Order:
    data: dict[str, Any] = {k: v for k, v in cells.items() if v != "" or k in REQUIRED}
    data["created_at"] = _instant(cells["created_at"], zone)
    data["prepaid"] = _flag(cells.get("prepaid", ""), line)
    if "delivery_date" in data:
        data["delivery_date"] = _day(data["delivery_date"])
    try:
        return parse_order(data, f"line {line}")
    except CrmDataError as exc:
        raise OrdersFileError(line, str(exc).removeprefix(f"line {line}.")) from exc


def _instant(text: str, zone: ZoneInfo) -> str:
    """``DD.MM.YYYY HH:MM[:SS]`` in ``zone`` as ISO 8601; anything else as given."""
    match = _RU_DATE.fullmatch(text)
    if match is None:
        return text
    day, month, year, hour, minute, second = match.groups()
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute),
                         int(second or 0), tzinfo=zone)  # fmt: skip
    except ValueError:
        return text  # parse_order names it: not ISO 8601
    return local.isoformat()


def _day(text: str) -> str:
    """``DD.MM.YYYY`` as ``YYYY-MM-DD``; anything else as given (``parse_order`` checks it)."""
    match = _RU_DAY.fullmatch(text)
    if match is None:
        return text
    day, month, year = match.groups()
    return f"{year}-{month}-{day}"


def _flag(text: str, line: int) -> bool:
    value = text.casefold()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise OrdersFileError(line, f"prepaid: expected да/нет (yes/no), not {text[:20]!r}")
