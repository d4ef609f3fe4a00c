"""Campaign configuration files (TOML) → the frozen ``CampaignSettings``.

Unknown keys and wrong types are refused with the dotted name of the field, so a typo
in an ops person's file never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Any

import pytz

from campaigns.settings import CallingWindow, CampaignSettings, RetrySettings
from crm_adapter.retailcrm_codes import RETAILCRM_CAMPAIGN_DEFAULTS

_WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_MAX_PROBLEMS, _MAX_PROBLEM = 50, 100


class ConfigError(Exception):
    """A configuration file or value is wrong; the message names the field."""


def load_campaign(path: Path) -> CampaignSettings:
    """Read ``[campaign]`` (with ``[campaign.window]`` and ``[campaign.retry]``); where the
    file's ``[crm] kind`` is ``retailcrm``, unset statuses default to RetailCRM codes."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    table = data.get("campaign", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [campaign] must be a table")
    crm = data.get("crm")
    kind = crm.get("kind") if isinstance(crm, dict) else None
    return campaign_from_mapping(table, where=f"{path}: campaign", crm_kind=kind)


def campaign_defaults(crm_kind: object) -> Mapping[str, Any]:
    """The ``[campaign]`` defaults that depend on the CRM: RetailCRM's stock status codes
    (``crm_adapter.retailcrm_codes``) where ``[crm] kind = "retailcrm"``, else none (the
    manuals' names, ``CampaignSettings``' own defaults)."""
    return RETAILCRM_CAMPAIGN_DEFAULTS if crm_kind == "retailcrm" else {}


def campaign_from_mapping(
    table: dict[str, Any], where: str = "campaign", *, crm_kind: object = None
) -> CampaignSettings:
    settings = _build(CampaignSettings, table, where, campaign_defaults(crm_kind))
    try:
        pytz.timezone(settings.default_tz)
    except pytz.UnknownTimeZoneError:
        raise ConfigError(
            f"{where}.default_tz: unknown time zone {settings.default_tz!r}"
        ) from None
    if settings.foreign_numbers not in ("flag", "dial"):
        raise ConfigError(f"{where}.foreign_numbers: must be 'flag' or 'dial'")
    _check_refusal_problems(settings.refusal_problems, f"{where}.refusal_problems")
    return settings


def _check_refusal_problems(problems: tuple[str, ...], where: str) -> None:
    """The «Отказ» problems the agent picks from: 1–50 distinct texts, each 1–100 characters
    without surrounding blanks or control characters (the CRM's «Проблема» field)."""
    if not 1 <= len(problems) <= _MAX_PROBLEMS:
        raise ConfigError(f"{where}: 1 to {_MAX_PROBLEMS} problems, got {len(problems)}")
    for i, problem in enumerate(problems):
        if not problem.strip() or problem != problem.strip() or len(problem) > _MAX_PROBLEM:
            raise ConfigError(f"{where}[{i}]: a text of 1-{_MAX_PROBLEM} characters without "
                              f"surrounding blanks, got {problem!r}")  # fmt: skip
        if any(not ch.isprintable() for ch in problem):
            raise ConfigError(f"{where}[{i}]: no control characters, got {problem!r}")
        if problem in problems[:i]:
            raise ConfigError(f"{where}[{i}]: {problem!r} is listed twice")


_T = typing.TypeVar("_T")


def _build(
    cls: type[_T], table: dict[str, Any], where: str, defaults: Mapping[str, Any] | None = None
) -> _T:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - names)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown setting")
    values = {k: v for k, v in (defaults or {}).items() if k not in table}
    values |= {k: _convert(hints[k], v, f"{where}.{k}") for k, v in table.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _convert(hint: Any, value: Any, where: str) -> Any:
    if hint in (CallingWindow, RetrySettings):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: must be a table")
        return _build(hint, value, where)
    if hint is time:
        return _time(value, where)
    origin = typing.get_origin(hint)
    if origin in (tuple, frozenset):
        item = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: must be a list")
        return origin(_scalar(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _scalar(inner, value, where)
    return _scalar(hint, value, where)


def _scalar(hint: Any, value: Any, where: str) -> Any:
    if hint is date:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{where}: expected a date YYYY-MM-DD, got {value!r}") from None
    if hint is int and isinstance(value, str) and value.lower() in _WEEKDAYS:
        return _WEEKDAYS[value.lower()]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def _time(value: Any, where: str) -> time:
    match = _HHMM.fullmatch(str(value))
    if match is None:
        raise ConfigError(f"{where}: expected HH:MM, got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))
