"""Segmentation: sentence boundaries, grouping to a budget, the quick first segment, and the stream."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.text.segment import IncrementalSegmenter, Segment, SegmenterOverflow, segment, split_sentences


def sentences(text: str, language: str = "english") -> list[str]:
    return [text[start:end] for start, end in split_sentences(text, language)]


def texts(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments]


# --- sentence boundaries -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith went home. Mr. Jones stayed.", ["Dr. Smith went home.", "Mr. Jones stayed."]),
        ("See e.g. the docs. Then go.", ["See e.g. the docs.", "Then go."]),
        ("It was approx. 5 km. Then we rested.", ["It was approx. 5 km.", "Then we rested."]),
        ("The value is 3.14. Next is 1,000.", ["The value is 3.14.", "Next is 1,000."]),
        ("I met J. R. R. Tolkien yesterday. He smiled.", ["I met J. R. R. Tolkien yesterday.", "He smiled."]),
        ('He said: "Stop. Now." Then he left.', ['He said: "Stop. Now."', "Then he left."]),
        (
            "He left (see Fig. 3. It shows. The way.) and came back.",
            ["He left (see Fig. 3. It shows. The way.) and came back."],
        ),
        (
            "Wait... what? Fine. I waited... Then he came.",
            ["Wait... what?", "Fine.", "I waited...", "Then he came."],
        ),
        ("Really?! Yes!", ["Really?!", "Yes!"]),
        ("1. First item\n2. Second item\n- third", ["1. First item", "2. Second item", "- third"]),
        ("Line one\nLine two\n\n\nLine three", ["Line one", "Line two", "Line three"]),
        ("你好。世界！再见", ["你好。", "世界！", "再见"]),
        ("  \n  ", []),
    ],
)
def test_english_and_other_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Это т. е. так. Потом всё.", ["Это т. е. так.", "Потом всё."]),
        ("Было 25 млн. рублей. Потом всё.", ["Было 25 млн. рублей.", "Потом всё."]),
        ("В 2024 г. мы уехали. Он из г. Москвы.", ["В 2024 г. мы уехали.", "Он из г. Москвы."]),
        ("Он сказал: «Иди. Быстро.» Потом ушёл.", ["Он сказал: «Иди. Быстро.»", "Потом ушёл."]),
        ("См. рис. 3. Дальше.", ["См. рис. 3.", "Дальше."]),
        ("А. С. Пушкин родился. Потом вырос.", ["А. С. Пушкин родился.", "Потом вырос."]),
    ],
)
def test_russian_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text, "russian") == expected


def test_auto_language_picks_the_splitter_by_script() -> None:
    assert sentences("Было 25 млн. рублей. Потом всё.", "auto") == ["Было 25 млн. рублей.", "Потом всё."]
    assert sentences("Dr. Smith went home. Then.", "auto") == ["Dr. Smith went home.", "Then."]


# --- segments ------------------------------------------------------------------------------------------------


def test_sentences_are_grouped_up_to_the_budget() -> None:
    text = "One two three four five. " * 8  # 24-character sentences
    got = segment(text, "english", budget=80)
    assert texts(got) == [
        "One two three four five.",  # the first segment ends as soon as it has 5 words
        "One two three four five. One two three four five. One two three four five.",
        "One two three four five. One two three four five. One two three four five.",
        "One two three four five.",
    ]


def test_a_paragraph_break_ends_a_segment() -> None:
    text = "Hello there, my good friend. Short one.\n\nNew paragraph. More here."
    assert texts(segment(text, "english")) == [
        "Hello there, my good friend.",
        "Short one.",
        "New paragraph. More here.",
    ]


def test_first_segment_ends_at_an_early_clause() -> None:
    text = "Well, I think that, after all, we should go home now because it is late. Then we sleep."
    got = segment(text, "english", first_min_words=5)
    assert texts(got) == [
        "Well, I think that, after all,",
        "we should go home now because it is late. Then we sleep.",
    ]
    assert texts(segment(text, "english", first_min_words=3))[0] == "Well, I think that,"


def test_first_segment_never_ends_inside_brackets() -> None:
    text = "He said (and I quote, with care, every word) that we are done. Then more."
    assert (
        texts(segment(text, "english"))[0] == "He said (and I quote, with care, every word) that we are done."
    )


def test_a_long_sentence_is_cut_at_clause_marks() -> None:
    text = "This sentence goes on, " + "and on and on, " * 30 + "until it ends."
    got = segment(text, "english", budget=100)
    assert all(len(s.text) <= 100 for s in got)
    assert all(s.text.endswith(",") for s in got[:-1])
    assert got[-1].text.endswith("until it ends.")


def test_a_long_sentence_without_clause_marks_is_cut_between_words() -> None:
    text = "word " * 100
    got = segment(text, "english", budget=50)
    assert all(len(s.text) <= 50 and not s.text.endswith(" ") for s in got)
    assert " ".join(texts(got)) == text.strip()


def test_numbers_and_abbreviations_are_not_cut_when_a_word_gap_exists() -> None:
    text = "We counted 1 000 000 items at Dr. Smith's lab and then " + "more items " * 30
    for piece in texts(segment(text, "english", budget=60)):
        assert not piece.endswith(("1", "000", "Dr."))


def test_a_run_longer_than_the_budget_is_cut_mid_word() -> None:
    text = "x" * 120
    assert texts(segment(text, "english", budget=50)) == ["x" * 50, "x" * 50, "x" * 20]


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="budget"):
        IncrementalSegmenter("english", budget=5)
    with pytest.raises(ValueError, match="first_min_words"):
        IncrementalSegmenter("english", first_min_words=0)
    with pytest.raises(ValueError, match="max_buffer"):
        IncrementalSegmenter("english", budget=250, max_buffer=100)


# --- the stream ----------------------------------------------------------------------------------------------


def feed_all(segmenter: IncrementalSegmenter, pieces: list[str]) -> list[Segment]:
    out = []
    for piece in pieces:
        out += segmenter.feed(piece)
    return out + segmenter.end()


def test_a_sentence_is_released_once_the_next_word_arrives() -> None:
    segmenter = IncrementalSegmenter("english", first_min_words=3)
    assert segmenter.feed("Dr. Smith went home.") == []
    assert segmenter.feed(" ") == []
    assert segmenter.feed("He") == []  # "He" may still grow into "Hence," or "Heh."
    assert texts(segmenter.feed(" ")) == ["Dr. Smith went home."]
    assert segmenter.end()[0].start == len("Dr. Smith went home. ")


def test_an_abbreviation_is_not_released_as_a_sentence_end() -> None:
    segmenter = IncrementalSegmenter("english", first_min_words=2)
    assert segmenter.feed("Call Dr. ") == []
    assert segmenter.feed("Smith now.") == []
    assert texts(segmenter.end()) == ["Call Dr. Smith now."]


def test_a_russian_abbreviation_waits_for_the_real_sentence_end() -> None:
    segmenter = IncrementalSegmenter("russian", first_min_words=6)  # no early cut at "рублей," (4 words)
    released = [segmenter.feed(char) for char in "Было 25 млн. рублей, т. е. много. Потом всё. "]
    assert [texts(r) for r in released if r] == [["Было 25 млн. рублей, т. е. много."]]
    assert texts(segmenter.end()) == ["Потом всё."]


def test_flush_releases_a_sentence_in_the_middle() -> None:
    segmenter = IncrementalSegmenter("english")
    assert segmenter.feed("Hello there, how") == []
    assert [(s.index, s.start, s.end, s.text) for s in segmenter.flush()] == [(0, 0, 16, "Hello there, how")]
    assert segmenter.feed(" are you doing today? Fine") == []
    rest = segmenter.end()
    assert [(s.index, s.start, s.end, s.text) for s in rest] == [(1, 17, 42, "are you doing today? Fine")]


def test_the_buffer_is_bounded() -> None:
    segmenter = IncrementalSegmenter("english", budget=50, max_buffer=100)
    assert len(segmenter.feed("word " * 200 + "x" * 300)) > 20  # cut as it comes: nothing piles up
    segmenter.flush()
    segmenter.feed("Hello there.")
    with pytest.raises(SegmenterOverflow, match="max_buffer=100"):
        segmenter.feed(" " * 100)  # is a sentence over? Only the next word can tell, and it does not come


def test_no_feed_after_end() -> None:
    segmenter = IncrementalSegmenter("english")
    segmenter.end()
    with pytest.raises(RuntimeError, match="after end"):
        segmenter.feed("more")


# --- properties ----------------------------------------------------------------------------------------------

_TOKENS = [
    "word", "Hello", "Привет", "слово", "Dr.", "Mr.", "e.g.", "etc.", "т. е.", "г.", "млн.", "3.14", "1,000",
    "J.", "1.", "A", ".", ". ", "! ", "? ", "?!", "...", "…", ",", ", ", ";", ":", " — ", "–", "-", "\n", "\n\n",
    "«", "»", "(", ")", "[", "]", '"', "“", "”", "'", " ", "  ", "\t", "你好", "。", "，", "😀", "x" * 30,
]  # fmt: skip
_TEXT = st.lists(st.sampled_from(_TOKENS), max_size=60).map(lambda tokens: " ".join(tokens))
_LANGUAGE = st.sampled_from(["english", "russian"])
_BUDGET = st.sampled_from([20, 40, 80, 250])
_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(text=_TEXT, language=_LANGUAGE, budget=_BUDGET, first_min_words=st.integers(1, 6))
def test_segments_cover_the_text_in_order_without_empty_ones(
    text: str, language: str, budget: int, first_min_words: int
) -> None:
    got = segment(text, language, budget=budget, first_min_words=first_min_words)
    assert [s.index for s in got] == list(range(len(got)))
    position = 0
    for s in got:
        assert s.text == text[s.start : s.end] == s.text.strip() != ""
        assert len(s.text) <= budget
        assert text[position : s.start].strip() == ""  # only whitespace between segments
        position = s.end
    assert text[position:].strip() == ""


@_SETTINGS
@given(
    text=_TEXT,
    language=_LANGUAGE,
    budget=_BUDGET,
    cuts=st.lists(st.integers(0, 400), max_size=40),
    single_characters=st.booleans(),
)
def test_feeding_in_any_pieces_yields_the_whole_text_segments(
    text: str, language: str, budget: int, cuts: list[int], single_characters: bool
) -> None:
    if single_characters:
        pieces = list(text)
    else:
        bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
        pieces = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    streamed = feed_all(IncrementalSegmenter(language, budget=budget, max_buffer=None), pieces)
    assert streamed == segment(text, language, budget=budget)
