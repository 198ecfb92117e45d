"""normalize(text, language): the one entry point that routes to a language's normalizer."""

from __future__ import annotations

from server.text.normalize.english import normalize_english
from server.text.normalize.russian import normalize_russian

NORMALIZERS = {"english": normalize_english, "russian": normalize_russian}


def normalize(text: str, language: str) -> str:
    """Spell out numbers, dates, money, units, abbreviations ... of `text` as a reader of `language` says them.

    `language` is the model's lower-case language name. Languages without a normalizer ("chinese", "auto",
    anything else) return `text` unchanged: resolve "auto" first (see `apply`). Characters a normalizer does
    not verbalize (emoji, unknown symbols, letters of other scripts) stay in the output.
    """
    normalizer = NORMALIZERS.get(language)
    return text if normalizer is None else normalizer(text)
