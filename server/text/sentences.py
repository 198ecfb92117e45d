"""Sentence boundaries, decided left to right with bounded lookahead so that a stream can decide them too.

A boundary candidate is our own rule: a terminator (".", "!", "?", "…", possibly "?!", "...") with closing quotes
or brackets after it, followed by whitespace; a full-width "。！？" needs no whitespace; a newline always ends a
sentence. A candidate is rejected inside brackets or quotes, when the "sentence" has no letter ("1." of a
list), when the next word starts in lower case ("e.g. this", "т. е. так"), or when a short word with a period
is followed by a number ("approx. 5", "рис. 3"). Otherwise the language's splitter (splitters.py) decides, run
on the window from the sentence start to the end of the next word: the decision needs nothing after that word,
which is what makes `IncrementalSegmenter` agree with `segment` (a word longer than NEXT_WORD_LOOKAHEAD is
seen only that far, so a stream never waits longer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from server.text.brackets import Depth
from server.text.splitters import Splitter, splitter_for

TERMINATORS = ".!?…"
FULL_WIDTH_TERMINATORS = "。！？"
CLOSERS = "\"'»”’)]}›*_`"  # may follow a terminator and still belong to its sentence
CLAUSE_MARKS = ",;:—–"  # a clause ends after one when whitespace follows
FULL_WIDTH_CLAUSE_MARKS = "，；：、"

# The splitter sees at most this much of the next word: a candidate never waits longer than that for it.
NEXT_WORD_LOOKAHEAD = 40

_SHORT_WORD_WITH_PERIOD = re.compile(r"(?:^|\s)[^\W\d_]{1,6}\.$")


@dataclass(frozen=True)
class Clause:
    """A piece may end at `pos` (just after a clause mark); `outside` says it is outside brackets and quotes."""

    pos: int
    outside: bool


@dataclass(frozen=True)
class End:
    """The sentence ends at `pos` (its last non-space character is at pos - 1)."""

    pos: int


class Beyond:
    """The sentence has a non-space character at or after the limit: it ends past it."""


class More:
    """Nothing more can be decided until more text arrives."""


BEYOND = Beyond()
MORE = More()
Event = Clause | End | Beyond | More
Accept = Callable[[int, int, int, int], bool]  # (sentence start, terminators end, candidate end, window end)


def rstrip_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def walk(text: str, start: int, limit: int | None, final: bool, accept: Accept) -> Iterator[Event]:
    """The clause breaks of the sentence that starts at `start`, then how it ends: End, BEYOND or MORE.

    `final` says `text` is complete (no more will come). `limit` (None: no limit) stops the walk at the first
    non-space character at or past it. `accept` is consulted for candidates that pass our own rules.
    """
    depth = Depth()
    n = len(text)
    i = start
    while i < n:
        char = text[i]
        if limit is not None and i >= limit and not char.isspace():
            yield BEYOND
            return
        if char == "\n":
            yield End(rstrip_end(text, start, i))
            return
        if char in TERMINATORS or char in FULL_WIDTH_TERMINATORS:
            j = i
            while j < n and (text[j] in TERMINATORS or text[j] in FULL_WIDTH_TERMINATORS):
                j += 1
            terminators_end = j
            while j < n and text[j] in CLOSERS:
                depth.read(text[j])
                j += 1
            if j == n:
                yield End(j) if final else MORE
                return
            full_width = any(c in FULL_WIDTH_TERMINATORS for c in text[i:terminators_end])
            if full_width or text[j].isspace():
                verdict = _boundary(text, start, terminators_end, j, depth.value, full_width, final, accept)
                if verdict is None:
                    yield MORE
                    return
                if verdict:
                    yield End(j)
                    return
            i = j
            continue
        if char in CLAUSE_MARKS or char in FULL_WIDTH_CLAUSE_MARKS:
            if i + 1 == n and not final:
                yield MORE
                return
            if i + 1 < n and (text[i + 1].isspace() or char in FULL_WIDTH_CLAUSE_MARKS):
                yield Clause(i + 1, depth.value == 0)
        depth.read(char)
        i += 1
    yield End(rstrip_end(text, start, n)) if final else MORE


def _boundary(
    text: str,
    start: int,
    terminators_end: int,
    pos: int,
    depth: int,
    full_width: bool,
    final: bool,
    accept: Accept,
) -> bool | None:
    """Whether a candidate ending at `pos` ends the sentence; None: the next word has not fully arrived."""
    if depth > 0:
        return False
    if full_width:
        return True
    n = len(text)
    k = pos
    while k < n and text[k].isspace():
        if text[k] == "\n":
            return True
        k += 1
    if k == n:
        return True if final else None
    sentence = text[start:pos]
    if not any(c.isalpha() for c in sentence):
        return False
    if text[k].islower():
        return False
    if text[k].isdigit() and _SHORT_WORD_WITH_PERIOD.search(text[start:terminators_end]):
        return False
    window_end, cap = k, k + NEXT_WORD_LOOKAHEAD
    while window_end < n and window_end < cap and not text[window_end].isspace():
        window_end += 1
    if window_end == n and window_end < cap and not final:
        return None
    return accept(start, terminators_end, pos, window_end)


def splitter_accept(text_of: Callable[[], str], splitter: Splitter) -> Accept:
    """`accept` that asks `splitter` whether it ends a sentence between `terminators_end` and `pos`."""

    def accept(start: int, terminators_end: int, pos: int, window_end: int) -> bool:
        window = text_of()[start:window_end]
        return any(terminators_end - start <= b <= pos - start for b in splitter(window))

    return accept


def split_sentences(text: str, language: str) -> list[tuple[int, int]]:
    """Sentence ranges `(start, end)` of `text`: stripped, in order, covering every non-space character."""
    accept = splitter_accept(lambda: text, splitter_for(language))
    ranges = []
    pos = skip_space(text, 0)
    while pos < len(text):
        for event in walk(text, pos, None, True, accept):
            if isinstance(event, End):
                ranges.append((pos, event.pos))
                pos = skip_space(text, event.pos)
                break
    return ranges
