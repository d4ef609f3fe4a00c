"""`callback-dialer orders import FILE.csv`: a CRM export admitted through the campaign's
intake filter and the same screening as CRM orders; a malformed file admits nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cli_run import run
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialer.storage.migrate import open_database
from dialer.storage.models import OrderRow

MOSCOW = ZoneInfo("Europe/Moscow")


def recent(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[str, Path]:
    campaign = tmp_path / "campaign.toml"
    campaign.write_text('[campaign]\nname = "shop"\nagents = ["1001"]\n', encoding="utf-8")
    return f"sqlite:///{tmp_path / 'dialer.db'}", campaign


def orders_in(url: str) -> dict[str, tuple[str, str | None]]:
    with Session(open_database(url)) as session:
        return {r.id: (r.phase, r.outcome) for r in session.scalars(select(OrderRow))}


def ru_export(tmp_path: Path) -> Path:
    local = recent(9).astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M")
    lines = [
        "Номер заказа;Телефон;ФИО;Товар;Дата создания;Статус;Состояние;Источник;Регион",
        f"1001;+7 916 583-04-21;Ирина;Крем;{local};Ожидает подтверждения;Новый;site;Москва",
        f"1002;700000000000;Иван;Мака;{local};Ожидает подтверждения;Новый;site;",
        f"1003;+79165830422;Анна;Крем;{local};Отменён;Новый;site;",
        f"1004;+79165830423;Петр;Крем;{local};Ожидает подтверждения;Новый;Kaspi;",
    ]
    path = tmp_path / "export.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    return path


def test_a_cp1251_export_is_admitted_through_the_intake_filter_and_screening(
    setup: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, campaign = setup
    path = ru_export(tmp_path)
    code, out, err = run(capsys, "--db", url, "orders", "import", str(path),
                         "--campaign", str(campaign), "--json")  # fmt: skip
    assert (code, err) == (0, "")
    assert json.loads(out) == {"read": 4, "admitted": 1, "screened_out": 1,
                               "not_waiting": 2, "known": 0}  # fmt: skip
    stored = orders_in(url)
    assert stored["1001"] == ("queued", None)
    assert stored["1002"] == ("done", "invalid")  # rule 3: an obviously fake number
    assert "1003" not in stored and "1004" not in stored  # cancelled; Kaspi is excluded
    again = run(capsys, "--db", url, "orders", "import", str(path), "--campaign", str(campaign))
    assert again[0] == 0
    assert "0 admitted" in again[1] and "2 already known" in again[1]


def test_a_utf8_comma_export_with_iso_dates_and_a_bom(
    setup: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, campaign = setup
    path = tmp_path / "export.csv"
    created = recent(5).isoformat()
    text = (
        "id,phone,name,product,created_at,status,state,prepaid\n"
        f'77,89165830431,"Ольга, Н.",Мака,{created},Ожидает подтверждения,Новый,нет\n'
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    code, out, _ = run(capsys, "--db", url, "orders", "import", str(path), "--campaign",
                       str(campaign))  # fmt: skip
    assert code == 0
    assert out.startswith(f"{path}: 1 order(s) read; 1 admitted")
    assert orders_in(url)["77"] == ("queued", None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1,+79165830431,A,B,{t},Ожидает подтверждения\n2,+79165830432,A,B\n",
         "line 3: expected 6 fields, found 4"),
        ("1,+79165830431,A,B,yesterday,Ожидает подтверждения\n",
         "line 2: created_at: 'yesterday' is not ISO 8601"),
        ("1,,A,B,{t},Ожидает подтверждения\n", "line 2: phone: required"),
        ("1,+79165830431,A,B,{t},Ожидает подтверждения\n1,+79165830432,C,D,{t},Новый\n",
         "order id '1' appears more than once"),
    ],
)  # fmt: skip
def test_a_malformed_file_exits_2_naming_the_line_and_admits_nothing(
    setup: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    body: str, message: str,
) -> None:  # fmt: skip
    url, campaign = setup
    path = tmp_path / "bad.csv"
    header = "id,phone,name,product,created_at,status\n"
    path.write_text(header + body.replace("{t}", recent(5).isoformat()), encoding="utf-8")
    code, out, err = run(capsys, "--db", url, "orders", "import", str(path), "--campaign",
                         str(campaign))  # fmt: skip
    assert (code, out) == (2, "")
    assert f"bad.csv: {message}" in err
    with Session(open_database(url)) as session:
        assert session.scalar(select(func.count()).select_from(OrderRow)) == 0


def test_a_header_without_the_required_columns_is_named(
    setup: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, campaign = setup
    path = tmp_path / "x.csv"
    path.write_text("id;телефон;комментарий\n1;+79165830431;x\n", encoding="utf-8")
    code, _, err = run(capsys, "--db", url, "orders", "import", str(path), "--campaign",
                       str(campaign))  # fmt: skip
    assert code == 2
    assert "line 1: header lacks the column(s) name, product, created_at, status" in err


def test_the_help_says_all_or_nothing_and_the_filter(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "orders", "import", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "a malformed line exits 2 naming it and nothing is admitted" in text
    assert "intake filter" in text


def test_regression_a_bad_row_with_a_quoted_line_break_is_named_by_its_first_line() -> None:
    """Found by the fuzz test: a quoted cell holding a line break made the error name the
    row's last physical line; ops look for the line where the row starts."""
    from dialer.imports.orders_csv import OrdersFileError, read_orders  # noqa: PLC0415

    text = (
        "id;phone;name;product;created_at;status;state\n"
        "a1;+79165830000;Анна;Крем;2026-11-22T10:00:00+00:00;Новый;Новый\n"
        'a 2\x01;+79165830000;"Анна\nПетрова";Крем;2026-11-22T10:00:00+00:00;Новый;Новый\n'
    )
    with pytest.raises(OrdersFileError) as caught:
        list(read_orders(text, ZoneInfo("Europe/Moscow")))
    assert caught.value.line == 3  # the bad row spans lines 3–4


