"""English normalization: our rule layer over num2words, one reading per module, applied in a fixed order.

The order matters: a rule turns what it recognizes into words (no digits left), so a later, more general rule
cannot misread it. Addresses go first (their dots and digits are no decimals), the specific number shapes
(phones, dates, times, money, measures) before the general ones (ranges, years, plain numbers).

- web.py            e-mail addresses, URLs
- phone.py          phone numbers, digit by digit
- dates.py          "2025-03-12", "12/03/2025", "12.03.2025", "March 3rd", "3 March 2025"
- times.py          "14:30", "2:30 pm", "7 a.m.", ratios "3:2"
- money.py          "$5.30", "€1,200", "£3m", "1 500 ₽", "20 USD"
- measures.py       "%", "°C", units ("60 km/h", "5 kg")
- years.py          decades (before the units: "1990s"), years in context
- ranges.py         "5-10", "1990–2000", fractions
- roman.py          "Louis XIV", "XIX century", "World War II"
- abbreviations.py  "Dr.", "St.", "etc.", "e.g.", "No. 5"
- numbers.py        num2words wrappers, and every number left ("1,500", "3.14", "-5", "21st")
- calendar_words.py month names; sentence_end.py: whether a replaced period also ended the sentence
"""

from __future__ import annotations

from server.text.normalize.english.abbreviations import expand_abbreviations
from server.text.normalize.english.dates import read_dates
from server.text.normalize.english.measures import read_measures
from server.text.normalize.english.money import read_money
from server.text.normalize.english.numbers import spell_numbers
from server.text.normalize.english.phone import read_phone_numbers
from server.text.normalize.english.ranges import read_ranges_and_fractions
from server.text.normalize.english.roman import read_roman_numerals
from server.text.normalize.english.times import read_times
from server.text.normalize.english.web import read_addresses
from server.text.normalize.english.years import read_decades, read_years

PASSES = (
    read_addresses,
    read_phone_numbers,
    read_dates,
    read_times,
    read_money,
    read_decades,
    read_measures,
    read_ranges_and_fractions,
    read_years,
    read_roman_numerals,
    expand_abbreviations,
    spell_numbers,
)


def normalize_english(text: str) -> str:
    for rule in PASSES:
        text = rule(text)
    return text
