"""Rewrites of Russian source text into forms ru-normalizr reads correctly (each one a measured misreading)."""

from __future__ import annotations

import re

from server.text.normalize.russian.morphology import analyzer

# "$5.30", "€1,200", "£3m": the library reads only "5 $" style (number first) and takes "1,200" for 1.2 and
# "£3m" for nothing. English thousands commas go, the symbol moves after the number, the scale letter becomes
# the Russian abbreviation (written without its period: "2 тыс. $" reads "две тысячи. Долларов.").
_SYMBOL_FIRST_MONEY = re.compile(
    r"(?<![\w$€£¥₽])(?P<symbol>[$€£¥₽])\s?(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<cents>\d{1,2}))?"
    r"(?:\s?(?P<scale>bn|k|m|тыс|млн|млрд)\.?(?![\w]))?"
)
_SCALES = {"k": "тыс", "m": "млн", "bn": "млрд", "тыс": "тыс", "млн": "млн", "млрд": "млрд"}
_SCALE_PERIOD_BEFORE_SYMBOL = re.compile(r"\b(тыс|млн|млрд)\.\s*(?=[$€£¥₽])")

# "12/03/2025": Russian writes the day first; the library only knows "12.03.2025".
_SLASH_DATE = re.compile(r"(?<![\d/])(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})(?![\d/])")

# A listener needs "example точка com", not "https двоеточие слэш слэш": the scheme is left unsaid.
_URL_SCHEME = re.compile(r"\bhttps?://(?=\S)")

# Titles the library leaves as written. "д-р" carries its case ending ("д-ра", "д-ром"); "проф." and "акад."
# take the case of the name after them ("к проф. Иванову" -> "к профессору Иванову").
_DOCTOR = re.compile(r"(?<![\w-])([Дд])-р(?=(?:а|у|ом|е|ы|ов|ам|ами|ах)?\b)")
_TITLE_BEFORE_NAME = re.compile(
    r"(?<![\w-])(?P<title>[Пп]роф|[Аа]кад)\.(?P<space>\s+)(?P<name>[А-ЯЁ][а-яё]+)"
)
_TITLES = {"проф": "профессор", "акад": "академик"}


def prepare(text: str) -> str:
    text = _SCALE_PERIOD_BEFORE_SYMBOL.sub(r"\1 ", text)
    text = _SYMBOL_FIRST_MONEY.sub(_money_number_first, text)
    text = _SLASH_DATE.sub(_dotted_date, text)
    text = _URL_SCHEME.sub("", text)
    text = _DOCTOR.sub(lambda m: "доктор" if m.group(1) == "д" else "Доктор", text)
    return _TITLE_BEFORE_NAME.sub(_title_in_case_of_name, text)


def _money_number_first(match: re.Match[str]) -> str:
    number = match["whole"].replace(",", "")
    if match["cents"]:
        number += "." + match["cents"]
    scale = f" {_SCALES[match['scale']]}" if match["scale"] else ""
    return f"{number}{scale} {match['symbol']}"


def _dotted_date(match: re.Match[str]) -> str:
    day, month = int(match["day"]), int(match["month"])
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return match[0]
    return f"{match['day']}.{match['month']}.{match['year']}"


def _title_in_case_of_name(match: re.Match[str]) -> str:
    title = _TITLES[match["title"].lower()]
    case = next(
        (p.tag.case for p in analyzer().parse(match["name"]) if {"Surn", "Name"} & p.tag.grammemes), None
    )
    if case:
        inflected = analyzer().parse(title)[0].inflect({case, "sing"})
        if inflected is not None:
            title = inflected.word
    if match["title"][0].isupper():
        title = title.capitalize()
    return f"{title}{match['space']}{match['name']}"