def test_a_byte_order_mark_before_windows_1251_bytes_is_a_damaged_file() -> None:
    """The same decoding as the numbering import: a UTF-8 mark followed by cp1251 bytes is
    refused for the whole file, not read as Windows-1251 with the mark's bytes dropped."""
    from dialer.imports.orders_csv import OrdersFileError, decode  # noqa: PLC0415

    with pytest.raises(OrdersFileError, match="byte-order mark but byte 6 is not UTF-8"):
        decode(b"\xef\xbb\xbf" + "id;телефон\n".encode("cp1251"))
    assert decode("id;телефон\n".encode("cp1251")) == ("id;телефон\n", "cp1251")


def test_an_export_carries_the_order_card_and_a_bad_card_cell_is_named(
    setup: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 §1: the card's optional columns (сумма, адрес, дата доставки, доп. телефон,
    комментарий) reach the stored order; a malformed one exits 2 naming line and field."""
    url, campaign = setup
    local = recent(9).astimezone(MOSCOW).strftime("%d.%m.%Y %H:%M")
    header = ("Номер заказа;Телефон;ФИО;Товар;Дата создания;Статус;Состояние;Сумма;Адрес доставки;"
              "Дата доставки;Доп. телефон;Комментарий")  # fmt: skip
    row = (f"НФ-00123;+7 916 583-04-21;Ирина;Крем;{local};Ожидает подтверждения;Новый;1 490,50;"
           "Алматы, ул. Абая 1;14.03.2026;+77011234567;<b>после 18:00</b>")  # fmt: skip
    path = tmp_path / "card.csv"
    path.write_bytes(f"{header}\r\n{row}\r\n".encode("cp1251"))
    code, out, err = run(capsys, "--db", url, "orders", "import", str(path),
                         "--campaign", str(campaign))  # fmt: skip
    assert (code, err) == (0, ""), out
    assert "1 admitted" in out, out
    with Session(open_database(url)) as session:
        stored = session.get(OrderRow, "НФ-00123")
        assert stored is not None
        card = (stored.total, stored.address, stored.delivery_date, stored.extra_phone,
                stored.customer_comment)  # fmt: skip
    assert card == ("1490.50", "Алматы, ул. Абая 1", date(2026, 3, 14), "+77011234567",
                    "<b>после 18:00</b>")  # fmt: skip
    bad = tmp_path / "bad.csv"
    bad.write_bytes(f"{header}\r\n{row.replace('14.03.2026', '31.02.2026')}\r\n".encode("cp1251"))
    code, _, err = run(capsys, "--db", url, "orders", "import", str(bad),
                       "--campaign", str(campaign))  # fmt: skip
    assert code == 2
    assert "line 2" in err and "delivery_date" in err
