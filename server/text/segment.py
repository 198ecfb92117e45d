"""Segments for synthesis: whole sentences grouped up to a character budget, with a quick first segment.

Rules, all functions of the text alone:
- Sentences (sentences.py) are grouped greedily: the next sentence joins the segment while the segment stays
  within `budget` characters; a blank line (paragraph break) always ends a segment.
- A sentence longer than the budget is cut, within the budget, after its last clause mark (",;:—–") outside
  brackets and quotes, else after any clause mark, else at a space between words, else at any space; the
  cut is made at least a quarter budget in, when such a place exists. Only a run of `budget` characters
  without a single space is cut mid-word.
- The first segment ends at the first clause mark outside brackets (or sentence end) at which it has
  `first_min_words` words, so that the first audio comes sooner.
Every segment is non-empty, at most `budget` characters, stripped; the segments are in order, do not overlap
and cover every non-space character.

`IncrementalSegmenter` takes the text in pieces (an LLM writing) and releases each segment once nothing that
may still arrive can change it. Fed a text in any pieces and then ended, it yields exactly `segment(text)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.text.brackets import Depth
from server.text.sentences import (
    MORE,
    Clause,
    End,
    skip_space,
    split_sentences,
    splitter_accept,
    walk,
)
from server.text.splitters import splitter_for

__all__ = ["IncrementalSegmenter", "Segment", "SegmenterOverflow", "segment", "split_sentences"]

DEFAULT_BUDGET = 250
DEFAULT_FIRST_MIN_WORDS = 5
DEFAULT_MAX_BUFFER = 8192
MIN_BUDGET = 20

_WORD = re.compile(r"[^\W_]+(?:[-'’.][^\W_]+)*")
_IDEOGRAPH = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass(frozen=True)
class Segment:
    """`text == source[start:end]`; `index` counts segments from 0 in order."""

    index: int
    start: int
    end: int
    text: str


class SegmenterOverflow(ValueError):
    """More text is buffered than `max_buffer` allows without any segment boundary in it."""


def count_words(text: str) -> int:
    # Chinese and Japanese write no spaces: each ideograph or kana counts as a word
    ideographs = len(_IDEOGRAPH.findall(text))
    return len(_WORD.findall(_IDEOGRAPH.sub(" ", text))) + ideographs


class IncrementalSegmenter:
    """Segments of a text that arrives in pieces: `feed(delta)`, `flush()`, `end()` each return new segments.

    Ranges are in the coordinates of the whole text fed so far. There is no timer: a caller that wants speech
    after an idle pause calls `flush()`, which releases everything buffered (even mid-sentence; what comes
    after starts a new segment).
    """

    def __init__(
        self,
        language: str,
        *,
        budget: int = DEFAULT_BUDGET,
        first_min_words: int = DEFAULT_FIRST_MIN_WORDS,
        max_buffer: int | None = DEFAULT_MAX_BUFFER,
    ) -> None:
        if budget < MIN_BUDGET:
            raise ValueError(f"budget must be at least {MIN_BUDGET} characters, got {budget}")
        if first_min_words < 1:
            raise ValueError(f"first_min_words must be at least 1, got {first_min_words}")
        if max_buffer is not None and max_buffer <= budget:
            raise ValueError(f"max_buffer ({max_buffer}) must exceed the budget ({budget})")
        self._budget = budget
        self._first_min_words = first_min_words
        self._max_buffer = max_buffer
        self._ask_splitter = splitter_accept(lambda: self._text, splitter_for(language))
        # A stream re-walks the open sentence on every feed: remember the splitter's verdicts (by absolute
        # position, so they survive trimming) instead of asking again.
        self._verdicts: dict[tuple[int, int, int, int], bool] = {}
        self._text = ""  # the text from absolute offset self._base on
        self._base = 0
        self._scan = 0  # where the next sentence (or the rest of a cut one) starts, in self._text
        self._group_start: int | None = None  # the open segment's first character, once it has one
        self._group_end: int | None = None  # the end of the last whole sentence in the open segment
        self._index = 0
        self._ended = False

    def feed(self, delta: str) -> list[Segment]:
        """Add text; return the segments it completes."""
        if self._ended:
            raise RuntimeError("feed() after end(): this segmenter is finished")
        self._text += delta
        segments = self._advance(final=False)
        pending = len(self._text) - (self._scan if self._group_start is None else self._group_start)
        if self._max_buffer is not None and pending > self._max_buffer:
            raise SegmenterOverflow(
                f"{pending} characters are buffered without a segment boundary (max_buffer={self._max_buffer}); "
                "call flush() to release them"
            )
        return segments

    def flush(self) -> list[Segment]:
        """Release everything buffered now as segments, as if the text ended here."""
        if self._ended:
            raise RuntimeError("flush() after end(): this segmenter is finished")
        return self._advance(final=True)

    def end(self) -> list[Segment]:
        """The text is complete: release the rest. The segmenter takes no more text."""
        if self._ended:
            raise RuntimeError("end() called twice")
        self._ended = True
        return self._advance(final=True)

    def _advance(self, final: bool) -> list[Segment]:
        out: list[Segment] = []
        while True:
            text = self._text
            start = skip_space(text, self._scan)
            if self._group_start is not None and self._group_end is not None:
                # a segment with whole sentences is open: a paragraph break or the end of the text closes it
                if text.count("\n", self._scan, start) >= 2 or (start == len(text) and final):
                    self._emit(out, self._group_end, self._scan)
                    continue
            if start == len(text):
                return out
            self._scan = start
            if self._group_start is None:
                self._group_start = start
            if not self._place_next_sentence(out, final):
                return out

    def _place_next_sentence(self, out: list[Segment], final: bool) -> bool:
        """Add the sentence at self._scan to the open segment, or close/cut the segment; False: need more text."""
        text, start = self._text, self._group_start
        assert start is not None
        limit = start + self._budget
        first = self._index == 0
        clauses: list[Clause] = []
        for event in walk(text, self._scan, limit, final, self._accept):
            if isinstance(event, Clause):
                if first and event.outside and count_words(text[start : event.pos]) >= self._first_min_words:
                    self._emit(out, event.pos, event.pos)
                    return True
                clauses.append(event)
            elif event is MORE:
                return False
            elif isinstance(event, End) and event.pos <= limit:
                self._group_end = self._scan = event.pos
                if first and count_words(text[start : event.pos]) >= self._first_min_words:
                    self._emit(out, event.pos, event.pos)
                return True
            else:  # BEYOND, or a sentence that ends past the limit
                if self._group_end is not None:
                    self._emit(out, self._group_end, self._scan)
                else:
                    cut = self._cut(text, start, limit, clauses)
                    self._emit(out, cut, cut)
                return True
        raise AssertionError("walk() ends with End, BEYOND or MORE")

    def _accept(self, start: int, terminators_end: int, pos: int, window_end: int) -> bool:
        key = (self._base + start, terminators_end - start, pos - start, window_end - start)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self._ask_splitter(start, terminators_end, pos, window_end)
        return verdict

    def _cut(self, text: str, start: int, limit: int, clauses: list[Clause]) -> int:
        """Where a sentence longer than the budget is cut (its first piece is text[start:cut])."""
        early = start + self._budget // 4
        spaces = _spaces(text, start, limit)
        tiers = (
            [c.pos for c in clauses if c.outside and c.pos >= early],
            [c.pos for c in clauses if c.pos >= early],
            [pos for pos, between_words in spaces if between_words and pos >= early],
            [pos for pos, _ in spaces],
            [c.pos for c in clauses],
        )
        for tier in tiers:
            if tier:
                return tier[-1]
        return limit  # one run of `budget` non-space characters: cut it

    def _emit(self, out: list[Segment], end: int, next_scan: int) -> None:
        start = self._group_start
        assert start is not None and end > start
        text = self._text[start:end]
        out.append(Segment(self._index, self._base + start, self._base + end, text))
        self._index += 1
        self._group_start = self._group_end = None
        self._scan = next_scan
        self._verdicts.clear()
        # drop released text once it is most of the buffer (amortized: no quadratic copying on long texts)
        if self._scan > 4096 and self._scan * 2 > len(self._text):
            self._text = self._text[self._scan :]
            self._base += self._scan
            self._scan = 0


def _spaces(text: str, start: int, limit: int) -> list[tuple[int, bool]]:
    """Whitespace positions in (start, limit] that end a word, each with whether it lies between two words
    outside brackets and quotes (the best place for a last-resort cut)."""
    depth = Depth()
    found = []
    for pos in range(start, min(limit, len(text) - 1) + 1):
        char = text[pos]
        if pos > start and char.isspace() and not text[pos - 1].isspace():
            nxt = skip_space(text, pos)
            between_words = (
                depth.value == 0 and text[pos - 1].isalnum() and nxt < len(text) and text[nxt].isalnum()
            )
            found.append((pos, between_words))
        depth.read(char)
    return found


def segment(
    text: str,
    language: str,
    *,
    budget: int = DEFAULT_BUDGET,
    first_min_words: int = DEFAULT_FIRST_MIN_WORDS,
) -> list[Segment]:
    """The segments of a whole text (see the module docstring for the rules)."""
    segmenter = IncrementalSegmenter(
        language, budget=budget, first_min_words=first_min_words, max_buffer=None
    )
    return segmenter.feed(text) + segmenter.end()
