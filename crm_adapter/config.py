"""The ``[crm]`` TOML section: adapter kind, per-kind settings, outcome mapping, secrets.

Secrets are never written in the file: each is named by ``<name>_env`` (an environment
variable) or ``<name>_file`` (a file whose content, without the trailing newline, is the
secret). Every error is a ``CrmConfigError`` naming the field, e.g. ``crm.http.pull_url``.
See docs/crm.md for a full example of each kind.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from campaigns.outcomes import DEFAULT_CRM_MAPPING, CrmFields, OutcomeKind
from crm_adapter.errors import CrmConfigError
from crm_adapter.http_json import HttpJsonSettings
from crm_adapter.port import MAX_PAGE_SIZE
from crm_adapter.retailcrm import CustomFields, RetailCrmSettings
from crm_adapter.retailcrm_codes import RETAILCRM_MAPPING
from crm_adapter.sql import OrderColumns, OutcomeColumns, OutcomeTable, SqlCrmSettings

Kind = Literal["http", "sql", "retailcrm"]
KINDS: tuple[Kind, ...] = ("http", "sql", "retailcrm")
_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class CrmConfig:
    """The loaded ``[crm]`` section; exactly the settings of ``kind`` are present."""

    kind: Kind
    page_size: int = MAX_PAGE_SIZE
    mapping: Mapping[OutcomeKind, CrmFields] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_CRM_MAPPING))
    )
    http: HttpJsonSettings | None = None
    sql: SqlCrmSettings | None = None
    retailcrm: RetailCrmSettings | None = None
    order_url: str | None = None


def order_url_template(value: Any, where: str = "crm.order_url") -> str | None:
    """``[crm] order_url``: the CRM's page of an order, ``https://…/orders/{id}`` (issue 15).

    None when unset or ""; else it must be http(s) and hold ``{id}``, which the order card
    replaces by the id percent-encoded as UTF-8. A CrmConfigError names ``where``.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise CrmConfigError(f"{where}: expected a string")
    if not value.startswith(("http://", "https://")):
        raise CrmConfigError(f"{where}: must start with https:// or http://")
    if "{id}" not in value:
        raise CrmConfigError(
            f"{where}: must contain {{id}}, e.g. https://crm.example/orders/{{id}}"
        )
    if any(c.isspace() or not c.isprintable() for c in value):
        raise CrmConfigError(f"{where}: must not contain spaces or control characters")
    return value


def load_crm_config(path: Path, environ: Mapping[str, str]) -> CrmConfig:
    """Reads ``path`` (TOML) and its ``[crm]`` section; secrets from ``environ`` or files."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CrmConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CrmConfigError(f"{path}: not valid TOML: {exc}") from exc
    if not isinstance(data.get("crm"), dict):
        raise CrmConfigError(f"{path}: crm: the [crm] section is missing")
    return parse_crm_config(data["crm"], environ, base=path.parent)


def parse_crm_config(
    crm: Mapping[str, Any], environ: Mapping[str, str], *, base: Path = Path()
) -> CrmConfig:
    """The ``[crm]`` table already parsed from TOML."""
    section = _Section(crm, "crm", environ, base)
    kind = section.text("kind")
    if kind not in KINDS:
        raise CrmConfigError(f"crm.kind: {kind!r} is not one of {', '.join(KINDS)}")
    page_size = section.integer("page_size", MAX_PAGE_SIZE)
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise CrmConfigError(f"crm.page_size: must be 1..{MAX_PAGE_SIZE}, not {page_size}")
    mapping = _mapping(section.table("mapping"), default_mapping(kind))
    order_url = order_url_template(section.optional_text("order_url", None))
    http = _http(section.table("http")) if kind == "http" else None
    sql = _sql(section.table("sql")) if kind == "sql" else None
    retailcrm = _retailcrm(section.table("retailcrm")) if kind == "retailcrm" else None
    for other in KINDS:
        section.allow(other)  # the sections of other kinds may stay in the file
    section.allow("telephony")  # [crm.telephony]: crm_adapter.retailcrm_telephony
    section.done()
    return CrmConfig(
        kind, page_size, MappingProxyType(mapping), http, sql, retailcrm, order_url=order_url
    )


def default_mapping(kind: str) -> Mapping[OutcomeKind, CrmFields]:
    """The mapping an outcome not set in ``[crm.mapping]`` takes: RetailCRM's stock status
    codes for ``retailcrm`` (``crm_adapter.retailcrm_codes``), the manuals' names else."""
    return RETAILCRM_MAPPING if kind == "retailcrm" else DEFAULT_CRM_MAPPING


