"""Quantities with a sign after them: percentages, temperatures and units ("60 km/h", "5 kg", "10–20%")."""

from __future__ import annotations

import re

from server.text.normalize.english.numbers import NUMBER, is_one, number

# unit as written -> (singular, plural)
_UNITS = {
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "m/s": ("meter per second", "meters per second"),
    "km²": ("square kilometer", "square kilometers"),
    "m²": ("square meter", "square meters"),
    "cm²": ("square centimeter", "square centimeters"),
    "m³": ("cubic meter", "cubic meters"),
    "km": ("kilometer", "kilometers"),
    "m": ("meter", "meters"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "kg": ("kilogram", "kilograms"),
    "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "L": ("liter", "liters"),
    "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "s": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "ms": ("millisecond", "milliseconds"),
    "KB": ("kilobyte", "kilobytes"),
    "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "W": ("watt", "watts"),
    "kW": ("kilowatt", "kilowatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "V": ("volt", "volts"),
    "mAh": ("milliamp hour", "milliamp hours"),
}
_TEMPERATURE_SCALES = {"C": "Celsius", "F": "Fahrenheit"}

# A quantity: an optional sign, a number and an optional upper bound of a range ("10–20", "10 - 20").
_QUANTITY = rf"(?P<sign>(?<![\w.,)])[-−])?(?P<amount>{NUMBER})(?:\s?[-–]\s?(?P<upper>{NUMBER}))?"
_PERCENT = re.compile(rf"{_QUANTITY}\s?%")
_DEGREES = re.compile(rf"{_QUANTITY}\s?°(?:\s?(?P<scale>[CF])\b)?")
_UNIT_NAMES = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_UNIT = re.compile(rf"(?<![\w.,]){_QUANTITY}\s?(?P<unit>{_UNIT_NAMES})(?![\w/²³])")


def _quantity(match: re.Match[str]) -> tuple[str, bool]:
    """(the quantity in words, whether its noun is singular)."""
    words = ("minus " if match["sign"] else "") + number(match["amount"])
    if match["upper"]:
        return f"{words} to {number(match['upper'])}", False
    return words, is_one(match["amount"])


def _percent(match: re.Match[str]) -> str:
    return _quantity(match)[0] + " percent"


def _degrees(match: re.Match[str]) -> str:
    words, singular = _quantity(match)
    words += " degree" if singular else " degrees"
    return words + (" " + _TEMPERATURE_SCALES[match["scale"]] if match["scale"] else "")


def _unit(match: re.Match[str]) -> str:
    words, singular = _quantity(match)
    one, many = _UNITS[match["unit"]]
    return f"{words} {one if singular else many}"


def read_measures(text: str) -> str:
    text = _PERCENT.sub(_percent, text)
    text = _DEGREES.sub(_degrees, text)
    return _UNIT.sub(_unit, text)
