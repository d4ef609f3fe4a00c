"""`orders import` under fuzz, through the real CLI and SQLite: garbage lines, wrong
encodings and delimiters, wrong column counts, huge and odd fields. Exit 0 with counts that
add up, or exit 2 naming the line (or the whole file) with nothing admitted."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_run import run
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialer.storage.migrate import open_database
from dialer.storage.models import OrderRow

ERROR = re.compile(r"callback-dialer: error: \S+\.csv: (line (\d+): )?\S.*\n", re.DOTALL)
HEADERS = [
    ["id", "phone", "name", "product", "created_at", "status", "state"],
    ["Номер заказа", "Телефон", "ФИО", "Товар", "Дата создания", "Статус", "Состояние"],
    ["id", "phone", "name"],
    ["garbage"],
]
_serial = itertools.count()
cells = st.one_of(
    st.sampled_from(["+79165830431", "89165830431", "700000000000", "Ожидает подтверждения",
                     "Новый", "Отменён", "10.03.2026 11:50", "31.02.2026 10:00", "", "\x00",
                     '"', "x" * 1500, "²", "１２３", "да", "maybe", "\ud83d\ude00"]),
    st.text(max_size=15),
)  # fmt: skip


@st.composite
def files(draw: st.DrawFn) -> tuple[list[str], list[list[str]], str, str]:
    header = draw(st.sampled_from(HEADERS))
    created = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        good = [f"z{next(_serial)}", "+7916583" + f"{draw(st.integers(0, 9999)):04d}", "Имя",
                "Крем", created, "Ожидает подтверждения", "Новый"]  # fmt: skip
        row = good[: len(header)]
        for index in draw(st.lists(st.integers(0, 7), max_size=3)):
            if index < len(row):
                row[index] = draw(cells)
            else:
                row.append(draw(cells))
        rows.append(row)
    return (
        header,
        rows,
        draw(st.sampled_from([";", ","])),
        draw(st.sampled_from(["utf-8", "cp1251", "utf-8-sig", "latin-1"])),
    )


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    tmp = tmp_path_factory.mktemp("fuzz-orders")
    campaign = tmp / "campaign.toml"
    campaign.write_text('[campaign]\nname = "shop"\nagents = ["1001"]\n', encoding="utf-8")
    yield f"sqlite:///{tmp / 'dialer.db'}", campaign, tmp


def count(url: str) -> int:
    with Session(open_database(url)) as session:
        return session.scalar(select(func.count()).select_from(OrderRow)) or 0


def quoted(cell: str, delimiter: str) -> str:
    return f'"{cell}"' if delimiter in cell and '"' not in cell else cell


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(file=files())
def test_an_export_is_admitted_whole_or_refused_naming_the_line(
    place: tuple[str, Path, Path],
    capsys: pytest.CaptureFixture[str],
    file: tuple[list[str], list[list[str]], str, str],
) -> None:
    url, campaign, tmp = place
    header, rows, delimiter, encoding = file
    lines = [delimiter.join(quoted(c, delimiter) for c in r) for r in [header, *rows]]
    path = tmp / f"f{next(_serial)}.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding, "replace"))
    before = count(url)
    code, out, err = run(capsys, "--db", url, "orders", "import", str(path),
                         "--campaign", str(campaign), "--json")  # fmt: skip
    event(f"exit {code}")
    if code == 0:
        counts = json.loads(out)
        parts = ("admitted", "screened_out", "not_waiting", "known")
        assert sum(counts[p] for p in parts) == counts["read"]
        assert count(url) == before + counts["admitted"] + counts["screened_out"]
        return
    assert (code, out) == (2, ""), err
    match = ERROR.fullmatch(err)
    assert match is not None, err
    assert len(err) < 700, err
    if match[2] is not None:
        assert 1 <= int(match[2]) <= len(rows) + 1, err
    assert count(url) == before  # nothing admitted from a refused file
