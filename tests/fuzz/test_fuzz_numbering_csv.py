"""`numbering import` under fuzz, through the real CLI and SQLite: garbage lines, wrong
encodings, wrong column counts, huge fields. Exit 0 with every range imported, or exit 2
naming the line (0 for the whole file); the previous table intact either way."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_run import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "numbering_sample.csv"
HEADER = "АВС/ DEF ;От ;До ;Емкость ;Оператор ;Регион ;Территория ГАР ;ИНН "
GOOD_ROW = '916;1000000;1099999;100000;ПАО "МТС";г. Москва;г. Москва;7740000076'
ERROR = re.compile(r"callback-dialer: error: (line (\d+): )?\S.*\n", re.DOTALL)
_serial = itertools.count()

cells = st.one_of(
    st.sampled_from(["916", "1000000", "1099999", "", " ", "0x10", "-1", "１２３", "²",
                     "9" * 12, "\x00", '"', '""', "a;b", "x" * 140_000, "Москва", "\ufeff"]),
    st.text(max_size=12),
)  # fmt: skip
rows = st.one_of(
    st.just(GOOD_ROW),
    st.lists(cells, min_size=0, max_size=10).map(";".join),
    st.text(max_size=40),
)
files = st.tuples(
    st.sampled_from([HEADER, "", "garbage", "АВС/ DEF;От;До", HEADER.replace(";", ",")]),
    st.lists(rows, max_size=6),
    st.sampled_from(["utf-8", "cp1251", "utf-8-sig", "utf-16", "bom+latin"]),
    st.sampled_from(["\n", "\r\n", "\r"]),
)


def encode(text: str, encoding: str) -> bytes:
    if encoding == "bom+latin":
        return b"\xef\xbb\xbf" + text.encode("latin-1", "replace") + b"\xe9\xff"
    return text.encode(encoding, "replace")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("fuzz-numbering")
    yield f"sqlite:///{tmp / 'numbering.db'}", tmp


def status(capsys: pytest.CaptureFixture[str], url: str) -> str:
    return run(capsys, "--db", url, "numbering", "status")[1]


def restore(capsys: pytest.CaptureFixture[str], url: str) -> str:
    code, _, err = run(capsys, "--db", url, "numbering", "import", str(SAMPLE))
    assert code == 0, err
    before = status(capsys, url)
    assert before.startswith("12 ranges from numbering_sample.csv")
    return before


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(file=files)
def test_a_file_is_imported_whole_or_refused_naming_the_line(
    db: tuple[str, Path], capsys: pytest.CaptureFixture[str], file: tuple[str, list[str], str, str]
) -> None:
    url, tmp = db
    header, body, encoding, newline = file
    before = status(capsys, url)
    if not before.startswith("12 ranges from numbering_sample.csv"):
        before = restore(capsys, url)  # the previous example imported its file
    path = tmp / f"f{next(_serial)}.csv"
    path.write_bytes(encode(newline.join([header, *body]) + newline, encoding))
    code, out, err = run(capsys, "--db", url, "numbering", "import", str(path))
    if code == 0:
        imported = int(re.fullmatch(r"imported (\d+) ranges from .*\n", out)[1])  # type: ignore[index]
        assert status(capsys, url).startswith(f"{imported} ranges from {path.name}")
        return
    assert (code, out) == (2, ""), err
    match = ERROR.fullmatch(err)
    assert match is not None, err
    assert len(err) < 600, err  # a huge field is not echoed whole
    if match[2] is not None:
        assert 1 <= int(match[2]) <= len(body) + 2, err
    assert status(capsys, url) == before  # the old table stays
    assert run(capsys, "--db", url, "numbering", "lookup", "+79120100000")[0] == 0


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\xef\xbb\xbf" + HEADER.encode() + b"\n\xe9\xff\n",
         "byte-order mark but byte 113 is not UTF-8"),
        (HEADER.encode() + b"\n" + GOOD_ROW.replace("МТС", "x" * 140_000).encode() + b"\n",
         "line 2: "),
        (HEADER.encode() + b"\n" + GOOD_ROW.replace("МТС", "x" * 2000).encode() + b"\n",
         "line 2: field 5 is over 1000 chars"),
        (HEADER.encode() + b"\n" + GOOD_ROW.replace("МТС", "М\x00С").encode() + b"\n",
         "line 2: field 5 holds a NUL character"),
    ],
)  # fmt: skip
def test_regression_bom_garbage_huge_fields_and_nul_are_clear_errors(
    db: tuple[str, Path], capsys: pytest.CaptureFixture[str], data: bytes, problem: str
) -> None:
    """Found by the fuzz test: a UTF-8 BOM followed by bytes that are not UTF-8 raised
    UnicodeDecodeError, and a field over 128 KiB raised csv.Error, both as a traceback
    (now the first is a whole-file error, the second names the line and field);
    a NUL in a text cell reached the database (PostgreSQL refuses NUL in text, reported as
    'cannot write the numbering table')."""
    url, tmp = db
    before = restore(capsys, url)
    path = tmp / f"regression{next(_serial)}.csv"
    path.write_bytes(data)
    code, out, err = run(capsys, "--db", url, "numbering", "import", str(path))
    assert (code, out) == (2, "")
    assert problem in err, err
    assert status(capsys, url) == before
