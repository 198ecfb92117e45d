"""Which language a text is written in, judged by its script alone (for the API's `auto` language)."""

from __future__ import annotations

# A share of the letters, not a plurality: a Russian sentence that names "iPhone" or "GitHub" is still
# Russian, but a text that is half Cyrillic and half Latin is not confidently either.
MAJORITY = 0.6


def script_counts(text: str) -> tuple[int, int, int]:
    """(Cyrillic letters, Latin letters, all letters) of `text`."""
    cyrillic = latin = letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        code = ord(char)
        if 0x0400 <= code <= 0x052F:  # Cyrillic + Cyrillic Supplement
            cyrillic += 1
        elif char.isascii() or 0x00C0 <= code <= 0x024F:  # Basic Latin + Latin-1 letters + Latin Extended-A/B
            latin += 1
    return cyrillic, latin, letters


def detect_language(text: str) -> str | None:
    """ "russian" when at least 60 % of the letters are Cyrillic, "english" when at least 60 % are Latin, else None.

    Letters of other scripts (Chinese, Greek, ...) count in the total, so a mostly Chinese text is None; a text
    without letters (digits only, emoji) is None too.
    """
    cyrillic, latin, letters = script_counts(text)
    if letters == 0:
        return None
    if cyrillic >= MAJORITY * letters:
        return "russian"
    if latin >= MAJORITY * letters:
        return "english"
    return None


def plurality_language(text: str) -> str | None:
    """The looser judgement TextNormalization.ON uses: whichever of Cyrillic and Latin has more letters."""
    cyrillic, latin, _ = script_counts(text)
    if cyrillic == latin:
        return None
    return "russian" if cyrillic > latin else "english"
