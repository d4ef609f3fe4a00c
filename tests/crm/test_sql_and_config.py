"""SQL mapping identifiers, the [crm] TOML loader (errors name the field, secrets from env or
file) and the pre-dial re-check rules (business-rules §2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from campaigns.outcomes import CrmFields, OutcomeKind
from campaigns.settings import CampaignSettings
from crm_adapter.config import load_crm_config, parse_crm_config
from crm_adapter.errors import CrmConfigError
from crm_adapter.port import CrmOrderStatus
from crm_adapter.recheck import leave_queue_reason
from crm_adapter.sql import OrderColumns, SqlCrmSettings, check_identifier

HTTP = {
    "kind": "http",
    "http": {
        "pull_url": "https://crm.example/orders", "status_url": "https://crm.example/orders/{id}",
        "outcome_url": "https://crm.example/outcomes", "secret_env": "CRM_SECRET",
    },
}  # fmt: skip
ENV = {"CRM_SECRET": "s" * 32, "SHOP_DB_PASSWORD": "p@ss word", "RETAIL_KEY": "k"}


@pytest.mark.parametrize("name", ["orders", "Заказы", "status_2", "_x"])
def test_plain_identifiers_are_accepted(name: str) -> None:
    assert check_identifier(name, "crm.sql.table") == name


@pytest.mark.parametrize(
    "name", ["orders; DROP TABLE x", 'a"b', "1col", "a b", "a.b", "", "x" * 64, "t--"]
)
def test_identifiers_that_could_carry_sql_are_refused_naming_the_field(name: str) -> None:
    with pytest.raises(CrmConfigError, match=r"^crm\.sql\.columns\.phone: "):
        SqlCrmSettings(url="sqlite://", columns=OrderColumns(phone=name))


def test_http_section_loads_with_the_secret_from_the_environment() -> None:
    config = parse_crm_config(HTTP, ENV)
    assert config.kind == "http" and config.http is not None
    assert config.http.secret == b"s" * 32
    assert config.mapping[OutcomeKind.NO_ANSWER] == CrmFields("Недозвон", "Не отвечает")


def test_secrets_written_in_the_file_are_refused() -> None:
    section = {"kind": "http", "http": HTTP["http"] | {"secret": "plain"}}  # type: ignore[operator]
    with pytest.raises(CrmConfigError, match=r"crm\.http\.secret: secrets are not written"):
        parse_crm_config(section, ENV)


def test_a_missing_environment_variable_is_named() -> None:
    with pytest.raises(CrmConfigError, match=r"crm\.http\.secret_env: .*CRM_SECRET is not set"):
        parse_crm_config(HTTP, {})


def test_mapping_overrides_the_manuals_defaults() -> None:
    section = HTTP | {"mapping": {"refused": {"status": "Отменён", "problem": "Передумал"},
                                  "confirmed": {"status": "Подтвержден"}}}  # fmt: skip
    config = parse_crm_config(section, ENV)
    assert config.mapping[OutcomeKind.REFUSED] == CrmFields("Отменён", "Передумал")
    assert config.mapping[OutcomeKind.CONFIRMED] == CrmFields("Подтвержден", None)
    assert config.mapping[OutcomeKind.CALLBACK] == CrmFields("В работе", "Нужно перезвонить")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"kind": "ftp"}, r"crm\.kind: 'ftp' is not one of"),
        (HTTP | {"page_size": 500}, r"crm\.page_size: must be 1\.\.100"),
        (HTTP | {"mapping": {"nope": {"status": "x"}}}, r"crm\.mapping\.nope: unknown outcome"),
        (HTTP | {"mapping": {"refused": {"status": "Отказ", "problem": ""}}},
         r"crm\.mapping\.refused\.problem: a refusal needs a problem"),
        (HTTP | {"mapping": {"spam": {"stats": "x"}}},
         r"crm\.mapping\.spam\.stats: unknown setting"),
        ({"kind": "http", "http": {**HTTP["http"], "pull_url": "ftp://x"}},  # type: ignore[dict-item]
         r"crm\.http\.pull_url: must start with https://"),
        ({"kind": "sql", "sql": {"url": "postgresql+psycopg://shop:secret@db/shop"}},
         r"crm\.sql\.url: must not contain the password"),
        ({"kind": "sql", "sql": {"url": "sqlite://", "columns": {"id": "id; --"}}},
         r"crm\.sql\.columns\.id: 'id; --' is not a plain SQL identifier"),
        ({"kind": "sql", "sql": {"url": "sqlite://", "write_mode": "append"}},
         r"crm\.sql\.write_mode: 'append' is not columns or table"),
        ({"kind": "retailcrm", "retailcrm": {"url": "https://x.retailcrm.ru"}},
         r"crm\.retailcrm: set exactly one of api_key_env or api_key_file"),
        ({"kind": "retailcrm", "retailcrm": {"url": "https://x.retailcrm.ru",
                                             "api_key_env": "RETAIL_KEY", "by": "number"}},
         r"crm\.retailcrm: by must be id or externalId"),
        ({"kind": "retailcrm", "retailcrm": {"url": "https://x.retailcrm.ru",
                                             "api_key_env": "RETAIL_KEY", "history": "yes"}},
         r"crm\.retailcrm\.history: expected true or false"),
        ({"kind": "retailcrm", "retailcrm": {"url": "https://x.retailcrm.ru",
                                             "api_key_env": "RETAIL_KEY", "poll_interval_s": 0}},
         r"crm\.retailcrm\.poll_interval_s: expected a positive number"),
        ({"kind": "retailcrm", "retailcrm": {"url": "https://x.retailcrm.ru",
                                             "api_key_env": "RETAIL_KEY",
                                             "cursor_max_age_s": "1d"}},
         r"crm\.retailcrm\.cursor_max_age_s: expected a positive number"),
    ],
)  # fmt: skip
def test_config_errors_name_the_field(section: dict[str, object], message: str) -> None:
    with pytest.raises(CrmConfigError, match=message):
        parse_crm_config(section, ENV)


def test_sql_password_comes_from_the_environment_and_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "retail.key").write_text("key-from-file\n", encoding="utf-8")
    (tmp_path / "crm.toml").write_text(
        '[crm]\nkind = "sql"\n[crm.sql]\nurl = "postgresql+psycopg://shop@db.local/shop"\n'
        'password_env = "SHOP_DB_PASSWORD"\ntable = "orders"\n'
        '[crm.sql.columns]\nphone = "tel"\nregion = ""\n'
        '[crm.retailcrm]\nurl = "https://x.retailcrm.ru"\napi_key_file = "retail.key"\n',
        encoding="utf-8",
    )
    config = load_crm_config(tmp_path / "crm.toml", ENV)
    assert config.sql is not None and config.retailcrm is None
    url = make_url(config.sql.url)
    assert (url.username, url.password, url.host) == ("shop", "p@ss word", "db.local")
    assert config.sql.columns.phone == "tel" and config.sql.columns.region is None
    assert "p@ss" not in repr(config.sql)
    retail = (
        (tmp_path / "crm.toml")
        .read_text(encoding="utf-8")
        .replace('kind = "sql"', 'kind = "retailcrm"')
    )
    (tmp_path / "crm.toml").write_text(retail, encoding="utf-8")
    config = load_crm_config(tmp_path / "crm.toml", ENV)
    assert config.retailcrm is not None and config.retailcrm.api_key == "key-from-file"
    r = config.retailcrm  # the intake's defaults: history, a 2-s poll, 30-s listings
    assert (r.history, r.poll_interval_s, r.listing_interval_s) == (True, 2.0, 30.0)


def test_an_unreadable_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CrmConfigError, match="cannot read"):
        load_crm_config(tmp_path / "missing.toml", ENV)
    (tmp_path / "bad.toml").write_text("[crm\n", encoding="utf-8")
    with pytest.raises(CrmConfigError, match="not valid TOML"):
        load_crm_config(tmp_path / "bad.toml", ENV)


SETTINGS = CampaignSettings()


@pytest.mark.parametrize(
    ("current", "reason"),
    [
        (CrmOrderStatus("1", "Ожидает подтверждения", "Новый"), None),
        (CrmOrderStatus("1", "Недозвон"), None),
        (CrmOrderStatus("1", "В работе"), None),
        (CrmOrderStatus("1", "Корзина"), "never-touch status 'Корзина'"),
        (CrmOrderStatus("1", "Запрос на аннуляцию"), "never-touch status 'Запрос на аннуляцию'"),
        (CrmOrderStatus("1", "Ожидает подтверждения", "Новый", prepaid=True), "fully prepaid"),
        (CrmOrderStatus("1", "Ожидает подтверждения", "Новый", source="Kaspi"),
         "excluded source 'Kaspi'"),
        (CrmOrderStatus("1", "Ожидает подтверждения", "Подтвержден"),
         "state changed to 'Подтвержден'"),
        (CrmOrderStatus("1", "В буфер"), "status changed to 'В буфер'"),
    ],
)  # fmt: skip
def test_never_touch_and_changes_by_a_person_take_the_order_out_of_the_queue(
    current: CrmOrderStatus, reason: str | None
) -> None:
    """Business-rules §2: re-checked right before every dial; such orders leave silently."""
    written = frozenset({"Недозвон", "В работе"})
    assert leave_queue_reason(current, SETTINGS, dialer_written=written) == reason
