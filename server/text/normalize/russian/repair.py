"""Fixes of ru-normalizr's output: readings it produces that a native reader would not say."""

from __future__ import annotations

import re

from server.text.normalize.russian.morphology import analyzer

# Agreement leaks from the counted noun into the scale word: "1 234 567 устройств" -> "одно миллион ...".
_NEUTER_ONE_BEFORE_SCALE = re.compile(r"\b([Оо])дно(\s+(?:миллион|миллиард|триллион))")

# The library writes a leading "одна тысяча", "один миллион" (cheque style); Russians say "тысяча пятьсот",
# "миллион двести". Only a leading "один": inside a number ("двадцать одна тысяча", "два миллиона одна
# тысяча") it is required, so the word before must not be a numeral or a scale word.
_ONE_BEFORE_SCALE = re.compile(
    r"(?P<before>\b[\w-]+\s+|^)(?P<one>[Оо]д(?:ин|на|ну|ной|ного|ному|ним|ном))\s+"
    r"(?P<scale>тысяч(?:а|у|и|е|ей)|(?:миллион|миллиард|триллион)(?:а|у|ом|е)?)\b"
)
_SCALE_LEMMAS = frozenset({"тысяча", "миллион", "миллиард", "триллион"})

# "С 9:00 до 18:00" -> "С девяти часов ноля минут ..."; zero minutes are not said.
_ZERO_MINUTES = re.compile(r"\b(час(?:а|ов)?)\s+ноля\s+минут\b")

# "$0.99" -> "ноль долларов девяносто девять центов": the zero whole amount is not said.
_ZERO_WHOLE_AMOUNT = re.compile(
    r"\b[Нн]оль\s+(?:долларов|евро|фунтов|рублей|иен)\s+(?=[а-яё ]*?\b(?:цент|копе|пенс))"
)

_SENTENCE_END = ".!?…"


def repair(spoken: str) -> str:
    spoken = _NEUTER_ONE_BEFORE_SCALE.sub(r"\1дин\2", spoken)
    spoken = _ONE_BEFORE_SCALE.sub(_drop_leading_one, spoken)
    spoken = _ZERO_MINUTES.sub(r"\1", spoken)
    return _ZERO_WHOLE_AMOUNT.sub("", spoken)


def restore_final_punctuation(source: str, spoken: str) -> str:
    """Put back a sentence-final period the library merged into an abbreviation ("в XX в." -> "в ... веке")."""
    source, stripped = source.rstrip(), spoken.rstrip()
    if source and source[-1] in _SENTENCE_END and stripped and stripped[-1] not in _SENTENCE_END:
        return stripped + source[-1] + spoken[len(stripped) :]
    return spoken


def _drop_leading_one(match: re.Match[str]) -> str:
    before = match["before"].strip()
    if before and _is_number_word(before):
        return match[0]
    scale = match["scale"]
    if match["one"][0].isupper():
        scale = scale.capitalize()
    return match["before"] + scale


def _is_number_word(word: str) -> bool:
    return any(p.tag.POS == "NUMR" or p.normal_form in _SCALE_LEMMAS for p in analyzer().parse(word.lower()))
