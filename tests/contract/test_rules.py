"""The one rulebook: defaults filled, every violation named with its API field, per model type."""

from __future__ import annotations

import math

import pytest

from contract.capabilities import Capabilities, Limits
from contract.formats import AudioFormat, Encoding
from contract.request import Priority, Sampling, SynthesisRequest
from contract.rules import InvalidRequest, resolve

CV = Capabilities("m", "custom_voice", "0b6", ("vivian", "ryan"), ("auto", "english", "chinese"), False, 24000, 1920,
                  Limits(max_text_characters=50, max_audio_duration_ms=10_000, default_chunk_duration_ms=40))
CV17 = Capabilities("m", "custom_voice", "1b7", ("vivian",), ("auto",), True, 24000, 1920)
VD = Capabilities("m", "voice_design", "1b7", (), ("auto", "english"), True, 24000, 1920)
BASE = Capabilities("m", "base", "0b6", (), ("auto", "english"), False, 24000, 1920)


def fields(req: SynthesisRequest, caps: Capabilities) -> list[str]:
    with pytest.raises(InvalidRequest) as e:
        resolve(req, caps)
    return sorted(v.field for v in e.value.violations)


def test_defaults_are_filled():
    r = resolve(SynthesisRequest(text="Hi", language=" English "), CV)
    assert (r.voice, r.language, r.chunk_duration_ms, r.priority) == ("vivian", "english", 40, Priority.INTERACTIVE)
    assert r.audio_format == AudioFormat(Encoding.PCM_S16LE, 24000)
    r = resolve(SynthesisRequest(text="Hi", voice="RYAN", language="", audio_format=AudioFormat(Encoding.MULAW, 0),
                                 priority=2, instructions="  "), CV)
    assert (r.voice, r.language, r.audio_format.sample_rate, r.priority, r.instructions) == (
        "ryan", "auto", 8000, Priority.BATCH, "")


@pytest.mark.parametrize("req, caps, expected", [
    (SynthesisRequest(text=" "), CV, ["text"]),
    (SynthesisRequest(text="x" * 51), CV, ["text"]),
    (SynthesisRequest(text="Hi", voice="nobody"), CV, ["voice"]),
    (SynthesisRequest(text="Hi", language="klingon"), CV, ["language"]),
    (SynthesisRequest(text="Hi", instructions="softly"), CV, ["instructions"]),
    (SynthesisRequest(text="Hi", instructions="x" * 2001), CV17, ["instructions"]),
    (SynthesisRequest(text="Hi"), VD, ["instructions"]),
    (SynthesisRequest(text="Hi", voice="vivian", instructions="calm"), VD, ["voice"]),
    (SynthesisRequest(text="Hi"), BASE, ["voice"]),
    (SynthesisRequest(text="Hi", chunk_duration_ms=10), CV, ["chunk_duration_ms"]),
    (SynthesisRequest(text="Hi", audio_format=AudioFormat(99, 0)), CV, ["audio_format.encoding"]),
    (SynthesisRequest(text="Hi", audio_format=AudioFormat(Encoding.OGG_OPUS, 22050)), CV,
     ["audio_format.sample_rate_hertz"]),
    (SynthesisRequest(text="Hi", seed=-1), CV, ["seed"]),
    (SynthesisRequest(text="Hi", seed=2**63), CV, ["seed"]),
    (SynthesisRequest(text="Hi", max_audio_duration_ms=10_001), CV, ["max_audio_duration_ms"]),
    (SynthesisRequest(text="Hi", priority=7), CV, ["priority"]),
    (SynthesisRequest(text="Hi", sampling=Sampling(temperature=math.inf, top_k=-1, top_p=0,
                                                   repetition_penalty=11)), CV,
     ["sampling.repetition_penalty", "sampling.temperature", "sampling.top_k", "sampling.top_p"]),
    (SynthesisRequest(text="", voice="x", language="y", seed=-1), CV, ["language", "seed", "text", "voice"]),
])
def test_each_violation_names_its_field(req, caps, expected):
    assert fields(req, caps) == expected


def test_each_model_type_accepts_what_it_can_do():
    assert resolve(SynthesisRequest(text="Hi", instructions="calm"), VD).voice == ""
    assert resolve(SynthesisRequest(text="Hi", voice="Alice"), BASE).voice == "alice"
    assert resolve(SynthesisRequest(text="Hi", instructions="happy"), CV17).instructions == "happy"
