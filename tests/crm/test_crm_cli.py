"""`callback-dialer crm check`: connect with the [crm] section and fetch one page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from crm_servers import SECRET, HttpJsonCrm

from dialer.cli import main


def _config(tmp_path: Path, url: str, campaign: str = "") -> Path:
    path = tmp_path / "dialer.toml"
    path.write_text(
        f'{campaign}[crm]\nkind = "http"\npage_size = 2\n[crm.http]\npull_url = "{url}/orders"\n'
        f'status_url = "{url}/orders/{{id}}"\noutcome_url = "{url}/outcomes"\n'
        'secret_env = "TEST_CRM_SECRET"\n',
        encoding="utf-8",
    )
    return path


def _order(order_id: str, status: str, state: str) -> dict[str, str]:
    return {
        "id": order_id, "phone": "+79161234567", "name": "Иван", "product": "Мака",
        "created_at": f"2026-03-10T10:0{len(order_id)}:00+03:00", "status": status,
        "state": state,
    }  # fmt: skip


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


def test_crm_check_pulls_with_the_files_own_campaign_filter_and_page_size(
    http_crm: HttpJsonCrm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Issue 13: not the default campaign's filter, but the one `run` uses."""
    monkeypatch.setenv("TEST_CRM_SECRET", SECRET.decode())
    for order in (
        _order("НФ-1", "Новый заказ", "В очереди CallBack"),
        _order("2", "Ожидает подтверждения", "Новый"),  # the default filter's order
    ):
        http_crm.orders[order["id"]] = order
    campaign = (
        '[campaign]\nintake_statuses = ["Новый заказ"]\n'
        'intake_states = ["В очереди CallBack"]\nexcluded_sources = []\n'
    )
    config = _config(tmp_path, http_crm.server.url, campaign)
    assert main(["crm", "check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "http CRM reachable: 1 waiting order(s)" in out
    assert "  НФ-1\t" in out and "  2\t" not in out
    (get,) = [path for method, path, _h, _b in http_crm.server.requests if method == "GET"]
    query = parse_qs(urlsplit(get).query)
    assert query["status"] == ["Новый заказ"] and query["state"] == ["В очереди CallBack"]
    assert query["limit"] == ["2"] and "exclude_source" not in query


@pytest.mark.parametrize(
    ("campaign", "named"),
    [
        ("[campaign]\nintake_statuses = []\n", "campaign: intake_statuses: at least one"),
        ('[campaign]\nintake_statuses = "Новый"\n', "campaign.intake_statuses"),
        ("[campaign]\nintake_statez = []\n", "campaign.intake_statez: unknown setting"),
    ],
)
def test_crm_check_names_a_bad_campaign_field_with_exit_2(
    campaign: str, named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("TEST_CRM_SECRET", SECRET.decode())
    path = _config(tmp_path, "http://127.0.0.1:9", campaign)
    with pytest.raises(SystemExit) as exit_:
        main(["crm", "check", "--config", str(path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
