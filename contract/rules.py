"""The one rulebook: is a request acceptable for this model, and what does it resolve to?

`resolve(request, capabilities)` returns the request with every default filled (voice, language, format,
chunk duration, priority) or raises `InvalidRequest` listing every violation, each naming the API field
(`voice`, `sampling.top_p`, `audio_format.sample_rate_hertz`, ...). Every front door calls it once, at the
edge; the engine re-checks only what needs the tokenizer or the cache (the prompt fits, the voice exists) and
reports it in the same field names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from contract.capabilities import Capabilities
from contract.formats import FormatError, resolve_chunk_ms, resolve_format
from contract.request import Priority, Sampling, SynthesisRequest, TextNormalization

MAX_SEED = 2**63
MIN_SPEED, MAX_SPEED = 0.25, 4.0  # OpenAI's range; server/audio/tempo.py stretches exactly this range


@dataclass(frozen=True)
class Violation:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidRequest(ValueError):
    """A request that cannot run as given; `violations` name the fields."""

    def __init__(self, violations: list[Violation]):
        super().__init__("; ".join(str(v) for v in violations))
        self.violations = violations


def resolve(req: SynthesisRequest, caps: Capabilities, *, streaming: bool = False) -> SynthesisRequest:
    """`streaming`: the configuration of a streaming-input session; its text comes later (and must be empty)."""
    out: list[Violation] = []
    bad = lambda f, m: out.append(Violation(f, m))  # noqa: E731
    limits = caps.limits

    if streaming:
        if req.text:
            bad("text", "must be empty in a session configuration: send the text after it")
    elif not req.text.strip():
        bad("text", "must not be empty")
    elif len(req.text) > limits.max_text_characters:
        bad("text", f"is {len(req.text)} characters; the limit is {limits.max_text_characters}")

    voice = req.voice.strip().lower()
    if caps.model_type == "custom_voice":
        voice = voice or caps.speakers[0]
        if voice not in caps.speakers:
            bad("voice", f"{req.voice!r} is not a voice of this model; choose one of {', '.join(caps.speakers)}")
    elif caps.model_type == "base":
        if not voice:
            bad("voice", "is required: register a voice from reference audio (RegisterVoice), then name it")
    elif voice:
        bad("voice", "must be empty for a VoiceDesign model: describe the voice in `instructions`")

    language = req.language.strip().lower() or "auto"
    if language not in caps.languages:
        bad("language", f"{req.language!r} is not supported; choose one of {', '.join(caps.languages)}")

    instructions = req.instructions.strip()
    if instructions and not caps.accepts_instructions:
        bad("instructions", f"this {caps.model_type} {caps.model_size} model does not take instructions")
    elif len(instructions) > limits.max_instructions_characters:
        bad("instructions", f"is {len(instructions)} characters; the limit is {limits.max_instructions_characters}")
    elif not instructions and caps.model_type == "voice_design":
        bad("instructions", "is required for a VoiceDesign model (it describes the voice)")

    audio_format, chunk_ms = req.audio_format, req.chunk_duration_ms
    try:
        audio_format = resolve_format(req.audio_format.encoding, req.audio_format.sample_rate)
    except FormatError as e:
        bad(e.field, e.message)
    try:
        chunk_ms = resolve_chunk_ms(req.chunk_duration_ms, limits.default_chunk_duration_ms)
    except FormatError as e:
        bad(e.field, e.message)

    if req.seed is not None and req.seed < 0:
        bad("seed", "must be non-negative")
    elif req.seed is not None and req.seed >= MAX_SEED:
        bad("seed", "must be below 2**63")
    out.extend(_sampling(req.sampling))
    if not (math.isfinite(req.speed) and MIN_SPEED <= req.speed <= MAX_SPEED):
        bad("speed", f"must be in [{MIN_SPEED}, {MAX_SPEED}] (1.0 = as generated)")
    if not 0 <= req.max_audio_duration_ms <= limits.max_audio_duration_ms:
        bad("max_audio_duration_ms", f"must be in [0, {limits.max_audio_duration_ms}] (the server's limit)")
    priority = _enum(Priority, req.priority, Priority.INTERACTIVE, "priority", bad)
    normalization = _enum(TextNormalization, req.text_normalization, TextNormalization.AUTO, "text_normalization",
                          bad)
    if out:
        raise InvalidRequest(out)
    return replace(req, voice=voice, language=language, instructions=instructions, audio_format=audio_format,
                   chunk_duration_ms=chunk_ms, priority=priority, text_normalization=normalization)


def _enum(kind, value: int, default, field: str, bad):
    """`value` as a member of `kind` (0 = unset = `default`), or a violation of `field`."""
    try:
        return kind(value) if value else default
    except ValueError:
        bad(field, f"unknown value {value}")
        return default


def _in(value: float | None, lo: float, hi: float) -> bool:
    """None (unset) or a finite value in (lo, hi]."""
    return value is None or (math.isfinite(value) and lo < value <= hi)


def _sampling(s: Sampling) -> list[Violation]:
    out = []
    if not _in(s.temperature, 0, 100):
        out.append(Violation("sampling.temperature", "must be in (0, 100]"))
    if s.top_k is not None and s.top_k < 0:
        out.append(Violation("sampling.top_k", "must be >= 0 (0 = off)"))
    if not _in(s.top_p, 0, 1):
        out.append(Violation("sampling.top_p", "must be in (0, 1]"))
    if not _in(s.repetition_penalty, 0, 10):
        out.append(Violation("sampling.repetition_penalty", "must be in (0, 10]"))
    return out
