"""Keyword arguments -> request messages. Unset (None) arguments stay unset, so the server applies its defaults.

Values are not range-checked here: the server validates every field and names the bad ones (InvalidArgument),
which keeps one source of truth for the limits (GetServiceInfo reports them).
"""

from __future__ import annotations

from pathlib import Path

from client.encoding import Encoding
from qwen3tts.v1 import tts_pb2

PRIORITIES = {"interactive": tts_pb2.PRIORITY_INTERACTIVE, "batch": tts_pb2.PRIORITY_BATCH}


def synthesize_request(
    text: str, *, voice: str | None = None, language: str | None = None, instructions: str | None = None,
    encoding: str | Encoding = Encoding.PCM_S16LE, sample_rate: int = 0, chunk_ms: int = 0, seed: int | None = None,
    temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
    repetition_penalty: float | None = None, greedy: bool | None = None, max_audio_ms: int = 0,
    priority: str | None = None, speed: float | None = None,
) -> tts_pb2.SynthesizeRequest:
    msg = tts_pb2.SynthesizeRequest(
        text=text, voice=voice or "", language=language or "", instructions=instructions or "",
        audio_format=tts_pb2.AudioFormat(encoding=Encoding.parse(encoding).proto, sample_rate_hertz=sample_rate),
        chunk_duration_ms=chunk_ms, max_audio_duration_ms=max_audio_ms, speed=speed or 0.0,
    )
    if seed is not None:
        msg.seed = seed
    sampling = {"temperature": temperature, "top_k": top_k, "top_p": top_p,
                "repetition_penalty": repetition_penalty, "greedy": greedy}
    for name, value in sampling.items():
        if value is not None:
            setattr(msg.sampling, name, value)
    if priority is not None:
        if priority.lower() not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}; choose one of {', '.join(PRIORITIES)}")
        msg.priority = PRIORITIES[priority.lower()]
    return msg


def register_voice_request(
    name: str, reference_audio: bytes | str | Path, *, reference_text: str | None = None,
    x_vector_only: bool = False, description: str = "", languages: tuple[str, ...] | list[str] = (),
    reference_encoding: str | Encoding | None = None, reference_sample_rate: int = 0,
) -> tts_pb2.RegisterVoiceRequest:
    """`reference_audio`: the bytes of a WAV/FLAC/Ogg file or a path to one; raw PCM bytes need
    `reference_encoding` ("pcm_s16le" or "pcm_f32le") and `reference_sample_rate`."""
    data = reference_audio if isinstance(reference_audio, bytes) else Path(reference_audio).expanduser().read_bytes()
    msg = tts_pb2.RegisterVoiceRequest(name=name, reference_audio=data, reference_text=reference_text or "",
                                       x_vector_only=x_vector_only, description=description, languages=list(languages))
    if reference_encoding is not None:
        msg.reference_audio_format.encoding = Encoding.parse(reference_encoding).proto
        msg.reference_audio_format.sample_rate_hertz = reference_sample_rate
    return msg
