"""Keyword arguments -> request messages. Unset (None) arguments stay unset, so the server applies its defaults.

Values are not range-checked here: the server validates every field and names the bad ones (InvalidArgument),
which keeps one source of truth for the limits (GetServiceInfo reports them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from client.encoding import Encoding
from qwen3tts.v1 import tts_pb2

PRIORITIES = {"interactive": tts_pb2.PRIORITY_INTERACTIVE, "batch": tts_pb2.PRIORITY_BATCH}
NORMALIZATION = {"auto": tts_pb2.TEXT_NORMALIZATION_AUTO, "on": tts_pb2.TEXT_NORMALIZATION_ON,
                 "off": tts_pb2.TEXT_NORMALIZATION_OFF}


def synthesize_request(
    text: str, *, voice: str | None = None, language: str | None = None, instructions: str | None = None,
    encoding: str | Encoding = Encoding.PCM_S16LE, sample_rate: int = 0, chunk_ms: int = 0, seed: int | None = None,
    temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
    repetition_penalty: float | None = None, greedy: bool | None = None, max_audio_ms: int = 0,
    priority: str | None = None, text_normalization: str | None = None, segments: bool = False,
    dry_run: bool = False, speed: float | None = None,
) -> tts_pb2.SynthesizeRequest:
    """`segments`: ask for a segment event as each segment of the text starts; `dry_run`: segments only."""
    msg = tts_pb2.SynthesizeRequest(
        text=text, voice=voice or "", language=language or "", instructions=instructions or "",
        audio_format=tts_pb2.AudioFormat(encoding=Encoding.parse(encoding).proto, sample_rate_hertz=sample_rate),
        chunk_duration_ms=chunk_ms, max_audio_duration_ms=max_audio_ms, segment_events=segments, dry_run=dry_run,
        speed=speed or 0.0,
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
    if text_normalization is not None:
        if text_normalization.lower() not in NORMALIZATION:
            raise ValueError(f"unknown text normalization {text_normalization!r}; choose one of "
                             f"{', '.join(NORMALIZATION)}")
        msg.text_normalization = NORMALIZATION[text_normalization.lower()]
    return msg


FLUSH = object()  # in a streaming-input text iterable: speak what is buffered now, even mid-sentence


def streaming_requests(config: tts_pb2.SynthesizeRequest, texts) -> Iterator[tts_pb2.StreamingSynthesizeRequest]:
    """StreamingSynthesize's input: the config (a SynthesizeRequest without text), then each piece of `texts`
    (strings of any length, or FLUSH)."""
    yield tts_pb2.StreamingSynthesizeRequest(config=config)
    for piece in texts:
        yield _piece(piece)


async def streaming_requests_async(config: tts_pb2.SynthesizeRequest, texts) -> AsyncIterator[
        tts_pb2.StreamingSynthesizeRequest]:
    """As `streaming_requests`, for an async iterable of pieces."""
    yield tts_pb2.StreamingSynthesizeRequest(config=config)
    async for piece in texts:
        yield _piece(piece)


def _piece(piece) -> tts_pb2.StreamingSynthesizeRequest:
    if piece is FLUSH:
        return tts_pb2.StreamingSynthesizeRequest(flush=True)
    return tts_pb2.StreamingSynthesizeRequest(text=piece)


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
