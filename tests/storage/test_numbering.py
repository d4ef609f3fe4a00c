"""Numbering-plan import (encodings, headers, atomic replacement) and region lookup."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from dialer.storage.errors import NumberingImportError
from dialer.storage.models import NumberingRange
from dialer.storage.numbering import (
    NumberingRecord,
    SqlNumberingLookup,
    decode_numbering_bytes,
    import_numbering_file,
    numbering_source,
    parse_numbering_csv,
)

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "numbering_sample.csv"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def row_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(NumberingRange)) or 0


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_the_utf8_sample_imports_every_row(engine: Engine) -> None:
    assert import_numbering_file(engine, SAMPLE, now=NOW) == (12, "utf-8")
    assert row_count(engine) == 12
    source = numbering_source(engine)
    assert source is not None
    assert (source.source, source.imported_at, source.row_count) == (
        "numbering_sample.csv",
        NOW,
        12,
    )


def test_the_windows_1251_sample_is_detected_and_reads_the_same(engine: Engine) -> None:
    assert import_numbering_file(engine, DATA / "numbering_sample_cp1251.csv", now=NOW) == (
        12,
        "cp1251",
    )
    assert SqlNumberingLookup(engine).region_of("+79140000000") is None
    assert SqlNumberingLookup(engine).region_of("+79142000000") == "Приморский край"


def test_quoted_fields_and_extra_columns_are_read(engine: Engine) -> None:
    import_numbering_file(engine, SAMPLE, now=NOW)
    record = SqlNumberingLookup(engine).record_of("+79000062500")
    assert record == NumberingRecord(
        prefix=900,
        range_from=62000,
        range_to=62999,
        capacity=1000,
        operator='ООО "Т2 Мобайл"',
        region="Республика Адыгея",
    )


def test_a_bom_and_a_latin_header_are_tolerated(tmp_path: Path) -> None:
    text = '\ufeff"ABC/DEF";От;До;Регион\r\n901;0000000;0000009;Тверская обл.\r\n'
    records = list(parse_numbering_csv(decode_numbering_bytes(text.encode("utf-8"))[0]))
    assert records == [(2, NumberingRecord(901, 0, 9, 10, "", "Тверская обл."))]


def test_a_header_without_the_region_column_is_refused_naming_it() -> None:
    with pytest.raises(NumberingImportError, match=r"line 1: header lacks the column\(s\) Регион"):
        list(parse_numbering_csv("АВС/ DEF;От;До;Оператор\n900;0;9;X\n"))


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("900;0000000;00x0009;10;X;R", r"line 3: До '00x0009' is not a number"),
        ("90;0000000;0000009;10;X;R", r"line 3: ABC/DEF code '90' is not 3 digits"),
        ("900;0000009;0000000;10;X;R", r"line 3: range 9\.\.0 is not"),
        ("900;0000000;0000009;10;X", r"line 3: expected 6 fields, found 5"),
        ("900;0000000;0000009;10;X;R;extra", r"line 3: expected 6 fields, found 7"),
    ],
)
def test_a_malformed_line_is_named_with_its_problem(line: str, problem: str) -> None:
    text = f"АВС/ DEF;От;До;Емкость;Оператор;Регион\n900;0000010;0000019;10;X;R\n{line}\n"
    with pytest.raises(NumberingImportError, match=problem):
        list(parse_numbering_csv(text))


def test_blank_lines_are_skipped_and_line_numbers_stay_physical() -> None:
    text = "АВС/ DEF;От;До;Регион\n\n900;0;9;R\n;;;\n901;0;9;S\n"
    assert [line for line, _ in parse_numbering_csv(text)] == [3, 5]


def test_a_malformed_file_changes_nothing_and_the_old_table_stays(engine: Engine) -> None:
    import_numbering_file(engine, SAMPLE, now=NOW)
    with pytest.raises(NumberingImportError) as caught:
        import_numbering_file(engine, DATA / "numbering_malformed.csv", now=LATER)
    assert (caught.value.line, str(caught.value)) == (7, "line 7: До '01x9999' is not a number")
    assert row_count(engine) == 12
    source = numbering_source(engine)
    assert source is not None and source.imported_at == NOW
    assert SqlNumberingLookup(engine).region_of("+79120000000") == "Свердловская обл."


def test_a_new_import_replaces_the_whole_table(engine: Engine, tmp_path: Path) -> None:
    import_numbering_file(engine, SAMPLE, now=NOW)
    path = write(tmp_path, "numbering_new.csv", "АВС/ DEF;От;До;Регион\n912;0;99999;Новый\n")
    assert import_numbering_file(engine, path, now=LATER) == (1, "utf-8")
    assert row_count(engine) == 1
    assert SqlNumberingLookup(engine).region_of("+79120000000") == "Новый"
    assert SqlNumberingLookup(engine).region_of("+74951000000") is None


def test_bytes_that_are_neither_utf8_nor_cp1251_are_refused() -> None:
    with pytest.raises(NumberingImportError, match="neither UTF-8 nor Windows-1251"):
        decode_numbering_bytes(b"\x98\xff")


def test_an_unreadable_file_is_an_import_error(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(NumberingImportError, match="cannot read"):
        import_numbering_file(engine, tmp_path / "missing.csv", now=NOW)


def test_progress_reports_lines_done_out_of_the_total(engine: Engine) -> None:
    seen: list[tuple[int, int]] = []
    import_numbering_file(engine, SAMPLE, now=NOW, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(13, 13)]


@pytest.mark.parametrize(
    ("number", "region"),
    [
        ("+79120000000", "Свердловская обл."),  # first number of the first range
        ("+79120099999", "Свердловская обл."),  # last number of a range
        ("+79120100000", "Пермский край"),  # first number of the next range
        ("+79120199999", "Пермский край"),
        ("+79120200000", None),  # just past the last range of the code
        ("+79231499999", "Новосибирская обл."),
        ("+79231500000", "Кемеровская обл."),
        ("+79230999999", None),  # just before the first range of the code
        ("+79999999999", "Калининградская обл."),  # the very last number
        ("+79161234567", "г. Москва и Московская область"),
        ("+79131234567", None),  # a code absent from the table
        ("+77012345678", None),  # Kazakhstan: not in the Russian plan
        ("+7912000000", None),  # too short
        ("+791200000000", None),  # too long
        ("79120000000", None),  # not E.164
        ("+380441234567", None),
    ],
)
def test_lookup_finds_the_range_holding_the_number(
    engine: Engine, number: str, region: str | None
) -> None:
    import_numbering_file(engine, SAMPLE, now=NOW)
    assert SqlNumberingLookup(engine).region_of(number) == region


def test_lookup_on_an_empty_table_finds_nothing(engine: Engine) -> None:
    assert SqlNumberingLookup(engine).region_of("+79161234567") is None
    assert numbering_source(engine) is None


def test_the_lookup_query_is_served_by_the_prefix_index(engine: Engine) -> None:
    query = (
        "EXPLAIN QUERY PLAN SELECT * FROM numbering_ranges WHERE prefix = 916 "
        "AND range_from <= 1234567 ORDER BY range_from DESC LIMIT 1"
    )
    with engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(query))
    assert "USING INDEX ix_numbering_ranges_prefix_range_from (prefix=? AND range_from<?)" in plan
