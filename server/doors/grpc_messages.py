"""The gRPC wire format <-> the product's vocabulary: SynthesizeRequest -> SynthesisRequest (no checks: that is
contract/rules.py), response events -> SynthesizeResponse, voices and capabilities -> their messages.

Shared by the gRPC service and in-process synthesis (`qwen3-tts say --local`), so both send the same bytes.
"""

from __future__ import annotations

import numpy as np
from google.protobuf import duration_pb2, timestamp_pb2

from contract.capabilities import Capabilities
from contract.formats import MAX_CHUNK_MS, MIN_CHUNK_MS, AudioFormat, supported_formats
from contract.request import Sampling, SynthesisRequest
from contract.rules import Violation
from qwen3tts.v1 import tts_pb2
from server.responses import Audio, Finished, ResponseEvent, SegmentStarted, Started
from server.voices import VoiceInfo
from workers.protocol import PrecisionInfo

VERSION = "0.1.0"


def duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(round(seconds * 1e9)))
    return d


def synthesis_request(msg: tts_pb2.SynthesizeRequest, request_id: str) -> SynthesisRequest:
    s = msg.sampling
    has = s.HasField
    return SynthesisRequest(
        text=msg.text, voice=msg.voice, language=msg.language, instructions=msg.instructions,
        audio_format=AudioFormat(msg.audio_format.encoding, msg.audio_format.sample_rate_hertz),
        chunk_duration_ms=msg.chunk_duration_ms, seed=msg.seed if msg.HasField("seed") else None,
        sampling=Sampling(temperature=s.temperature if has("temperature") else None,
                          top_k=s.top_k if has("top_k") else None, top_p=s.top_p if has("top_p") else None,
                          repetition_penalty=s.repetition_penalty if has("repetition_penalty") else None,
                          greedy=s.greedy if has("greedy") else None),
        max_audio_duration_ms=msg.max_audio_duration_ms, priority=msg.priority,
        text_normalization=msg.text_normalization, segment_events=msg.segment_events, dry_run=msg.dry_run,
        request_id=request_id, speed=msg.speed or 1.0)  # proto3: speed 0 = unset = 1.0


def response(event: ResponseEvent) -> tts_pb2.SynthesizeResponse:
    match event:
        case Started():
            return tts_pb2.SynthesizeResponse(started=tts_pb2.SynthesisStarted(
                request_id=event.request_id, audio_format=tts_pb2.AudioFormat(
                    encoding=int(event.audio_format.encoding), sample_rate_hertz=event.audio_format.sample_rate),
                voice=event.voice, model=event.model, seed=event.seed, language=event.language,
                chunk_duration_ms=event.chunk_duration_ms, channels=1))
        case SegmentStarted():
            return tts_pb2.SynthesizeResponse(segment=tts_pb2.SegmentStarted(
                index=event.index, text=event.text, source_start=event.source_start, source_end=event.source_end,
                start_sample=event.start_sample))
        case Audio(chunk=c):
            return tts_pb2.SynthesizeResponse(audio=tts_pb2.AudioChunk(
                audio=c.audio, sequence_number=c.sequence_number, start_sample=c.start_sample,
                duration=duration_pb2.Duration(seconds=c.duration_ns // 1_000_000_000,
                                                nanos=c.duration_ns % 1_000_000_000)))
        case Finished(ending=ending, usage=u):
            return tts_pb2.SynthesizeResponse(finished=tts_pb2.SynthesisFinished(
                finish_reason=int(ending), usage=tts_pb2.Usage(
                    input_characters=u.input_characters, generated_frames=u.generated_frames,
                    audio_duration=duration(u.audio_s), queue_time=duration(u.queue_s),
                    time_to_first_audio=duration(u.time_to_first_audio_s), processing_time=duration(u.processing_s))))
    raise TypeError(f"not a response event: {event!r}")


def voice(v: VoiceInfo) -> tts_pb2.Voice:
    created = None
    if v.created:
        created = timestamp_pb2.Timestamp()
        created.FromJsonString(v.created)
    return tts_pb2.Voice(name=v.name, type=tts_pb2.VOICE_TYPE_REGISTERED if v.registered else tts_pb2.VOICE_TYPE_BUILT_IN,
                         languages=v.languages, description=v.description, natural_sample_rate_hertz=v.sample_rate,
                         create_time=created, x_vector_only=v.x_vector_only)


def service_info(caps: Capabilities, precision: PrecisionInfo | None = None) -> tts_pb2.GetServiceInfoResponse:
    limits = caps.limits
    pr = precision or PrecisionInfo()
    return tts_pb2.GetServiceInfoResponse(
        model=caps.model, model_type=caps.model_type, server_version=VERSION, native_sample_rate_hertz=caps.sample_rate,
        audio_formats=[tts_pb2.SupportedAudioFormat(encoding=int(s.encoding), sample_rates_hertz=list(s.sample_rates),
                                                    default_sample_rate_hertz=s.default_sample_rate)
                       for s in supported_formats()],
        min_chunk_duration_ms=MIN_CHUNK_MS, max_chunk_duration_ms=MAX_CHUNK_MS,
        default_chunk_duration_ms=limits.default_chunk_duration_ms, max_text_characters=limits.max_text_characters,
        max_instructions_characters=limits.max_instructions_characters,
        max_audio_duration_ms=limits.max_audio_duration_ms, languages=caps.languages,
        supports_instructions=caps.accepts_instructions, supports_voice_cloning=caps.clones_voices,
        frame_duration_ms=caps.frame_ms, talker_precision=pr.talker, code_predictor_precision=pr.code_predictor,
        codec_precision=pr.codec, quantization=pr.quantization, compute_device=pr.machine)


def reference_audio(request: tts_pb2.RegisterVoiceRequest) -> tuple[bytes | tuple[np.ndarray, int], list[Violation]]:
    """RegisterVoiceRequest's audio for the worker (an encoded file passes through; raw PCM becomes samples),
    and what is wrong with its format."""
    fmt = request.reference_audio_format
    if fmt.encoding == tts_pb2.AUDIO_ENCODING_UNSPECIFIED:
        return request.reference_audio, []
    dtypes = {tts_pb2.AUDIO_ENCODING_PCM_S16LE: ("<i2", 32768.0), tts_pb2.AUDIO_ENCODING_PCM_F32LE: ("<f4", 1.0)}
    if fmt.encoding not in dtypes:
        return b"", [Violation("reference_audio_format.encoding",
                               "use UNSPECIFIED (a WAV/FLAC/OGG file) or raw PCM S16LE/F32LE")]
    if fmt.sample_rate_hertz <= 0:
        return b"", [Violation("reference_audio_format.sample_rate_hertz", "is required for raw PCM")]
    dtype, scale = dtypes[fmt.encoding]
    if len(request.reference_audio) % np.dtype(dtype).itemsize:
        return b"", [Violation("reference_audio", "raw PCM length is not a whole number of samples")]
    return (np.frombuffer(request.reference_audio, dtype=dtype).astype(np.float32) / scale,
            fmt.sample_rate_hertz), []
