"""`callback-dialer crm check`: connect with the [crm] section and fetch one page."""

from __future__ import annotations

from pathlib import Path

import pytest
from crm_servers import SECRET, HttpJsonCrm

from dialer.cli import main


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "dialer.toml"
    path.write_text(
        f'[crm]\nkind = "http"\n[crm.http]\npull_url = "{url}/orders"\n'
        f'status_url = "{url}/orders/{{id}}"\noutcome_url = "{url}/outcomes"\n'
        'secret_env = "TEST_CRM_SECRET"\n',
        encoding="utf-8",
    )
    return path


def test_crm_check_fetches_the_first_page(
    http_crm: HttpJsonCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("TEST_CRM_SECRET", SECRET.decode())
    http_crm.orders["7"] = {
        "id": "7", "phone": "+79161234567", "name": "Иван", "product": "Мака",
        "created_at": "2026-03-10T10:00:00+03:00", "status": "Ожидает подтверждения",
        "state": "Новый",
    }  # fmt: skip
    assert main(["crm", "check", "--config", str(_config(tmp_path, http_crm.server.url))]) == 0
    assert "http CRM reachable: 1 waiting order(s)" in capsys.readouterr().out


def test_crm_check_reports_an_unreachable_crm_with_exit_1(
    http_crm: HttpJsonCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("TEST_CRM_SECRET", SECRET.decode())
    http_crm.server.down = True
    assert main(["crm", "check", "--config", str(_config(tmp_path, http_crm.server.url))]) == 1
    assert "503" in capsys.readouterr().err


def test_crm_check_names_the_bad_field_with_exit_2(tmp_path: Path) -> None:
    path = _config(tmp_path, "http://127.0.0.1:9")
    with pytest.raises(SystemExit) as exit_:
        main(["crm", "check", "--config", str(path)])  # TEST_CRM_SECRET is not set
    assert exit_.value.code == 2
