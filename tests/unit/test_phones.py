"""Phone checks of business-rules §3: normalisation, invalid and fake numbers, DNC, foreign."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.phones import (
    InvalidReason,
    PhoneCheck,
    check_phone,
    is_do_not_call,
    is_foreign,
    normalise_phone,
)

WRITTEN_FORMS = (
    "89161234568",
    "79161234568",
    "+79161234568",
    "9161234568",
    "8 (916) 123-45-68",
    "+7 (916) 123-45-68",
    "+7 916 123 45 68",
    "8-916-123-45-68",
    "8.916.123.45.68",
    "(916) 123-45-68",
    "  +7(916)1234568\t",
    "+7\u00a0916\u00a0123\u201145\u201168",
    "007 916 123 45 68",
    "8 916 123 4568",
)


@pytest.mark.parametrize("text", WRITTEN_FORMS)
def test_rule_3_every_written_form_of_a_russian_mobile_normalises_to_e164(text: str) -> None:
    assert check_phone(text) == PhoneCheck(text, "+79161234568", True, None, "RU", "mobile")


@pytest.mark.parametrize(
    ("text", "e164", "country", "kind"),
    [
        ("8 (495) 123-45-68", "+74951234568", "RU", "landline"),
        ("+7 701 555 12 34", "+77015551234", "KZ", "mobile"),
        ("8 727 258 12 34", "+77272581234", "KZ", "landline"),
        ("+380 50 123 4568", "+380501234568", "UA", "mobile"),
        ("00380501234568", "+380501234568", "UA", "mobile"),
        ("810 380 50 123 4568", "+380501234568", "UA", "mobile"),
        ("380501234568", "+380501234568", "UA", "mobile"),
        ("+375 (29) 123-45-68", "+375291234568", "BY", "mobile"),
    ],
)
def test_rule_3_landlines_kazakh_and_foreign_numbers_normalise_with_country_and_kind(
    text: str, e164: str, country: str, kind: str
) -> None:
    check = check_phone(text)
    assert (check.e164, check.valid, check.country, check.kind) == (e164, True, country, kind)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("700000000000", InvalidReason.WRONG_LENGTH),  # the manual's example: 12 digits
        ("891612345681", InvalidReason.WRONG_LENGTH),
        ("+7916123456", InvalidReason.WRONG_LENGTH),
        ("916123456", InvalidReason.WRONG_LENGTH),
        ("+7 916 123 45 689", InvalidReason.WRONG_LENGTH),
        ("+38050123", InvalidReason.WRONG_LENGTH),
        ("+79999999999", InvalidReason.FAKE),
        ("89999999999", InvalidReason.FAKE),
        ("+70000000000", InvalidReason.FAKE),
        ("+7 (999) 999-99-99", InvalidReason.FAKE),  # a mask filled with one digit
        ("+7 123 456-78-90", InvalidReason.FAKE),  # a run over the whole number
        ("8 987 654-32-10", InvalidReason.FAKE),
        ("0123456789", InvalidReason.FAKE),
        ("+380 55 555 5555", InvalidReason.FAKE),
        ("+380 12 345 6789", InvalidReason.FAKE),
        ("+7 000 123 45 68", InvalidReason.IMPOSSIBLE),
        ("+7 199 123 45 68", InvalidReason.IMPOSSIBLE),
        ("+999 123 456 789", InvalidReason.IMPOSSIBLE),
        ("abc", InvalidReason.NOT_A_NUMBER),
        ("нет телефона", InvalidReason.NOT_A_NUMBER),
        ("8916123456а", InvalidReason.NOT_A_NUMBER),
        ("89161234568, 89161234569", InvalidReason.NOT_A_NUMBER),
        ("+7+9161234568", InvalidReason.NOT_A_NUMBER),
        ("", InvalidReason.EMPTY),
        (" - ( ) ", InvalidReason.EMPTY),
    ],
)
def test_rule_3_invalid_numbers_are_not_dialled_and_say_why(
    text: str, reason: InvalidReason
) -> None:
    assert check_phone(text) == PhoneCheck(text, None, False, reason, None, "unknown")


def test_rule_3_twelve_digit_fake_is_invalid_for_wrong_length() -> None:
    assert check_phone("700000000000").invalid_reason == "wrong_length"


def test_rule_3_a_real_number_close_to_a_fake_pattern_is_valid() -> None:
    assert check_phone("+7 916 111-11-12").valid
    assert check_phone("+7 999 123-45-68").valid


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("+7 999 123-45-67", "RU"),  # the input mask's placeholder, and a number MTS sells
        ("8 916 234-56-78", "RU"),
        ("8 903 765-43-21", "RU"),
        ("+7 701 123-45-67", "KZ"),
        ("+7 747 234-56-78", "KZ"),
        ("+7 916 111-11-11", "RU"),  # a "golden" number
        ("+380 50 000 0000", "UA"),
    ],
)
def test_rule_3_a_subscriber_part_that_merely_looks_made_up_is_dialled(
    text: str, country: str
) -> None:
    """Issue 13 item 4: only what cannot be a real number is refused; a made-up look is
    shown to ops as ``suspicious``, never used to refuse."""
    check = check_phone(text)
    assert (check.valid, check.invalid_reason, check.country) == (True, None, country)
    assert check.suspicious is not None


def test_an_ordinary_number_is_not_suspicious() -> None:
    assert check_phone("+7 916 583-04-21").suspicious is None


def test_normalise_phone_returns_e164_or_none() -> None:
    assert normalise_phone("8 (916) 123-45-68") == "+79161234568"
    assert normalise_phone("700000000000") is None


def test_do_not_call_list_is_checked_on_the_normalised_number() -> None:
    dnc = frozenset({"+79161234568"})
    assert is_do_not_call(normalise_phone("8 916 123-45-68") or "", dnc)
    assert not is_do_not_call("+79161234569", dnc)


@pytest.mark.parametrize(
    ("text", "foreign"),
    [
        ("+79161234568", False),
        ("+77015551234", False),
        ("+380501234568", True),
        ("+375291234568", True),
        ("700000000000", False),  # invalid, not foreign: screened as Невалид instead
    ],
)
def test_rule_3_foreign_number_is_outside_the_campaign_countries(text: str, foreign: bool) -> None:
    assert is_foreign(check_phone(text), ("RU", "KZ")) is foreign


def test_rule_3_a_campaign_may_include_more_countries() -> None:
    assert not is_foreign(check_phone("+375291234568"), ("RU", "KZ", "BY"))


SEPARATORS = st.sampled_from(["", " ", "-", ".", "(", ")", "\u00a0"])


@st.composite
def written_numbers(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["8", "7", "+7", "+7 ", ""]))
    digits = draw(st.text(alphabet="0123456789", min_size=10, max_size=10))
    return prefix + "".join(digit + draw(SEPARATORS) for digit in digits)


@given(written_numbers())
def test_normalisation_is_idempotent(text: str) -> None:
    first = check_phone(text)
    if first.e164 is not None:
        assert check_phone(first.e164) == PhoneCheck(
            first.e164, first.e164, True, None, first.country, first.kind, first.suspicious
        )


@given(written_numbers())
def test_a_valid_russian_or_kazakh_number_keeps_its_ten_national_digits(text: str) -> None:
    check = check_phone(text)
    digits = "".join(ch for ch in text if ch.isdigit())
    if check.valid:
        assert check.e164 == "+7" + digits[-10:]
    else:
        assert check.invalid_reason in set(InvalidReason)
