"""Spam customer names (business-rules §3): obscene or insulting words in the name field.

A word list has two kinds of entry:

* ``"пизд*"`` – a stem: any word that *starts* with it matches, so inflected and derived
  forms (пизда, пиздец, пиздёж) are caught with one entry;
* ``"сука"`` – a whole word: only that exact word matches.

Stems are kept long enough that no ordinary name starts with them. Short roots that begin
real names are whole words only: "хер" (not Херман), "сука" (not Сукачёв), "лох" (not
Лохов), "манда" (not Мандарина); "еб" is never a stem (Ебенезер) – its obscene forms are
listed one by one ("ебан*", "ебат*", ...). A match is always against a whole word of the
name: a stem never matches in the middle of a word ("Хуанита" does not match "хуй*").

Both the name and the list are normalised the same way before comparing: lower case,
ё → е, Latin and digit look-alikes → Cyrillic (a→а, e→е, o→о, p→р, c→с, x→х, y→у, k→к,
m→м, t→т, b→в, h→н, 0→о, 3→з, 6→б, @→а), then runs of one letter collapsed ("хууууй" →
"хуй"). Words are the runs of letters; any other character separates them. Not caught:
words split by spaces ("х у й") and Latin transliteration beyond the look-alikes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_SPAM_WORDS: tuple[str, ...] = (
    # обсценная лексика (stems)
    "хуй*",
    "хуев*",
    "хует*",
    "хуес*",
    "хуя*",
    "хуил*",
    "нахуй*",
    "пизд*",
    "распизд*",
    "ебан*",
    "ебал*",
    "ебат*",
    "ебаш*",
    "ебл*",
    "ебну*",
    "заеб*",
    "наеб*",
    "выеб*",
    "уеб*",
    "отъеб*",
    "долбоеб*",
    "бляд*",
    "блят*",
    "залуп*",
    "гандон*",
    "гондон*",
    "шлюх*",
    "пидор*",
    "пидар*",
    "мудак*",
    "мудил*",
    "мудозвон*",
    "говн*",
    "жоп*",
    "дерьм*",
    "дебил*",
    "идиот*",
    "fuck*",
    # whole words only: roots that also begin ordinary names
    "бля",
    "ебу",
    "ебет",
    "хер",
    "херня",
    "нахер",
    "сука",
    "суки",
    "суке",
    "суку",
    "сукой",
    "сучка",
    "сучара",
    "манда",
    "пидр",
    "педик",
    "лох",
    "чмо",
    "урод",
    "уродина",
    "тварь",
    "мразь",
    "дура",
    "дурак",
)

_LOOK_ALIKES = str.maketrans(
    {
        "a": "а",
        "e": "е",
        "o": "о",
        "p": "р",
        "c": "с",
        "x": "х",
        "y": "у",
        "k": "к",
        "m": "м",
        "t": "т",
        "b": "в",
        "h": "н",
        "0": "о",
        "3": "з",
        "6": "б",
        "@": "а",
        "ё": "е",
    }
)
_REPEATS = re.compile(r"(.)\1+")
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class SpamWords:
    """A compiled word list: normalised whole words and normalised stems."""

    words: frozenset[str]
    stems: tuple[str, ...]

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> SpamWords:
        """Compile entries written as in DEFAULT_SPAM_WORDS (a trailing ``*`` = stem)."""
        words: set[str] = set()
        stems: set[str] = set()
        for entry in entries:
            text = entry.strip()
            target = stems if text.endswith("*") else words
            normal = normalise_spam_text(text.rstrip("*"))
            if normal:
                target.add(normal)
        return cls(frozenset(words), tuple(sorted(stems)))


def default_spam_words(extra: Iterable[str] = ()) -> SpamWords:
    """The shipped list plus a campaign's own entries (settings.spam_words)."""
    return SpamWords.from_entries((*DEFAULT_SPAM_WORDS, *extra))


def normalise_spam_text(text: str) -> str:
    """Lower case, look-alikes folded to Cyrillic, repeated letters collapsed."""
    folded = text.lower().translate(_LOOK_ALIKES)
    return _REPEATS.sub(_one_letter, folded)


def _one_letter(run: re.Match[str]) -> str:
    """A run of one letter as that letter. A function rather than the template ``\\1``:
    Python 3.11 runs re's Python code for a template on every ``sub``, a function only
    when there is a run (most names have none)."""
    return run.group(1)


def spam_word_in(name: str, spam: SpamWords) -> str | None:
    """The first (normalised) word of ``name`` that is on the list, or None."""
    words: list[str] = _WORD.findall(normalise_spam_text(name))
    for word in words:
        if word in spam.words or word.startswith(spam.stems):
            return word
    return None


def is_spam_name(name: str, spam: SpamWords) -> bool:
    """True when the customer name contains a listed word (Невалид, problem "Спам")."""
    return spam_word_in(name, spam) is not None
