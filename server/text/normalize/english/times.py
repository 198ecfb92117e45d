"""Clock times ("14:30", "9:05", "2:30 pm", "7 a.m.") and ratios/scores written with a colon ("3:2")."""

from __future__ import annotations

import re

from server.text.normalize.english.numbers import cardinal
from server.text.normalize.english.sentence_end import ends_sentence

_AM_PM = r"(?P<ampm>[AaPp]\.?[Mm]\b\.?)"
_CLOCK = re.compile(rf"(?<![\d:.])(?P<hour>\d{{1,2}}):(?P<minute>\d{{2}})(?![\d:])(?:\s?{_AM_PM})?")
_HOUR_AM_PM = re.compile(rf"(?<![\d:.])(?P<hour>\d{{1,2}})\s?{_AM_PM}")
_RATIO = re.compile(r"(?<![\d:.])(\d+):(\d)(?![\d:])")


def _meridiem(match: re.Match[str]) -> str:
    ampm = match["ampm"]
    words = " " + ampm[0].upper() + " M"  # letters the model spells: "P M"
    if ampm.endswith(".") and ends_sentence(match.string, match.end()):
        words += "."  # "at 7 p.m." ends the sentence: keep its period
    return words


def _clock(match: re.Match[str]) -> str:
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 24 or minute > 59 or (match["ampm"] and not 1 <= hour <= 12):
        return match[0]
    words = cardinal(hour)
    if minute == 0:
        words += "" if match["ampm"] else (" o'clock" if hour <= 12 else " hundred")
    elif minute < 10:
        words += " oh " + cardinal(minute)
    else:
        words += " " + cardinal(minute)
    return words + (_meridiem(match) if match["ampm"] else "")


def _hour_am_pm(match: re.Match[str]) -> str:
    hour = int(match["hour"])
    if not 1 <= hour <= 12:
        return match[0]
    return cardinal(hour) + _meridiem(match)


def read_times(text: str) -> str:
    text = _CLOCK.sub(_clock, text)
    text = _HOUR_AM_PM.sub(_hour_am_pm, text)
    return _RATIO.sub(lambda m: f"{cardinal(int(m[1]))} to {cardinal(int(m[2]))}", text)
