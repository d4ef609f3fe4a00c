"""Spam names of business-rules §3: obscene or insulting words, matched as whole words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.spam import (
    DEFAULT_SPAM_WORDS,
    SpamWords,
    default_spam_words,
    is_spam_name,
    normalise_spam_text,
    spam_word_in,
)

SPAM = default_spam_words()


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("Пизда Иванова", "пизда"),
        ("ПИЗДЕЦ", "пиздец"),
        ("Иван Хуйло", "хуйло"),
        ("Сука", "сука"),
        ("Анна-Сука", "сука"),
        ("Мудак Петрович", "мудак"),
        ("Долбоёб", "долбоеб"),
        ("ёбаный рот", "ебаный"),
        ("бля", "бля"),
        ("Гандоны", "гандоны"),
    ],
)
def test_rule_3_name_with_an_obscene_word_is_spam(name: str, word: str) -> None:
    assert spam_word_in(name, SPAM) == word
    assert is_spam_name(name, SPAM)


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("Xyй", "хуй"),  # Latin X and y
        ("Mудак", "мудак"),  # Latin M
        ("Пи3да", "пизда"),  # digit 3 for з
        ("6ля", "бля"),  # digit 6 for б
        ("хуй0в0", "хуйово"),  # digit 0 for о
        ("еб@ть", "ебать"),  # @ for а
        ("Сууууука", "сука"),  # repeated letters collapsed
        ("ХУУУЙ", "хуй"),
        ("С.у.к.а", None),  # split by punctuation: four one-letter words, not caught
    ],
)
def test_rule_3_spam_survives_look_alikes_and_repeated_letters(name: str, word: str | None) -> None:
    assert spam_word_in(name, SPAM) == word


@pytest.mark.parametrize(
    "name",
    [
        "Хуанита Гомес",
        "Ебенезер Скрудж",
        "Сукачёв Игорь",
        "Сукин Павел",
        "Мудров Андрей",
        "Херман Гессе",
        "Бляхер Лев",
        "Лохов Сергей",
        "Мандарина Ольга",
        "Дураков Иван",
        "Хулио Иглесиас",
        "Хуерта Мария",
        "Huy Nguyen",
        "Анна Мария Иванова-Петрова",
        "Ёлкин Ёжик",
        "",
    ],
)
def test_rule_3_innocent_names_that_start_like_a_short_stem_are_not_spam(name: str) -> None:
    assert spam_word_in(name, SPAM) is None


def test_stems_match_inflected_forms_but_whole_words_do_not() -> None:
    spam = SpamWords.from_entries(["дурак", "пизд*"])
    assert spam_word_in("пиздюк", spam) == "пиздюк"
    assert spam_word_in("дурак", spam) == "дурак"
    assert spam_word_in("дураков", spam) is None
    assert spam_word_in("распиздяй", spam) is None  # a stem only matches at a word start


def test_the_word_list_is_configurable_and_extends_the_default() -> None:
    spam = default_spam_words(["Тест", "asdf*"])
    assert spam_word_in("Тест Тестов", spam) == "тест"
    assert spam_word_in("Тестов", spam) is None
    assert spam_word_in("ASDFGH", spam) == "аsdfgн"
    assert spam_word_in("Тест", default_spam_words()) is None


def test_an_empty_list_finds_nothing() -> None:
    assert spam_word_in("Пизда", SpamWords.from_entries([])) is None


def test_normalisation_folds_case_look_alikes_yo_and_repeats() -> None:
    assert normalise_spam_text("ЁЖИК Xoрошшший 3@6ор") == "ежик хороший забор"


WHOLE_WORDS = [entry for entry in DEFAULT_SPAM_WORDS if not entry.endswith("*")]
LETTERS = st.text(alphabet="абвгдежзиклмнопрстуфхцчшщыэюя", min_size=1, max_size=8)


@given(st.sampled_from(WHOLE_WORDS), LETTERS, LETTERS, st.sampled_from([" ", "-", ", ", "  "]))
def test_a_listed_word_is_found_between_any_other_words(
    word: str, before: str, after: str, separator: str
) -> None:
    name = f"{before}{separator}{word.upper()}{separator}{after}"
    assert is_spam_name(name, SPAM)
