"""A SynthesizeRequest -> the engine's plain `SynthesisRequest` plus the stream settings, or every violation.

Field names in violations are the proto's (`voice`, `instructions`, `sampling.top_p`, ...). What only a
worker can check (a registered voice exists, the text fits the context) comes back from the worker and is
mapped to the same names by `engine_field`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qwen3tts.v1 import tts_pb2
from server.audio.formats import FormatError, OutputFormat, resolve_chunk_ms, resolve_format
from server.config import ServerConfig
from server.errors import ServiceError, invalid
from workers.protocol import WorkerInfo
from workers.request import MAX_INSTRUCT_CHARS, Sampling, SynthesisRequest

FRAME_MS = 80
PRIORITIES = {tts_pb2.PRIORITY_UNSPECIFIED: 1, tts_pb2.PRIORITY_INTERACTIVE: 1, tts_pb2.PRIORITY_BATCH: 2}
PRIORITY_NAMES = {1: "interactive", 2: "batch"}  # metric label values
# Engine field -> proto field.
_FIELDS = {"speaker": "voice", "voice": "voice", "instruct": "instructions", "max_frames": "max_audio_duration_ms",
           "sampling.subtalker_temperature": "sampling.temperature", "sampling.subtalker_top_k": "sampling.top_k",
           "sampling.subtalker_top_p": "sampling.top_p"}


def engine_field(name: str) -> str:
    return _FIELDS.get(name, name)


@dataclass(frozen=True)
class ParsedSynthesis:
    request: SynthesisRequest
    voice: str  # resolved voice name ("" for VoiceDesign)
    language: str
    format: OutputFormat
    chunk_ms: int
    max_samples: int  # at the model's native rate: the audio is cut exactly there
    priority: int  # 1 interactive, 2 batch


def parse_synthesize(msg: tts_pb2.SynthesizeRequest, info: WorkerInfo, cfg: ServerConfig,
                     request_id: str) -> ParsedSynthesis:
    """Raises ServiceError(INVALID_ARGUMENT) listing every violation."""
    bad: list[tuple[str, str]] = []
    text = msg.text
    if not text.strip():
        bad.append(("text", "must not be empty"))
    elif len(text) > cfg.max_text_chars:
        bad.append(("text", f"is {len(text)} characters; the limit is {cfg.max_text_chars}"))

    speaker = voice = None
    name = msg.voice.strip().lower()
    if info.model_type == "custom_voice":
        name = name or info.speakers[0]
        if name not in info.speakers:
            bad.append(("voice", f"{msg.voice!r} is not a voice of this model; see ListVoices"))
        speaker = name
    elif info.model_type == "base":
        if not name:
            bad.append(("voice", "is required: register a voice with RegisterVoice, then name it"))
        voice = name
    elif name:
        bad.append(("voice", "must be empty for a VoiceDesign model: describe the voice in `instructions`"))

    language = (msg.language or "auto").strip().lower()
    if language not in info.languages:
        bad.append(("language", f"{msg.language!r} is not supported; choose one of {', '.join(info.languages)}"))

    instructions = msg.instructions.strip() or None
    if instructions and not info.accepts_instruct:
        bad.append(("instructions", f"this {info.model_type} {info.model_size} model does not take instructions"))
    elif instructions and len(instructions) > MAX_INSTRUCT_CHARS:
        bad.append(("instructions", f"is {len(instructions)} characters; the limit is {MAX_INSTRUCT_CHARS}"))

    fmt = chunk_ms = None
    try:
        fmt = resolve_format(msg.audio_format.encoding, msg.audio_format.sample_rate_hertz)
    except FormatError as e:
        bad.append((e.field, e.message))
    try:
        chunk_ms = resolve_chunk_ms(msg.chunk_duration_ms, cfg.default_chunk_ms)
    except FormatError as e:
        bad.append((e.field, e.message))

    seed = msg.seed if msg.HasField("seed") else None
    if seed is not None and seed < 0:
        bad.append(("seed", "must be non-negative"))

    sampling, problems = _sampling(msg.sampling)
    bad += problems

    limit_ms = int(cfg.max_audio_seconds * 1000)
    max_ms = msg.max_audio_duration_ms or limit_ms
    if max_ms > limit_ms:
        bad.append(("max_audio_duration_ms", f"exceeds the server limit of {limit_ms} ms"))
    if msg.priority not in PRIORITIES:
        bad.append(("priority", f"unknown value {msg.priority}"))
    if bad:
        raise invalid(bad)
    request = SynthesisRequest(
        text=text, language=language, speaker=speaker, voice=voice, instruct=instructions, sampling=sampling,
        seed=seed, request_id=request_id,
        # Frames only when the client asked for a bound; otherwise the engine's guards (and max_samples) apply.
        max_frames=math.ceil(msg.max_audio_duration_ms / FRAME_MS) if msg.max_audio_duration_ms else None,
    )
    return ParsedSynthesis(request, speaker or voice or "", language, fmt, chunk_ms,
                           max_samples=max_ms * info.sample_rate // 1000, priority=PRIORITIES[msg.priority])


def _sampling(s: tts_pb2.SamplingParameters) -> tuple[Sampling, list[tuple[str, str]]]:
    bad = []
    has = s.HasField
    temperature = s.temperature if has("temperature") else None
    top_k = s.top_k if has("top_k") else None
    top_p = s.top_p if has("top_p") else None
    penalty = s.repetition_penalty if has("repetition_penalty") else None
    if temperature is not None and not (0 < temperature <= 100 and math.isfinite(temperature)):
        bad.append(("sampling.temperature", "must be in (0, 100]"))
    if top_p is not None and not 0 < top_p <= 1:
        bad.append(("sampling.top_p", "must be in (0, 1]"))
    if penalty is not None and not 0 < penalty <= 10:
        bad.append(("sampling.repetition_penalty", "must be in (0, 10]"))
    do_sample = None if not has("greedy") else not s.greedy
    return Sampling(do_sample=do_sample, temperature=temperature, top_k=top_k, top_p=top_p,
                    repetition_penalty=penalty, subtalker_do_sample=do_sample, subtalker_temperature=temperature,
                    subtalker_top_k=top_k, subtalker_top_p=top_p), bad


def worker_violations(violations: list[tuple[str, str]]) -> ServiceError:
    """A worker's refusal (kind "invalid") in the proto's field names."""
    return invalid([(engine_field(f), m) for f, m in violations])

