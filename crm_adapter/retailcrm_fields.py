"""RetailCRM order custom fields: their types, and the dialer's values typed for them.

RetailCRM custom fields are typed (``GET /api/v5/custom-fields?filter[entity]=order``
lists them with ``code``, ``type`` and, for a dictionary, ``dictionary``; the official PHP
client's ``CustomFieldType`` names the types: boolean, date, dictionary, email, integer,
numeric, string, text; the list fixture adds ``multiselect_dictionary``). There is **no
datetime type**. A value must fit its field's type or the edit is refused with 400:

* ``dictionary``: the **code** of one element of the field's dictionary (``GET
  /api/v5/custom-fields/dictionaries/{code}`` → ``customDictionary.elements[]`` with
  ``name`` and ``code``); the dialer takes a value that is an element's code as it is and
  translates a value that is an element's **name** («Не отвечает» → ``no-answer``);
* ``boolean``: ``true``/``false``; ``integer``/``numeric``: a JSON number;
* ``date``: ``YYYY-MM-DD``; a date-time goes to a ``string`` field as
  ``YYYY-MM-DD HH:MM:SS`` (the account's time zone).

``ROLE_TYPES`` lists, per dialer field (``[crm.retailcrm.custom_fields]`` key), the types it
can be written to; ``crm check`` refuses any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ROLE_TYPES: Mapping[str, tuple[str, ...]] = {
    "problem": ("dictionary", "string", "text"),
    "call": ("boolean", "dictionary", "string"),
    "callback": ("string", "date"),
    "attempts": ("integer", "numeric", "string"),
    "marker": ("string", "text"),
    "state": ("string", "text", "dictionary"),
    "comment": ("text", "string"),
}
# what docs/crm.md tells an admin to create
RECOMMENDED_TYPES: Mapping[str, str] = {
    "problem": "dictionary",
    "call": "boolean",
    "callback": "string",
    "attempts": "integer",
    "marker": "string",
    "state": "string",
    "comment": "text",
}


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One order custom field as the account defines it."""

    code: str
    type: str
    dictionary: str | None = None


@dataclass(frozen=True, slots=True)
class Dictionary:
    """A custom dictionary's elements as ``(code, name)`` pairs."""

    code: str
    elements: tuple[tuple[str, str], ...]

    def element(self, value: str) -> str | None:
        """The element code ``value`` names: itself if it is a code, else the code of the
        element whose name it is (ignoring case and surrounding blanks), else None."""
        if any(code == value for code, _name in self.elements):
            return value
        wanted = value.strip().casefold()
        return next((c for c, n in self.elements if n.strip().casefold() == wanted), None)

    def name(self, code: str) -> str | None:
        return next((n for c, n in self.elements if c == code), None)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The account's order custom fields and the dictionaries the dialer's fields use.

    ``known`` False: the fields could not be read (the key may not read them); values are
    then written with the recommended types.
    """

    fields: Mapping[str, FieldInfo] = field(default_factory=dict)
    dictionaries: Mapping[str, Dictionary] = field(default_factory=dict)
    known: bool = True

    def type_of(self, role: str, code: str) -> str | None:
        """The field's type; None when the account has no such field."""
        if not self.known:
            return RECOMMENDED_TYPES[role]
        info = self.fields.get(code)
        return None if info is None else info.type

    def dictionary_of(self, code: str) -> Dictionary | None:
        info = self.fields.get(code)
        if info is None or info.dictionary is None:
            return None
        return self.dictionaries.get(info.dictionary)


class UntypableValueError(ValueError):
    """A value cannot be written to its field; the message says why."""


def typed(catalogue: Catalogue, role: str, code: str, value: Any, *, texts: tuple[str, str]) -> Any:
    """``value`` as the field ``code`` (the dialer's ``role``) takes it.

    ``value`` is the dialer's: a text (problem, marker, state, comment), a bool (call: made
    or not; ``texts`` are its words for a string field), an int (attempts) or, for the
    callback, a pair ``(date text, date-time text)``. None clears the field.
    Raises ``UntypableValueError`` when the field does not exist or cannot take it.
    """
    kind = catalogue.type_of(role, code)
    if kind is None:
        raise UntypableValueError(f"the account has no order custom field {code!r}")
    if kind not in ROLE_TYPES[role]:
        raise UntypableValueError(
            f"field {code!r} is of type {kind}; {role} needs one of {', '.join(ROLE_TYPES[role])}"
        )
    if value is None:
        return None
    if role == "callback":
        day, moment = value
        return day if kind == "date" else moment
    if role == "call":
        if kind == "boolean":
            return bool(value)
        value = texts[0] if value else texts[1]
    if role == "attempts" and kind in ("integer", "numeric"):
        return int(value)
    if kind == "dictionary":
        dictionary = catalogue.dictionary_of(code)
        if dictionary is None:
            raise UntypableValueError(f"dictionary of field {code!r} cannot be read")
        element = dictionary.element(str(value))
        if element is None:
            raise UntypableValueError(
                f"{value!r} is neither the code nor the name of an element of dictionary "
                f"{dictionary.code!r} (field {code!r})"
            )
        return element
    return str(value)


def field_infos(rows: list[Any]) -> dict[str, FieldInfo]:
    """``customFields[]`` of the custom-fields list; malformed rows are left out."""
    infos: dict[str, FieldInfo] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        code, kind, dictionary = row.get("code"), row.get("type"), row.get("dictionary")
        if isinstance(code, str) and isinstance(kind, str):
            infos[code] = FieldInfo(code, kind, dictionary if isinstance(dictionary, str) else None)
    return infos


def dictionary_from(data: Any, code: str) -> Dictionary:
    """``customDictionary`` of ``custom-fields/dictionaries/{code}``."""
    elements = data.get("elements") if isinstance(data, dict) else None
    pairs = tuple(
        (str(e["code"]), str(e.get("name") or e["code"]))
        for e in (elements if isinstance(elements, list) else ())
        if isinstance(e, dict) and e.get("code")
    )
    return Dictionary(code, pairs)
