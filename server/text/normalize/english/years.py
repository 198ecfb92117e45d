"""Years ("in 1999", "since 2008", "March 2025") and decades ("the 1990s", "the '80s", "mid-2000s")."""

from __future__ import annotations

import re

from server.text.normalize.english.calendar_words import MONTHS
from server.text.normalize.english.numbers import cardinal, pluralize, year

_DECADE = re.compile(r"(?<![\w'’])(1[1-9]\d0|20[0-9]0)'?s\b")
_SHORT_DECADE = re.compile(r"(?:(?<=\s)|^|(?<=[(-]))['’]?([2-9]0)'?s\b")
# A four-digit number is a year only where the words around it say so; elsewhere it is a count ("2025 people").
_YEAR_CONTEXT = (
    r"in|since|by|from|until|till|to|through|of|circa|before|after|during|around|early|late|mid|year|"
    r"spring|summer|autumn|fall|winter|" + "|".join(MONTHS)
)
_YEAR = re.compile(
    rf"\b(?P<context>(?i:{_YEAR_CONTEXT}))(?P<gap>\s+|-)(?P<year>1\d{{3}}|20\d\d)\b(?![.,]\d|\s?%|['’-]?\w)"
)
_ERA = re.compile(r"\b(\d{1,4})\s?(?=(?:AD|BC|BCE|CE)\b)")


def read_decades(text: str) -> str:
    """Runs before the units: "1990s" is no "1990 s" (seconds)."""
    text = _DECADE.sub(lambda m: pluralize(year(int(m[1]))), text)
    return _SHORT_DECADE.sub(lambda m: pluralize(cardinal(int(m[1]))), text)


def read_years(text: str) -> str:
    text = _YEAR.sub(lambda m: m["context"] + m["gap"] + year(int(m["year"])), text)
    return _ERA.sub(lambda m: year(int(m[1])) + " ", text)
