"""The Russian numbering plan: atomic import of the regulator's CSV extract, region lookup.

The extract is semicolon-separated, UTF-8 or Windows-1251, one row per range of 7-digit
subscriber numbers under a 3-digit ABC/DEF code. Columns are found by header name.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import Engine, RowMapping, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from dialer.imports.csv_files import decode_export, next_row
from dialer.storage.engine import retry_locked
from dialer.storage.errors import DatabaseUnavailableError, NumberingImportError
from dialer.storage.models import NumberingMeta, NumberingRange

Progress = Callable[[int, int], None]
"""Called as ``progress(lines_done, lines_total)`` while an import runs."""

_RU_NUMBER = re.compile(r"\+7([0-9]{3})([0-9]{7})")
_DIGITS = re.compile(r"[0-9]{1,10}")
_LOOK_ALIKES: Mapping[int, int | str | None] = MappingProxyType(
    str.maketrans("авсеорхё", "abceopxе")
)
_COLUMNS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "prefix": ("АВС/ DEF", "ABC/DEF", "DEF", "АВС", "Код"),
        "range_from": ("От",),
        "range_to": ("До",),
        "capacity": ("Емкость",),
        "operator": ("Оператор",),
        "region": ("Регион",),
    }
)
_REQUIRED = ("prefix", "range_from", "range_to", "region")
_MAX_SUBSCRIBER = 9_999_999
_MAX_CELL = 1000


@dataclass(frozen=True, slots=True)
class NumberingRecord:
    """One range: numbers ``+7 <prefix> <range_from..range_to>`` (7 digits each)."""

    prefix: int
    range_from: int
    range_to: int
    capacity: int
    operator: str
    region: str


@dataclass(frozen=True, slots=True)
class NumberingSource:
    """Where the current table came from."""

    source: str
    imported_at: datetime
    row_count: int


def decode_numbering_bytes(data: bytes) -> tuple[str, str]:
    """The text of a numbering file and the encoding found: ``utf-8`` or ``cp1251``."""
    return decode_export(data, NumberingImportError)


def parse_numbering_csv(text: str) -> Iterator[tuple[int, NumberingRecord]]:
    """Yield ``(line_number, record)`` for every range; raise on the first malformed line."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    header = next_row(reader, NumberingImportError)
    if header is None:
        raise NumberingImportError(0, "the file is empty")
    columns = _find_columns(header)
    while (row := next_row(reader, NumberingImportError)) is not None:
        if not any(cell.strip() for cell in row):
            continue
        yield reader.line_num, _record(row, columns, len(header), reader.line_num)


def _normal(name: str) -> str:
    return "".join(name.replace("\ufeff", "").casefold().split()).translate(_LOOK_ALIKES)


def _find_columns(header: Sequence[str]) -> dict[str, int]:
    positions = {_normal(name): index for index, name in enumerate(header)}
    found: dict[str, int] = {}
    for key, aliases in _COLUMNS.items():
        for alias in aliases:
            if _normal(alias) in positions:
                found[key] = positions[_normal(alias)]
                break
    missing = [_COLUMNS[key][0] for key in _REQUIRED if key not in found]
    if missing:
        raise NumberingImportError(
            1, f"header lacks the column(s) {', '.join(missing)}; found {'; '.join(header)}"
        )
    return found


def _record(row: list[str], columns: dict[str, int], width: int, line: int) -> NumberingRecord:
    if len(row) < width or any(cell.strip() for cell in row[width:]):
        raise NumberingImportError(line, f"expected {width} fields, found {len(row)}")
    for index, text in enumerate(row):
        if "\x00" in text or len(text) > _MAX_CELL:  # PostgreSQL refuses NUL in text
            problem = "holds a NUL character" if "\x00" in text else f"is over {_MAX_CELL} chars"
            raise NumberingImportError(line, f"field {index + 1} {problem}")
    cell = {key: row[index].strip() for key, index in columns.items()}
    prefix = _number(cell["prefix"], "ABC/DEF code", line)
    first = _number(cell["range_from"], "От", line)
    last = _number(cell["range_to"], "До", line)
    if not 100 <= prefix <= 999:  # noqa: PLR2004 - codes are three digits
        raise NumberingImportError(line, f"ABC/DEF code {cell['prefix']!r} is not 3 digits")
    if not first <= last <= _MAX_SUBSCRIBER:
        raise NumberingImportError(line, f"range {first}..{last} is not 0 <= От <= До <= 9999999")
    capacity = cell.get("capacity", "")
    return NumberingRecord(
        prefix=prefix,
        range_from=first,
        range_to=last,
        capacity=_number(capacity, "Емкость", line) if capacity else last - first + 1,
        operator=cell.get("operator", ""),
        region=cell["region"],
    )


