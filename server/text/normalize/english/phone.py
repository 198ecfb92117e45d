"""Phone numbers, digit by digit in their written groups: "plus one, five five five, one two three, ..."."""

from __future__ import annotations

import re

from server.text.normalize.english.numbers import digits

# International numbers need the "+"; national ones the North American shapes "(555) 123-4567",
# "555-123-4567", "555.123.4567" and the local "555-1234". Space-separated groups without "+" are left to the
# number rules: "1 500 000" is a number, not a phone.
_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}(?![\d])")
_NORTH_AMERICAN = re.compile(
    r"(?<![\w(])(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[.-]\d{4}(?!\d)|(?<![\w.-])\d{3}-\d{4}(?![\w-])"
)


def _say(match: re.Match[str]) -> str:
    groups = re.findall(r"\d+", match[0])
    if sum(len(g) for g in groups) < 7:
        return match[0]
    spoken = ", ".join(digits(g) for g in groups)
    return "plus " + spoken if match[0].startswith("+") else spoken


def read_phone_numbers(text: str) -> str:
    text = _INTERNATIONAL.sub(_say, text)
    return _NORTH_AMERICAN.sub(_say, text)
