"""The per-request switch (ElevenLabs' `apply_text_normalization`): AUTO, ON or OFF (contract/request.py)."""

from __future__ import annotations

from contract.request import TextNormalization
from server.text.normalize.detect import detect_language, plurality_language
from server.text.normalize.dispatch import normalize


def apply(text: str, language: str, mode: TextNormalization) -> str:
    """Normalize `text` for the request's `language` ("english", "russian", "auto", any other name) per `mode`.

    - OFF: `text` is returned untouched, whatever the language.
    - AUTO: "english" and "russian" are normalized; "auto" is normalized in the language `detect_language`
      finds (at least 60 % of the letters in one script), and left untouched when it finds none; every other
      language is left untouched (we have no normalizer for it).
    - ON: as AUTO, except that for "auto" a text without such a majority is still normalized, in whichever of
      Russian and English has more letters (untouched only when neither has any, or they tie).
    """
    if mode is TextNormalization.OFF:
        return text
    mode = TextNormalization.AUTO if mode is TextNormalization.UNSPECIFIED else mode
    if language == "auto":
        detected = detect_language(text)
        if detected is None and mode is TextNormalization.ON:
            detected = plurality_language(text)
        if detected is None:
            return text
        language = detected
    return normalize(text, language)
