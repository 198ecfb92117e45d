"""English month names and their abbreviations (spelled out here: `calendar.month_name` follows the locale)."""

from __future__ import annotations

MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_BY_NAME = {name.lower(): i for i, name in enumerate(MONTHS, start=1)}
_BY_NAME.update({name[:3].lower(): i for i, name in enumerate(MONTHS, start=1)})
_BY_NAME["sept"] = 9

# "March", "Mar", "Mar.", "Sept." -- capitalized only: "may" and "march" are also ordinary words
MONTH = r"(?:" + "|".join(MONTHS) + r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?)"


def month_number(name: str) -> int:
    return _BY_NAME[name.rstrip(".").lower()]


def month_name(number: int) -> str:
    return MONTHS[number - 1]
