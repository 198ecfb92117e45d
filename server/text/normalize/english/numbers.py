"""Number words from num2words, tidied to American reading ("one hundred twenty", no commas, no "and")."""

from __future__ import annotations

import re

from num2words import num2words

# A number as written in English text: "1,234,567", "3.14", "42" (no sign: rules handle "minus" themselves).
NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"

_LONGEST_CARDINAL = 15  # past a quadrillion nobody says the number: read it digit by digit


def _tidy(words: str) -> str:
    # num2words writes British "one hundred and one" and "one thousand, five hundred"
    return words.replace(",", "").replace(" and ", " ")


def cardinal(value: int) -> str:
    return _tidy(num2words(value))


def ordinal(value: int) -> str:
    return _tidy(num2words(value, to="ordinal"))


def year(value: int) -> str:
    """ "twenty twenty-five", "nineteen oh-five", "two thousand eight"."""
    return _tidy(num2words(value, to="year"))


def digits(text: str) -> str:
    """Digit by digit: "007" -> "zero zero seven"."""
    return " ".join(cardinal(int(d)) for d in text if d.isdigit())


def number(token: str) -> str:
    """A written number ("1,234.5", "0.05", "007") as words; `token` matches NUMBER."""
    whole, _, fraction = token.replace(",", "").partition(".")
    if len(whole) > 1 and whole.startswith("0") or len(whole) > _LONGEST_CARDINAL:
        words = digits(whole)
    else:
        words = cardinal(int(whole))
    if fraction:
        words += " point " + digits(fraction)
    return words


def is_one(token: str) -> bool:
    """Whether a written number takes a singular noun ("1 km", but "1.0 km" and "1.5 km" are plural)."""
    return token == "1"


def pluralize(words: str) -> str:
    """The plural of the last number word, for decades: "nineteen ninety" -> "nineteen nineties"."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}" if head else last


# Numbers still left after the specific rules: ordinals, signs, plain and grouped numbers.
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_NEGATIVE = re.compile(rf"(?<![\w.,)])[-−](?={NUMBER})(?=\d)")
_NUMBER = re.compile(rf"(?<![\d.,])(?:{NUMBER})(?!\d)")
_HASH_NUMBER = re.compile(r"(?<![\w#])#(?=\d)")
_AMPERSAND = re.compile(r"(?<=\s)&(?=\s)")


def spell_numbers(text: str) -> str:
    text = _ORDINAL.sub(lambda m: ordinal(int(m[1])), text)
    text = _HASH_NUMBER.sub("number ", text)
    text = _AMPERSAND.sub("and", text)
    text = _NEGATIVE.sub("minus ", text)
    return _NUMBER.sub(_spaced_number, text)


def _spaced_number(match: re.Match[str]) -> str:
    # "3D" -> "three D", "MP3" -> "MP three": words never glue to letters
    words = number(match[0])
    source, start, end = match.string, match.start(), match.end()
    if start > 0 and source[start - 1].isalpha():
        words = " " + words
    if end < len(source) and source[end].isalpha():
        words += " "
    return words
