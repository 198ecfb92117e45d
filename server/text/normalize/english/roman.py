"""Roman numerals where their reading is unambiguous: "Louis XIV", "XIX century", "World War II", "Chapter IV"."""

from __future__ import annotations

import re

import roman

from server.text.normalize.english.numbers import cardinal, ordinal

# After these words a numeral is a plain number: "Chapter four", "World War two".
_CARDINAL_CONTEXT = (
    "Chapter|Part|Volume|Vol\\.|Book|Act|Scene|Section|Article|Appendix|War|Phase|Stage|Episode|Type|Class|"
    "Level|Round|Season|Grade|Schedule|Title|Annex"
)
_CARDINAL = re.compile(rf"\b(?P<context>(?i:{_CARDINAL_CONTEXT}))\s+(?P<numeral>[IVXLCDM]+)\b(?![\w'’-])")
_CENTURY = re.compile(r"\b(?P<numeral>[IVXLC]+)(?P<space>\s+)(?P<noun>century|centuries)\b")
# A capitalized name before a numeral of two or more of I, V, X: "Henry VIII", "Elizabeth II", "Pius XII". One
# letter ("Elizabeth I", "Charles V") is left alone: "Then I went" would read "Then the first went".
_REGNAL = re.compile(r"\b(?P<name>[A-Z][a-z]+)\s+(?P<numeral>[IVX]{2,})\b(?![\w'’-])")
_NOT_NAMES = frozenset(
    {"The", "A", "An", "And", "Or", "But", "If", "In", "On", "At", "Of", "To", "With", "Then"}
)


def _value(numeral: str) -> int | None:
    try:
        return roman.fromRoman(numeral)
    except roman.InvalidRomanNumeralError:
        return None


def _cardinal(match: re.Match[str]) -> str:
    value = _value(match["numeral"])
    return match[0] if value is None else f"{match['context']} {cardinal(value)}"


def _century(match: re.Match[str]) -> str:
    value = _value(match["numeral"])
    return match[0] if value is None else ordinal(value) + match["space"] + match["noun"]


def _regnal(match: re.Match[str]) -> str:
    value = _value(match["numeral"])
    if value is None or match["name"] in _NOT_NAMES:
        return match[0]
    return f"{match['name']} the {ordinal(value)}"


def read_roman_numerals(text: str) -> str:
    text = _CARDINAL.sub(_cardinal, text)
    text = _CENTURY.sub(_century, text)
    return _REGNAL.sub(_regnal, text)
