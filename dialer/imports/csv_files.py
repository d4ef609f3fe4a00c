"""The CSV exports ops bring (the numbering plan, a CRM's orders): one way to decode them and
one way to read their rows, each failure raised as the caller's own error naming the line
(0 for the whole file)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

LineError = Callable[[int, str], Exception]
_BOM = b"\xef\xbb\xbf"


def decode_export(data: bytes, error: LineError) -> tuple[str, str]:
    """The text and the encoding found: ``utf-8`` (with or without a byte-order mark) or
    ``cp1251``. A mark followed by bytes that are not UTF-8 is a damaged file, not cp1251."""
    if data.startswith(_BOM):
        try:
            return data[len(_BOM) :].decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            where = exc.start + len(_BOM)
            problem = f"the file has a UTF-8 byte-order mark but byte {where} is not UTF-8"
            raise error(0, problem) from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251"), "cp1251"
    except UnicodeDecodeError as exc:
        raise error(0, "the file is neither UTF-8 nor Windows-1251") from exc


def next_row(reader: Any, error: LineError) -> list[str] | None:
    """The next row, or None at the end; csv's own errors (a field over 128 KiB, a NUL)
    name the line like any other malformed line."""
    try:
        row: list[str] = next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        raise error(reader.line_num, str(exc)) from exc
    return row