def _mapping(
    section: _Section, defaults: Mapping[OutcomeKind, CrmFields]
) -> dict[OutcomeKind, CrmFields]:
    mapping = dict(defaults)
    for name in section.names():
        try:
            kind = OutcomeKind(name)
        except ValueError:
            known = ", ".join(k.value for k in OutcomeKind)
            raise CrmConfigError(
                f"{section.where}.{name}: unknown outcome (one of {known})"
            ) from None
        entry = section.table(name)
        default = mapping.get(kind)
        status = entry.text("status", default.status if default else _REQUIRED)
        problem = entry.optional_text("problem", default.problem if default else None)
        entry.done()
        if kind is OutcomeKind.REFUSED and not problem:
            raise CrmConfigError(f"{entry.where}.problem: a refusal needs a problem (002)")
        configured = entry.has("problem")
        mapping[kind] = CrmFields(status, problem or None, problem_configured=configured)
    return mapping


def _http(s: _Section) -> HttpJsonSettings:
    settings: HttpJsonSettings = _built(
        s,
        HttpJsonSettings,
        pull_url=s.url("pull_url"),
        status_url=s.url("status_url"),
        outcome_url=s.url("outcome_url"),
        secret=s.secret("secret").encode("utf-8"),
        timeout_s=s.number("timeout_s", 10.0),
    )
    s.done()
    return settings


def _sql(s: _Section) -> SqlCrmSettings:
    url = _sql_url(s)
    columns = _names(s.table("columns"), OrderColumns)
    outcome_columns = _names(s.table("outcome_columns"), OutcomeColumns)
    outcome_table = _names(s.table("outcome_table"), OutcomeTable)
    mode = s.text("write_mode", "columns")
    settings = SqlCrmSettings(
        url=url,
        table=s.text("table", "orders"),
        schema=s.optional_text("schema", None),
        columns=columns,
        write_mode=cast(Literal["columns", "table"], mode),
        outcome_columns=outcome_columns,
        outcome_table=outcome_table,
        timezone=s.text("timezone", "UTC"),
        call_made_text=s.pair("call_made_text", ("Совершался", "Не совершался")),
    )
    s.done()
    return settings


def _sql_url(s: _Section) -> str:
    if s.has("url_env") or s.has("url_file"):
        return s.secret("url")
    raw = s.text("url")
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise CrmConfigError(f"{s.where}.url: malformed database URL") from exc
    if url.password is not None:
        raise CrmConfigError(
            f"{s.where}.url: must not contain the password; use password_env or password_file"
        )
    if s.has("password_env") or s.has("password_file") or s.has("password"):
        url = url.set(password=s.secret("password"))
    return url.render_as_string(hide_password=False)


def _retailcrm(s: _Section) -> RetailCrmSettings:
    settings: RetailCrmSettings = _built(
        s,
        RetailCrmSettings,
        url=s.url("url"),
        api_key=s.secret("api_key"),
        site=s.optional_text("site", None),
        by=s.text("by", "id"),
        timezone=s.text("timezone", "Europe/Moscow"),
        rate_per_s=s.number("rate_per_s", 10.0),
        max_wait_s=s.number("max_wait_s", 30.0),
        retries=s.integer("retries", 3),
        source_field=s.text("source_field", "orderMethod"),
        default_state=s.text("default_state", "Новый"),
        custom_fields=_names(s.table("custom_fields"), CustomFields, identifiers=False),
        call_made_text=s.pair("call_made_text", ("Совершался", "Не совершался")),
        timeout_s=s.number("timeout_s", 10.0),
        comment_to=s.text("comment_to", "managerComment"),
        history=s.boolean("history", True),
        poll_interval_s=s.number("poll_interval_s", 2.0),
        listing_interval_s=s.number("listing_interval_s", 30.0),
        cursor_max_age_s=s.number("cursor_max_age_s", 86400.0),
    )
    s.done()
    return settings


