"""The sentence splitters we consult: razdel for Russian (it keeps "т. е.", "млн.", "г." together, where
sentencex and pysbd split), sentencex (rule-based, ~300 languages, no data download) for every other language.
"""

from __future__ import annotations

from collections.abc import Callable

import razdel
import sentencex

from server.text.normalize.detect import detect_language

# The model's language names -> sentencex's language codes; anything else uses the English rules.
_SENTENCEX_CODES = {
    "english": "en",
    "german": "de",
    "french": "fr",
    "spanish": "es",
    "italian": "it",
    "portuguese": "pt",
    "chinese": "zh",
    "japanese": "ja",
    "korean": "ko",
}

Splitter = Callable[[str], list[int]]


def razdel_boundaries(text: str) -> list[int]:
    """Stripped ends of all sentences of `text` but the last."""
    return [sentence.stop for sentence in razdel.sentenize(text)][:-1]


def _sentencex(code: str) -> Splitter:
    def boundaries(text: str) -> list[int]:
        found = sentencex.get_sentence_boundaries(code, text)
        return [s["start_index"] + len(s["text"].rstrip()) for s in found][:-1]

    return boundaries


def _by_script(text: str) -> list[int]:
    # "auto": each window is judged by its own letters, so the choice is a function of the text alone
    return (razdel_boundaries if detect_language(text) == "russian" else _sentencex("en"))(text)


def splitter_for(language: str) -> Splitter:
    """The boundary function for the model's `language` name ("russian", "english", "auto", ...)."""
    if language == "russian":
        return razdel_boundaries
    if language == "auto":
        return _by_script
    return _sentencex(_SENTENCEX_CODES.get(language, "en"))
