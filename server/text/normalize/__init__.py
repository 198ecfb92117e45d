"""Text normalization for English and Russian behind one interface.

    normalize(text, language) -> str             the spoken form ("english", "russian"; others unchanged)
    detect_language(text) -> str | None          "russian" / "english" by script, for the API's `auto`
    apply(text, language, TextNormalization.X)   the per-request AUTO / ON / OFF switch

- detect.py     language by script (Cyrillic / Latin shares of the letters)
- dispatch.py   normalize(): language name -> normalizer
- mode.py       TextNormalization + apply()
- english/      our rule layer over num2words (numbers, money, dates, times, units, abbreviations, ...)
- russian/      ru-normalizr with pinned options, and our fixes of its measured errors
"""

from server.text.normalize.detect import detect_language
from server.text.normalize.dispatch import normalize
from server.text.normalize.mode import TextNormalization, apply

__all__ = ["TextNormalization", "apply", "detect_language", "normalize"]
