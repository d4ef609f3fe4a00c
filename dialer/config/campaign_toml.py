"""Writes a campaign as the ``[campaign]`` table of a TOML file that ``load_campaign`` reads
back identically: strings, integers, floats, booleans, dates, "HH:MM" times, lists of them
and nested tables (``[campaign.window]``, ``[campaign.retry]``). No dependency: the campaign's
value types are few, and anything else is refused with the key's dotted name."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}  # fmt: skip


def campaign_toml(settings: Mapping[str, Any], *, header: Sequence[str] = ()) -> str:
    """``settings`` (the file's form, e.g. ``settings_mapping``) as a TOML document whose
    ``[campaign]`` table is them; ``header``: comment lines written first."""
    lines = [f"# {line}" for line in header]
    lines += _table(("campaign",), settings)
    return "\n".join(lines) + "\n"


def _table(path: tuple[str, ...], table: Mapping[str, Any]) -> list[str]:
    lines = ["[" + ".".join(_key(part) for part in path) + "]"]
    nested = []
    for key in sorted(table):
        value = table[key]
        if isinstance(value, Mapping):
            nested.append(key)
        else:
            lines.append(f"{_key(key)} = {_value(value, '.'.join((*path, key)))}")
    for key in nested:
        lines += ["", *_table((*path, key), table[key])]
    return lines


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _value(value: Any, where: str) -> str:
    if isinstance(value, (list, tuple, frozenset, set)):
        items = sorted(value) if isinstance(value, (frozenset, set)) else value
        return "[" + ", ".join(_value(v, f"{where}[{i}]") for i, v in enumerate(items)) + "]"
    if isinstance(value, datetime):  # before date: a datetime is a date too
        raise TypeError(f"{where}: a date and time has no place in a campaign")
    for kind, write in _WRITERS:
        if isinstance(value, kind):
            return write(value)
    raise TypeError(f"{where}: cannot write {type(value).__name__} {value!r} to TOML")


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)  # shortest text that reads back equal; always has "." or "e"


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch in _CONTROL:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


_CONTROL = frozenset(map(chr, [*range(32), 127]))  # written as \uXXXX
_WRITERS: tuple[tuple[type, Callable[[Any], str]], ...] = (
    (bool, lambda v: "true" if v else "false"),  # before int: a bool is an int too
    (int, str),
    (float, _float),
    (str, _string),
    (date, date.isoformat),
    (time, lambda v: _string(v.strftime("%H:%M"))),
)
