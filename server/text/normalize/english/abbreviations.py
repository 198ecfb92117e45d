"""Common abbreviations: titles ("Dr.", "St.", "Mr."), Latin ("e.g.", "i.e.", "etc.") and a few others."""

from __future__ import annotations

import re

from server.text.normalize.english.sentence_end import ends_sentence

# Always read the same way, wherever they stand.
_FIXED = {
    "e.g.": "for example",
    "i.e.": "that is",
    "etc.": "et cetera",
    "vs.": "versus",
    "approx.": "approximately",
    "Mr.": "Mister",
    "Mrs.": "Missus",
    "Ms.": "Miz",
    "Prof.": "Professor",
    "Jr.": "Junior",
    "Sr.": "Senior",
    "Mt.": "Mount",
    "Capt.": "Captain",
    "Gen.": "General",
    "Gov.": "Governor",
    "Sen.": "Senator",
    "Rev.": "Reverend",
    "Sgt.": "Sergeant",
    "Lt.": "Lieutenant",
    "Ave.": "Avenue",
    "Blvd.": "Boulevard",
    "Rd.": "Road",
    "Dept.": "Department",
    "Fig.": "Figure",
    "Ltd.": "Limited",
    "Inc.": "Incorporated",
}
# Titles stand before a name and never end a sentence; the rest keep a period that also ends the sentence.
_TITLES = frozenset(
    {"Mr.", "Mrs.", "Ms.", "Prof.", "Mt.", "Capt.", "Gen.", "Gov.", "Sen.", "Rev.", "Sgt.", "Lt."}
)
_FIXED_PATTERN = re.compile(
    r"(?<![\w.])(?:" + "|".join(re.escape(a) for a in sorted(_FIXED, key=len, reverse=True)) + r")(?![\w])"
)
# "Dr." and "St." are a title before a name ("Dr. Smith", "St. Louis") and a street after one ("Elm Dr.",
# "Main St."): a street when a capitalized word or a house number comes before and no capitalized word after.
_DR_ST = re.compile(r"(?<![\w.])(?P<abbr>Dr|St)\.(?![\w])")
_NUMBER_SIGN = re.compile(r"(?<![\w.])(?:No|Nos|no)\.(?=\s*\d)")
_WORDS = {"Dr": ("Doctor", "Drive"), "St": ("Saint", "Street")}


def _fixed(match: re.Match[str]) -> str:
    words = _FIXED[match[0]]
    if match[0] not in _TITLES and ends_sentence(match.string, match.end()):
        words += "."
    return words


def _dr_st(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    before = text[max(0, start - 100) : start].split()  # the two words before are all we look at
    previous = before[-1] if before else ""
    # "Meet Dr. Smith": a capitalized first word of a sentence is no street name
    after_name = previous.isdigit() or previous[:1].isupper() and not _first_of_sentence(before)
    title, street = _WORDS[match["abbr"]]
    if after_name:
        return street + ("." if ends_sentence(text, end) else "")
    return title


def _first_of_sentence(before: list[str]) -> bool:
    return len(before) < 2 or before[-2][-1:] in ".!?"


def expand_abbreviations(text: str) -> str:
    text = _NUMBER_SIGN.sub("number", text)
    text = _DR_ST.sub(_dr_st, text)
    return _FIXED_PATTERN.sub(_fixed, text)
