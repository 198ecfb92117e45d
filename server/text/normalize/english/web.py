"""E-mail addresses and URLs, read the way people say them: "jane dot doe at example dot com"."""

from __future__ import annotations

import re

from server.text.normalize.english.numbers import cardinal, digits

_SYMBOLS = {
    ".": "dot",
    "@": "at",
    "/": "slash",
    "-": "dash",
    "_": "underscore",
    "+": "plus",
    "?": "question mark",
    "=": "equals",
    "&": "and",
    "#": "hash",
    ":": "colon",
    "%": "percent",
    "~": "tilde",
}

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Explicit URLs (scheme or www.) and bare domains with a common top-level domain; a trailing sentence
# period, comma or bracket is not part of the address.
_TLDS = "com|org|net|io|ai|dev|app|edu|gov|co|uk|ru|de|fr|info|me|tv|us|eu"
_URL = re.compile(
    r"(?<![\w@.])(?:https?://\S+|www\.\S+|[\w-]+(?:\.[\w-]+)*\.(?:" + _TLDS + r")\b(?:[/?#]\S*)?)"
    r"(?<![.,;:!?)\]'\"])"
)
_SCHEME = re.compile(r"^https?://")
_PART = re.compile(r"[^\W_]+|.", re.UNICODE)


def _say(address: str) -> str:
    words = []
    for part in _PART.findall(address):
        if part.isdigit():
            words.append(cardinal(int(part)) if len(part) <= 3 and not part.startswith("0") else digits(part))
        else:
            words.append(_SYMBOLS.get(part, part))
    return " ".join(words)


def read_addresses(text: str) -> str:
    text = _EMAIL.sub(lambda m: _say(m[0]), text)
    # the scheme is not said: a listener needs "example dot com", not "h t t p s colon slash slash"
    return _URL.sub(lambda m: _say(_SCHEME.sub("", m[0])), text)
