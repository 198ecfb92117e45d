"""The one interface: language routing, detection for `auto`, and the AUTO / ON / OFF switch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from server.text.normalize import TextNormalization, apply, detect_language, normalize

MIXED = "Купила новые 2 iPhone Pro"  # 11 Cyrillic letters of 20: no 60 % majority, Cyrillic the plurality


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Привет, как дела? У меня 2 кошки.", "russian"),
        ("Hello, how are you? I have 2 cats.", "english"),
        ("Я купил новый iPhone вчера.", "russian"),
        ("I learned the word «спасибо» today.", "english"),
        (MIXED, None),
        ("你好，世界", None),
        ("123 456 😀", None),
        ("", None),
    ],
)
def test_detect_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("language", ["chinese", "german", "japanese", "auto", ""])
def test_unsupported_languages_pass_through(language: str) -> None:
    text = "Price: $5.30 on 12/03/2025, 3 шт."
    assert normalize(text, language) == text


@pytest.mark.parametrize("language", ["english", "russian", "auto", "german"])
def test_off_leaves_text_untouched(language: str) -> None:
    text = "Dr. Smith paid $5.30 — 2 кошки, 10%."
    assert apply(text, language, TextNormalization.OFF) == text


@pytest.mark.parametrize("mode", [TextNormalization.AUTO, TextNormalization.ON])
def test_named_languages_are_normalized(mode: TextNormalization) -> None:
    assert apply("I have 2 cats.", "english", mode) == "I have two cats."
    assert apply("У меня 2 кошки.", "russian", mode) == "У меня две кошки."
    assert apply("Ich habe 2 Katzen.", "german", mode) == "Ich habe 2 Katzen."


@pytest.mark.parametrize("mode", [TextNormalization.AUTO, TextNormalization.ON])
def test_auto_language_is_detected(mode: TextNormalization) -> None:
    assert apply("У меня 2 кошки.", "auto", mode) == "У меня две кошки."
    assert apply("I have 2 cats.", "auto", mode) == "I have two cats."
    assert apply("我有2只猫", "auto", mode) == "我有2只猫"


def test_auto_leaves_undecided_text_and_on_uses_the_plurality() -> None:
    assert apply(MIXED, "auto", TextNormalization.AUTO) == MIXED
    assert apply(MIXED, "auto", TextNormalization.ON) == normalize(MIXED, "russian") != MIXED


def test_modes_are_the_api_values() -> None:
    from qwen3tts.v1 import tts_pb2

    proto = {v.name.removeprefix("TEXT_NORMALIZATION_"): v.number for v in tts_pb2.TextNormalization.DESCRIPTOR.values}
    assert proto == {m.name: m.value for m in TextNormalization}


def test_the_text_front_end_never_imports_torch() -> None:
    code = "import sys, server.text.segment, server.text.normalize; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("language", ["english", "russian"])
@pytest.mark.parametrize("text", ["", "   ", "\n\n", "😀"])
def test_empty_and_blank_text(text: str, language: str) -> None:
    assert normalize(text, language) == text
