"""Ranges ("5-10", "1990–2000") and fractions ("1/2", "3/4", "2 1/2", "24/7")."""

from __future__ import annotations

import re

from server.text.normalize.english.numbers import NUMBER, cardinal, number, ordinal, year

_RANGE = re.compile(rf"(?<![\w.,\-–])(?P<low>{NUMBER})\s?[-–—]\s?(?P<high>{NUMBER})(?![\w.,\-–]?\d|[\-–])")
_MIXED = re.compile(r"(?<![\w.,/])(\d+)\s(\d)/(\d{1,2})(?![\w/]|[.,]\d)")
_FRACTION = re.compile(r"(?<![\w.,/])(\d{1,3})/(\d{1,3})(?![\w/]|[.,]\d)")
_SET_PHRASES = {"24/7": "twenty-four seven", "50/50": "fifty-fifty", "9/11": "nine eleven"}


def _is_year(token: str) -> bool:
    return len(token) == 4 and token.isdigit() and 1000 <= int(token) <= 2099


def _range(match: re.Match[str]) -> str:
    low, high = match["low"], match["high"]
    if _is_year(low) and _is_year(high):
        return f"{year(int(low))} to {year(int(high))}"
    return f"{number(low)} to {number(high)}"


def fraction(numerator: int, denominator: int) -> str:
    """ "one half", "three quarters", "two thirds", "five eighths"."""
    if denominator == 2:
        name = "half" if numerator == 1 else "halves"
    elif denominator == 4:
        name = "quarter" if numerator == 1 else "quarters"
    else:
        name = ordinal(denominator) + ("" if numerator == 1 else "s")
    return f"{cardinal(numerator)} {name}"


def _mixed(match: re.Match[str]) -> str:
    whole, numerator, denominator = int(match[1]), int(match[2]), int(match[3])
    if denominator < 2 or numerator >= denominator:
        return match[0]
    if numerator == 1 and denominator in (2, 4):
        return f"{cardinal(whole)} and a {'half' if denominator == 2 else 'quarter'}"
    return f"{cardinal(whole)} and {fraction(numerator, denominator)}"


def _fraction(match: re.Match[str]) -> str:
    if match[0] in _SET_PHRASES:
        return _SET_PHRASES[match[0]]
    numerator, denominator = int(match[1]), int(match[2])
    if denominator < 2:
        return match[0]
    return fraction(numerator, denominator)


def read_ranges_and_fractions(text: str) -> str:
    text = _RANGE.sub(_range, text)
    text = _MIXED.sub(_mixed, text)
    return _FRACTION.sub(_fraction, text)
