"""Money: "$5.30", "€1,200", "£3m", "$5.3 billion", "1 500 ₽", "$5–10", "20 USD", "50p"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.text.normalize.english.numbers import NUMBER, cardinal, is_one, number


@dataclass(frozen=True)
class Currency:
    one: str
    many: str
    minor_one: str | None = None  # no minor unit read (yen)
    minor_many: str | None = None


_CURRENCIES = {
    "$": Currency("dollar", "dollars", "cent", "cents"),
    "€": Currency("euro", "euros", "cent", "cents"),
    "£": Currency("pound", "pounds", "penny", "pence"),
    "¥": Currency("yen", "yen"),
    "₽": Currency("ruble", "rubles", "kopeck", "kopecks"),
}
_CODES = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "RUB": "₽"}
_SCALES = {
    "k": "thousand",
    "m": "million",
    "mn": "million",
    "bn": "billion",
    "b": "billion",
    "tn": "trillion",
}

_SYMBOL = "[$€£¥₽]"
_SCALE = r"(?:\s?(?P<scale>thousand|million|billion|trillion|[kKmMbB]|mn|bn|tn)\b)"
# "1 500 ₽": spaces group thousands only in this number-first form, where the symbol makes it unambiguous
_SPACED = r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?"
_SYMBOL_FIRST = re.compile(
    rf"(?<![\w$€£¥₽])(?P<symbol>{_SYMBOL})\s?(?P<amount>{NUMBER}){_SCALE}?"
    rf"(?:\s?[-–]\s?(?P=symbol)?(?P<upper>{NUMBER}))?(?![\d])"
)
_NUMBER_FIRST = re.compile(rf"(?<![\w.,])(?P<amount>{_SPACED}|{NUMBER}){_SCALE}?\s?(?P<symbol>{_SYMBOL})")
_CODE_AFTER = re.compile(rf"(?<![\w.,])(?P<amount>{NUMBER}){_SCALE}?\s(?P<code>USD|EUR|GBP|JPY|RUB)\b")
_PENCE = re.compile(r"(?<![\w.,])(\d+)p\b")
_CODE_BEFORE = re.compile(rf"\b(?P<code>USD|EUR|GBP|JPY|RUB)\s?(?P<amount>{NUMBER}){_SCALE}?(?!\d)")


def _amount(amount: str, currency: Currency, scale: str | None) -> str:
    amount = re.sub(r"[ \u00a0\u202f]", "", amount)
    if scale:
        scale_word = _SCALES.get(scale.lower(), scale.lower())
        return f"{number(amount)} {scale_word} {currency.many}"
    whole, _, cents = amount.replace(",", "").partition(".")
    if cents and (len(cents) != 2 or currency.minor_one is None):
        return f"{number(amount)} {currency.many}"  # "$5.3", "¥1.5": a decimal amount, not cents
    words = []
    if int(whole) or not cents or not int(cents):
        words.append(f"{cardinal(int(whole))} {currency.one if is_one(whole) else currency.many}")
    if cents and int(cents):
        minor = currency.minor_one if int(cents) == 1 else currency.minor_many
        words.append(f"{cardinal(int(cents))} {minor}")
    return " and ".join(words)


def _symbol_first(match: re.Match[str]) -> str:
    currency = _CURRENCIES[match["symbol"]]
    if match["upper"]:  # "$5–10": "five to ten dollars"
        return f"{number(match['amount'])} to {_amount(match['upper'], currency, match['scale'])}"
    return _amount(match["amount"], currency, match["scale"])


def _number_first(match: re.Match[str]) -> str:
    return _amount(match["amount"], _CURRENCIES[match["symbol"]], match["scale"])


def _code(match: re.Match[str]) -> str:
    return _amount(match["amount"], _CURRENCIES[_CODES[match["code"]]], match["scale"])


def read_money(text: str) -> str:
    text = _SYMBOL_FIRST.sub(_symbol_first, text)
    text = _NUMBER_FIRST.sub(_number_first, text)
    text = _CODE_AFTER.sub(_code, text)
    text = _CODE_BEFORE.sub(_code, text)
    return _PENCE.sub(lambda m: cardinal(int(m[1])) + (" penny" if m[1] == "1" else " pence"), text)
