"""Phone numbers as CRMs write them: normalisation to E.164 and the checks of business-rules §3.

A number is refused («Невалид») only when it cannot be a real one: letters, a wrong length,
a range the numbering plan does not allocate (phonenumbers), or a placeholder filling the
whole national number – one digit repeated (``999 999-99-99``, ``000 000-00-00``) or a
straight run of all its digits (``123 456-78-90``, ``987 654-32-10``). A subscriber part
that merely looks made up (``916 123-45-67``, ``916 111-11-11``) is dialled: operators
sell such numbers, a lost order costs a sale, a dead number costs one call that the
network answers with cause 1/28 (→ Невалид). It is marked ``suspicious`` for ops only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Container
from dataclasses import dataclass
from typing import Literal

import phonenumbers

PhoneKind = Literal["mobile", "landline", "unknown"]


class InvalidReason(enum.StrEnum):
    """Why a number is not dialled (business-rules §3: Невалид, "Невалидный номер")."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"  # letters or other characters a phone number never has
    WRONG_LENGTH = "wrong_length"
    FAKE = "fake"  # a placeholder filling the whole national number: 9999999999, 1234567890
    IMPOSSIBLE = "impossible"  # no such number in the numbering plan (phonenumbers)


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    """The verdict on one raw phone text; ``e164`` is set only when ``valid``."""

    input: str
    e164: str | None
    valid: bool
    invalid_reason: InvalidReason | None
    country: str | None
    kind: PhoneKind
    suspicious: str | None = None  # informational (phone-info, ops); never a refusal


# Separators people and CRMs put into numbers; anything else (letters, commas) is garbage.
_SEPARATORS = re.compile(r"[\s\-.()\u00a0\u2010-\u2015/]+")
_SHAPE = re.compile(r"\+?[0-9]+")
_MAX_DIGITS = 15  # E.164
_RU_NATIONAL = 10  # +7 and ten digits, Russia and Kazakhstan alike
_SUBSCRIBER = 7  # the part after the 3-digit ABC/DEF code
# A national number made of consecutive digits from end to end is a placeholder someone
# typed to get past the form, never an allocated number; a shorter run is only suspicious.
_ASCENDING = "01234567890"
_DESCENDING = _ASCENDING[::-1]
_WRONG_LENGTHS = frozenset(
    {
        phonenumbers.ValidationResult.TOO_SHORT,
        phonenumbers.ValidationResult.TOO_LONG,
        phonenumbers.ValidationResult.INVALID_LENGTH,
        phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,  # an area code is missing
    }
)
_KINDS: dict[int, PhoneKind] = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE: "landline",
}


def check_phone(text: str) -> PhoneCheck:
    """Normalise ``text`` to E.164 and say whether the dialer may call it.

    Accepted without a country code (Russia/Kazakhstan, +7): ``8XXXXXXXXXX``,
    ``7XXXXXXXXXX`` and the ten-digit national number (``9XXXXXXXXX``, ``495XXXXXXX``).
    Other countries need ``+``, ``00`` or ``810`` before the country code, or are taken
    as written with their country code when longer than 11 digits and not starting
    with 7 or 8 (e.g. ``380501234567``).
    """
    candidate = _candidate(text)
    if isinstance(candidate, InvalidReason):
        return _invalid(text, candidate)
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return _invalid(text, InvalidReason.IMPOSSIBLE)
    national = phonenumbers.national_significant_number(parsed)
    if is_placeholder(national):
        return _invalid(text, InvalidReason.FAKE)
    # number_type is UNKNOWN exactly when is_valid_number is false (both match the
    # number against its region's patterns): one matching instead of two.
    number_type = phonenumbers.number_type(parsed)
    if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
        return _invalid(text, _why_not_valid(parsed))
    kind = _KINDS.get(number_type, "unknown")
    country = phonenumbers.region_code_for_number(parsed)
    return PhoneCheck(text, candidate, True, None, country, kind, _suspicion(national))


def normalise_phone(text: str) -> str | None:
    """The E.164 form of ``text``, or None when the number is not valid."""
    return check_phone(text).e164


def is_do_not_call(e164: str, dnc: Container[str]) -> bool:
    """True when the normalised number is on the do-not-call list (never dialled)."""
    return e164 in dnc


def is_foreign(check: PhoneCheck, countries: Collection[str]) -> bool:
    """Business-rules §3 "foreign number": a valid number of a country outside the
    campaign's ``countries`` (settings.countries). An invalid number is not foreign."""
    return check.valid and check.country not in countries


def _invalid(text: str, reason: InvalidReason) -> PhoneCheck:
    return PhoneCheck(text, None, False, reason, None, "unknown")


def _candidate(text: str) -> str | InvalidReason:
    """``+`` and digits in E.164 shape, or why the text cannot be one."""
    compact = _SEPARATORS.sub("", text)
    if not compact:
        return InvalidReason.EMPTY
    if not _SHAPE.fullmatch(compact):
        return InvalidReason.NOT_A_NUMBER
    digits = compact.lstrip("+")
    if compact.startswith("+"):
        return _international(digits)
    if digits.startswith("00"):
        return _international(digits[2:])
    if digits.startswith("810") and len(digits) > _RU_NATIONAL + 1:
        return _international(digits[3:])
    return _national(digits)


def _national(digits: str) -> str | InvalidReason:
    if len(digits) == _RU_NATIONAL + 1 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == _RU_NATIONAL:
        return "+7" + digits
    if digits[0] in "78" or len(digits) < _RU_NATIONAL:
        return InvalidReason.WRONG_LENGTH
    return _international(digits)


def _international(digits: str) -> str | InvalidReason:
    if not digits or digits[0] == "0":
        return InvalidReason.IMPOSSIBLE
    if digits[0] == "7" and len(digits) != _RU_NATIONAL + 1:
        return InvalidReason.WRONG_LENGTH
    if len(digits) > _MAX_DIGITS:
        return InvalidReason.WRONG_LENGTH
    return "+" + digits


def _why_not_valid(parsed: phonenumbers.PhoneNumber) -> InvalidReason:
    """Too short or too long for its country's plan, or a length that fits but no range."""
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    return InvalidReason.WRONG_LENGTH if possible in _WRONG_LENGTHS else InvalidReason.IMPOSSIBLE


def is_placeholder(national: str) -> bool:
    """The whole national number is one digit repeated (``9999999999``) or a straight run
    of consecutive digits (``1234567890``, ``0123456789``, ``9876543210``): what people type
    to get past an order form, never an allocated number."""
    if len(national) < _SUBSCRIBER:
        return False
    return len(set(national)) == 1 or _is_run(national)


def _suspicion(national: str) -> str | None:
    """Why a valid number looks made up, for ops to see; it is dialled all the same."""
    subscriber = national[-_SUBSCRIBER:]
    if len(subscriber) < _SUBSCRIBER:
        return None
    if len(set(subscriber)) == 1:
        return f"subscriber part {subscriber} is one digit repeated"
    if _is_run(subscriber):
        return f"subscriber part {subscriber} is a straight run"
    return None


def _is_run(digits: str) -> bool:
    return digits in _ASCENDING or digits in _DESCENDING
