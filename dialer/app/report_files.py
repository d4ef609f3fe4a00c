"""A report's tables as files a supervisor opens in Excel: CSV (UTF-8 with a byte-order
mark, ``;`` between cells, as Russian Excel expects) and XLSX (one sheet per table, written
with the standard library: zipfile and SpreadsheetML text).

Both guard against formula injection: a text cell starting with ``= + - @`` (or a tab or
carriage return) is written with a leading ``'``, so Excel shows it as text and never
evaluates it. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape

from campaigns.report_tables import Cell

Table = tuple[str, Sequence[Sequence[Cell]]]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FIRST_PRINTABLE = 0x20  # XML 1.0 carries no control character but tab, newline, return
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def safe_text(value: str) -> str:
    """``value`` as a cell Excel will not evaluate."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def csv_bytes(tables: Sequence[Table]) -> bytes:
    """Every table one after another, its title on a line of its own, a blank line between."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for n, (title, rows) in enumerate(tables):
        if n:
            writer.writerow([])
        writer.writerow([safe_text(title)])
        writer.writerows([_csv_cell(c) for c in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """A workbook with one sheet per table (sheet names cut to Excel's 31 characters)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", _content_types(len(tables)))
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", _workbook([title for title, _ in tables]))
        book.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(tables)))
        for n, (_, rows) in enumerate(tables, start=1):
            book.writestr(f"xl/worksheets/sheet{n}.xml", sheet_xml(rows))
    return buffer.getvalue()


def sheet_xml(rows: Sequence[Sequence[Cell]]) -> str:
    lines = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(_xlsx_cell(f"{_column(c)}{r}", v) for c, v in enumerate(row))
        lines.append(f'<row r="{r}">{cells}</row>')
    return (f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>{"".join(lines)}</sheetData>'
            "</worksheet>")  # fmt: skip


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")  # Russian Excel reads a decimal comma
    return str(value) if isinstance(value, int) else safe_text(value)


def _xlsx_cell(ref: str, value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<c r="{ref}"><v>{value}</v></c>'
    text = escape(_xml_chars(safe_text(str(value))))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _xml_chars(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry (control characters but tab and newline)."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= _FIRST_PRINTABLE)


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_ROOT_RELS = (
    f'{_XML}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)


def _content_types(sheets: int) -> str:
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{ct}.worksheet+xml"/>'
        for n in range(1, sheets + 1)
    )
    return (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        f"{overrides}</Types>"
    )


def _workbook(titles: Sequence[str]) -> str:
    sheets = "".join(
        f'<sheet name="{escape(_sheet_name(t), {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
        for n, t in enumerate(titles, start=1)
    )
    return f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>'


def _sheet_name(title: str) -> str:
    return "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Лист"


def _workbook_rels(sheets: int) -> str:
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, sheets + 1)
    )
    return f'{_XML}<Relationships xmlns="{_PKG_REL}">{rels}</Relationships>'
