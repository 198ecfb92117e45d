"""Russian normalization: ru-normalizr (pinned options) between our source rewrites and output repairs.

- library.py   the ru-normalizr instance, its options and why each is set
- prepare.py   rewrites of the source that the library misreads (`€1,200`, `£3m`, `12/03/2025`, `д-р`, ...)
- repair.py    fixes of the library's output (`одно миллион`, `одна тысяча`, `ноля минут`, lost final periods)
"""

from __future__ import annotations

import re

import razdel

from server.text.normalize.russian.library import library_normalize
from server.text.normalize.russian.prepare import prepare
from server.text.normalize.russian.repair import repair, restore_final_punctuation

# Characters ru-normalizr deletes without reading them (measured over U+0020..U+2FFF: ©, ®, ™ and the white
# bullet; private-use characters become dashes). We cut the text around them so they pass through untouched.
_DROPPED_BY_LIBRARY = re.compile("([©®™◦\ue000-\uf8ff]+)")


def normalize_russian(text: str) -> str:
    """The spoken form of Russian `text`; whitespace between sentences is kept exactly as it was."""
    parts = _DROPPED_BY_LIBRARY.split(text)
    # split() with a group alternates text / kept separator: odd positions are the protected characters
    return "".join(part if i % 2 else _normalize_sentences(part) for i, part in enumerate(parts))


def _normalize_sentences(text: str) -> str:
    # Sentence by sentence, because the library merges an abbreviation's period with the sentence end it
    # doubles as ("в XX в. Потом" -> "в двадцатом веке Потом"): per sentence we can put the period back.
    # razdel splits Russian abbreviations ("т. е.", "г.", "млн.") correctly; the library itself does not carry
    # context across a sentence end either, so nothing is lost by cutting there.
    out: list[str] = []
    last = 0
    for sentence in razdel.sentenize(text):
        out.append(text[last : sentence.start])
        out.append(_normalize_sentence(sentence.text))
        last = sentence.stop
    out.append(text[last:])
    return "".join(out)


def _normalize_sentence(sentence: str) -> str:
    spoken = repair(library_normalize(prepare(sentence)))
    return restore_final_punctuation(sentence, spoken)
