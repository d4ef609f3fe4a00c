"""`callback-dialer numbering import|lookup|status`, run through ``dialer.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def lookup(capsys: pytest.CaptureFixture[str], url: str, number: str) -> tuple[int, object]:
    code, out, _ = run(capsys, "--db", url, "numbering", "lookup", number)
    return code, json.loads(out)


def test_import_then_lookup_prints_the_range_as_json(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "--db", url, "numbering", "import", str(DATA / "numbering_sample.csv")
    )
    assert (code, err) == (0, "")  # no progress line: stderr is not a terminal here
    assert out == f"imported 12 ranges from {DATA / 'numbering_sample.csv'} (utf-8)\n"
    assert lookup(capsys, url, "+7 912 010-00-00") == (
        0,
        {
            "number": "+79120100000",
            "region": "Пермский край",
            "operator": 'ПАО "Мобильные ТелеСистемы"',
            "prefix": "912",
            "range_from": "0100000",
            "range_to": "0199999",
        },
    )


def test_lookup_of_an_unknown_number_prints_null_and_exits_1(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lookup(capsys, url, "89131234567") == (1, {"number": "+79131234567", "region": None})


def test_progress_flag_draws_a_progress_line_on_stderr(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = str(DATA / "numbering_sample_cp1251.csv")
    code, out, err = run(capsys, "--db", url, "numbering", "import", sample, "--progress")
    assert code == 0 and out.endswith("(cp1251)\n")
    assert err == "\rnumbering import: 13/13 lines (100%)\n"


def test_a_malformed_file_exits_2_naming_the_line_and_keeps_the_old_table(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "--db", url, "numbering", "import", str(DATA / "numbering_sample.csv"))
    bad = str(DATA / "numbering_malformed.csv")
    code, out, err = run(capsys, "--db", url, "numbering", "import", bad)
    assert (code, out) == (2, "")
    assert err == "callback-dialer: error: line 7: До '01x9999' is not a number\n"
    assert lookup(capsys, url, "+79120100000")[0] == 0
    assert run(capsys, "--db", url, "numbering", "status")[1].startswith(
        "12 ranges from numbering_sample.csv, imported "
    )


def test_a_missing_file_exits_2(
    url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "--db", url, "numbering", "import", str(tmp_path / "none.csv"))
    assert code == 2
    assert "cannot read" in err and "none.csv" in err


def test_status_before_any_import_exits_1(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--db", url, "numbering", "status")
    assert code == 1 and out.startswith("no numbering table imported yet")
