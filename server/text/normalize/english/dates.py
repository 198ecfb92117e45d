"""Dates: ISO "2025-03-12", numeric "12/03/2025" and "12.03.2025", and "March 3rd" / "3 March 2025"."""

from __future__ import annotations

import re

from server.text.normalize.english.calendar_words import MONTH, month_name, month_number
from server.text.normalize.english.numbers import ordinal, year

_ISO = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")
# "/" is read the American way (month first) unless the first number cannot be a month; "." is the European
# day-first form everywhere.
_NUMERIC = re.compile(r"(?<![\d/.])(\d{1,2})([/.])(\d{1,2})\2(\d{4})(?![\d/]|\.\d)")
_MONTH_FIRST = re.compile(rf"\b({MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?")
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTH})(?:,?\s+(\d{{4}})\b)?")


def _spoken(month: int, day: int, year_number: int | None) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    words = f"{month_name(month)} {ordinal(day)}"
    return words if year_number is None else f"{words}, {year(year_number)}"


def _iso(match: re.Match[str]) -> str:
    return _spoken(int(match[2]), int(match[3]), int(match[1])) or match[0]


def _numeric(match: re.Match[str]) -> str:
    first, second = int(match[1]), int(match[3])
    month, day = (first, second) if match[2] == "/" and first <= 12 else (second, first)
    return _spoken(month, day, int(match[4])) or match[0]


def _month_first(match: re.Match[str]) -> str:
    return _spoken(month_number(match[1]), int(match[2]), int(match[3]) if match[3] else None) or match[0]


def _day_first(match: re.Match[str]) -> str:
    day, month = int(match[1]), month_number(match[2])
    if not 1 <= day <= 31:
        return match[0]
    words = f"the {ordinal(day)} of {month_name(month)}"
    return words if not match[3] else f"{words}, {year(int(match[3]))}"


def read_dates(text: str) -> str:
    text = _ISO.sub(_iso, text)
    text = _NUMERIC.sub(_numeric, text)
    text = _MONTH_FIRST.sub(_month_first, text)
    return _DAY_FIRST.sub(_day_first, text)