def _built(s: _Section, cls: Any, **values: Any) -> Any:
    try:
        return cls(**values)
    except ValueError as exc:
        raise CrmConfigError(f"{s.where}: {exc}") from exc


def _names(s: _Section, cls: Any, *, identifiers: bool = True) -> Any:
    """A dataclass of names from a table; a key set to "" disables an optional one."""
    values: dict[str, Any] = {}
    for name in cls.__dataclass_fields__:
        if s.has(name):
            values[name] = s.optional_text(name, None)
    s.done()
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise CrmConfigError(f"{s.where}: {exc}") from exc


class _Section:
    """One TOML table being read; remembers the keys used so unknown ones are named."""

    def __init__(self, data: Any, where: str, environ: Mapping[str, str], base: Path) -> None:
        if not isinstance(data, dict):
            raise CrmConfigError(f"{where}: expected a table")
        self.data, self.where, self._environ, self._base = data, where, environ, base
        self._used: set[str] = set()

    def names(self) -> list[str]:
        return list(self.data)

    def has(self, key: str) -> bool:
        return key in self.data

    def allow(self, key: str) -> None:
        self._used.add(key)

    def table(self, key: str) -> _Section:
        self._used.add(key)
        return _Section(self.data.get(key, {}), f"{self.where}.{key}", self._environ, self._base)

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not value:
            raise CrmConfigError(f"{self.where}.{key}: expected a non-empty string")
        return value

    def optional_text(self, key: str, default: str | None) -> str | None:
        value = self._get(key, default)
        if value is not None and not isinstance(value, str):
            raise CrmConfigError(f"{self.where}.{key}: expected a string")
        return value or None

    def url(self, key: str) -> str:
        value = self.text(key)
        if not value.startswith(("http://", "https://")):
            raise CrmConfigError(f"{self.where}.{key}: must start with https:// or http://")
        return value

    def integer(self, key: str, default: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise CrmConfigError(f"{self.where}.{key}: expected an integer")
        return value

    def number(self, key: str, default: float) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise CrmConfigError(f"{self.where}.{key}: expected a positive number")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise CrmConfigError(f"{self.where}.{key}: expected true or false")
        return value

    def pair(self, key: str, default: tuple[str, str]) -> tuple[str, str]:
        value = self._get(key, list(default))
        texts = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not texts or len(value) != len(default):
            raise CrmConfigError(f"{self.where}.{key}: expected two strings [made, not made]")
        return (value[0], value[1])

    def secret(self, name: str) -> str:
        """``<name>_env`` or ``<name>_file``; a literal ``<name>`` is refused."""
        if name in self.data:
            raise CrmConfigError(
                f"{self.where}.{name}: secrets are not written in the file; "
                f"set {name}_env (a variable name) or {name}_file (a path)"
            )
        env, path = self.data.get(f"{name}_env"), self.data.get(f"{name}_file")
        self._used |= {f"{name}_env", f"{name}_file"}
        if (env is None) == (path is None):
            raise CrmConfigError(f"{self.where}: set exactly one of {name}_env or {name}_file")
        if env is not None:
            return self._from_env(f"{name}_env", env)
        return self._from_file(f"{name}_file", path)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self._used)
        if unknown:
            raise CrmConfigError(f"{self.where}.{unknown[0]}: unknown setting")

    def _get(self, key: str, default: Any) -> Any:
        self._used.add(key)
        if key not in self.data:
            if default is _REQUIRED:
                raise CrmConfigError(f"{self.where}.{key}: required")
            return default
        return self.data[key]

    def _from_env(self, key: str, variable: Any) -> str:
        if not isinstance(variable, str) or not variable:
            raise CrmConfigError(f"{self.where}.{key}: expected an environment variable name")
        value = self._environ.get(variable, "")
        if not value:
            raise CrmConfigError(f"{self.where}.{key}: environment variable {variable} is not set")
        return value

    def _from_file(self, key: str, path: Any) -> str:
        if not isinstance(path, str) or not path:
            raise CrmConfigError(f"{self.where}.{key}: expected a file path")
        try:
            value = (self._base / Path(path).expanduser()).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CrmConfigError(f"{self.where}.{key}: cannot read {path}: {exc}") from exc
        value = value.rstrip("\r\n")
        if not value:
            raise CrmConfigError(f"{self.where}.{key}: {path} is empty")
        return value