def _number(text: str, column: str, line: int) -> int:
    if not _DIGITS.fullmatch(text):
        raise NumberingImportError(line, f"{column} {text!r} is not a number")
    return int(text)


def replace_numbering(
    engine: Engine,
    records: Callable[[], Iterable[tuple[int, NumberingRecord]]],
    *,
    source: str,
    now: datetime,
    total_lines: int = 0,
    progress: Progress | None = None,
    batch_size: int = 10_000,
) -> int:
    """Replace the whole table by ``records()`` in one transaction; returns the row count.

    On any error (a malformed line included) nothing changes. ``records`` is a factory so
    the work can be repeated when SQLite is locked.
    """

    def work() -> int:
        count = 0
        with engine.begin() as connection:
            connection.execute(delete(NumberingRange))
            rows = iter(records())
            while batch := list(islice(rows, batch_size)):
                connection.execute(insert(NumberingRange), [_as_row(r) for _, r in batch])
                count += len(batch)
                if progress is not None:
                    progress(batch[-1][0], total_lines)
            connection.execute(delete(NumberingMeta))
            connection.execute(
                insert(NumberingMeta).values(id=1, source=source, imported_at=now, row_count=count)
            )
        return count

    try:
        return retry_locked(work)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailableError(f"cannot write the numbering table: {exc}") from exc


def import_numbering_file(
    engine: Engine, path: Path, *, now: datetime, progress: Progress | None = None
) -> tuple[int, str]:
    """Replace the table by the CSV at ``path``; returns (rows imported, encoding found)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NumberingImportError(0, f"cannot read {str(path)!r}: {exc.strerror}") from exc
    text, encoding = decode_numbering_bytes(data)
    count = replace_numbering(
        engine,
        lambda: parse_numbering_csv(text),
        source=path.name,
        now=now,
        total_lines=text.count("\n") + (not text.endswith("\n")),
        progress=progress,
    )
    return count, encoding


def numbering_source(engine: Engine) -> NumberingSource | None:
    """Where the current table came from; None when nothing was imported yet."""
    with _reading(), engine.connect() as connection:
        row = connection.execute(select(NumberingMeta)).first()
    if row is None:
        return None
    return NumberingSource(row.source, row.imported_at, row.row_count)


class SqlNumberingLookup:
    """Finds the numbering-plan range of a Russian (+7) number in the database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def region_of(self, e164: str) -> str | None:
        """The region of the range holding ``e164``; None when not a +7 number or not found."""
        record = self.record_of(e164)
        return record.region if record is not None else None

    def record_of(self, e164: str) -> NumberingRecord | None:
        """The whole range row holding ``e164``, or None."""
        match = _RU_NUMBER.fullmatch(e164)
        if match is None:
            return None
        prefix, subscriber = int(match[1]), int(match[2])
        query = (
            select(NumberingRange)
            .where(NumberingRange.prefix == prefix, NumberingRange.range_from <= subscriber)
            .order_by(NumberingRange.range_from.desc())
            .limit(1)
        )
        with _reading(), self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None or row.range_to < subscriber:
            return None
        return _as_record(row._mapping)


def _as_row(record: NumberingRecord) -> dict[str, int | str]:
    return {
        "prefix": record.prefix,
        "range_from": record.range_from,
        "range_to": record.range_to,
        "capacity": record.capacity,
        "operator": record.operator,
        "region": record.region,
    }


def _as_record(row: RowMapping) -> NumberingRecord:
    return NumberingRecord(
        prefix=row["prefix"],
        range_from=row["range_from"],
        range_to=row["range_to"],
        capacity=row["capacity"],
        operator=row["operator"],
        region=row["region"],
    )


@contextmanager
def _reading() -> Iterator[None]:
    """Translates SQLAlchemy errors raised while reading into DatabaseUnavailableError."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise DatabaseUnavailableError(f"cannot read the numbering table: {exc}") from exc
