"""Typed, immutable views of the API's responses: what `synthesize`, `list_voices` and `service_info` return.

Durations are float seconds, enum values are `StrEnum` names ("end_of_speech", "built_in"), timestamps are
aware datetimes. An enum value this client does not know raises ProtocolError (the API contract); the one
exception is a supported format of an unknown encoding in ServiceInfo, which is skipped: this client could not
request it anyway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from google.protobuf import duration_pb2

from client.encoding import Encoding
from client.errors import ProtocolError
from qwen3tts.v1 import tts_pb2


def _seconds(d: duration_pb2.Duration) -> float:
    return d.ToNanoseconds() / 1e9


@dataclass(frozen=True)
class AudioFormat:
    encoding: Encoding
    sample_rate: int  # Hz

    @classmethod
    def from_proto(cls, msg: tts_pb2.AudioFormat, request_id: str | None = None) -> AudioFormat:
        return cls(Encoding.from_proto(msg.encoding, request_id), msg.sample_rate_hertz)


@dataclass(frozen=True)
class SynthesisStarted:
    """The request as the server resolved it (the first event of a stream)."""

    request_id: str
    audio_format: AudioFormat
    voice: str  # lower case; "" for VoiceDesign checkpoints
    model: str
    seed: int  # the seed actually used: resend it to reproduce the audio
    language: str  # "auto" when detected automatically
    chunk_duration_ms: int
    channels: int

    @classmethod
    def from_proto(cls, msg: tts_pb2.SynthesisStarted) -> SynthesisStarted:
        return cls(msg.request_id, AudioFormat.from_proto(msg.audio_format, msg.request_id), msg.voice, msg.model,
                   msg.seed, msg.language, msg.chunk_duration_ms, msg.channels)


@dataclass(frozen=True)
class Segment:
    """A segment of the text as it starts: spoken `text`, its source range, where its audio begins."""

    index: int
    text: str  # as spoken (after text normalization)
    source_start: int  # code points of the request's text: text[source_start:source_end]
    source_end: int
    start_sample: int  # at the output rate

    @classmethod
    def from_proto(cls, msg: tts_pb2.SegmentStarted) -> Segment:
        return cls(msg.index, msg.text, msg.source_start, msg.source_end, msg.start_sample)


@dataclass(frozen=True)
class AudioChunk:
    """A piece of the output audio. `start_sample` and `num_samples` are exact; `duration` is derived."""

    audio: bytes
    sequence_number: int
    start_sample: int  # offset in samples at the output rate
    num_samples: int  # decoded samples this chunk accounts for (for Opus: from the Ogg granule positions)
    format: AudioFormat

    @property
    def duration(self) -> float:
        """Seconds of audio in this chunk."""
        return self.num_samples / self.format.sample_rate

    def samples(self) -> np.ndarray:
        """The PCM samples (int16 for pcm_s16le, float32 for pcm_f32le); ValueError for other encodings."""
        dtype = self.format.encoding.numpy_dtype
        if dtype is None:
            raise ValueError(f"{self.format.encoding} audio is not PCM; decode it with an audio library")
        return np.frombuffer(self.audio, dtype)

    @classmethod
    def from_proto(cls, msg: tts_pb2.AudioChunk, fmt: AudioFormat) -> AudioChunk:
        width = fmt.encoding.bytes_per_sample
        if width:  # raw audio: the byte count is exact
            n = len(msg.audio) // width
        else:  # Opus: the duration is samples / rate rounded to the nanosecond, so this rounding is exact
            n = round(msg.duration.ToNanoseconds() * fmt.sample_rate / 1e9)
        return cls(msg.audio, msg.sequence_number, msg.start_sample, n, fmt)


class FinishReason(StrEnum):
    END_OF_SPEECH = "end_of_speech"  # the model ended the utterance
    MAX_DURATION = "max_duration"  # cut at max_audio_ms (or the server's limit)


@dataclass(frozen=True)
class Usage:
    input_characters: int
    generated_frames: int  # 80 ms codec frames
    audio_duration: float  # seconds of audio sent
    queue_time: float  # seconds from receipt until the model started on it
    time_to_first_audio: float  # seconds from receipt until the first chunk was sent
    processing_time: float  # seconds from receipt until the last chunk was sent

    @property
    def real_time_factor(self) -> float:
        """Processing time per second of audio (below 1: faster than real time)."""
        return self.processing_time / self.audio_duration if self.audio_duration else float("inf")


@dataclass(frozen=True)
class SynthesisFinished:
    """The last event of a successful stream."""

    usage: Usage
    finish_reason: FinishReason

    @classmethod
    def from_proto(cls, msg: tts_pb2.SynthesisFinished, request_id: str | None = None) -> SynthesisFinished:
        u = msg.usage
        usage = Usage(u.input_characters, u.generated_frames, _seconds(u.audio_duration), _seconds(u.queue_time),
                      _seconds(u.time_to_first_audio), _seconds(u.processing_time))
        return cls(usage, _enum(FinishReason, tts_pb2.FinishReason, "FINISH_REASON_", msg.finish_reason, request_id))


class VoiceType(StrEnum):
    BUILT_IN = "built_in"  # a speaker of a CustomVoice checkpoint
    REGISTERED = "registered"  # cloned from reference audio (Base checkpoints)


@dataclass(frozen=True)
class Voice:
    name: str  # what to pass as `voice=`
    type: VoiceType
    languages: tuple[str, ...]  # empty: any
    description: str
    natural_sample_rate: int  # Hz
    create_time: dt.datetime | None  # registered voices only
    x_vector_only: bool  # registered voices: cloned from the speaker embedding only

    @classmethod
    def from_proto(cls, msg: tts_pb2.Voice) -> Voice:
        created = msg.create_time.ToDatetime(tzinfo=dt.UTC) if msg.HasField("create_time") else None
        return cls(msg.name, _enum(VoiceType, tts_pb2.VoiceType, "VOICE_TYPE_", msg.type), tuple(msg.languages),
                   msg.description, msg.natural_sample_rate_hertz, created, msg.x_vector_only)


@dataclass(frozen=True)
class SupportedAudioFormat:
    encoding: Encoding
    sample_rates: tuple[int, ...]  # ascending; 0 is also accepted and selects default_sample_rate
    default_sample_rate: int


@dataclass(frozen=True)
class ServiceInfo:
    """The served model, its limits and capabilities (GetServiceInfo)."""

    model: str
    model_type: str  # "custom_voice" | "voice_design" | "base"
    server_version: str
    native_sample_rate: int
    audio_formats: tuple[SupportedAudioFormat, ...]
    min_chunk_duration_ms: int
    max_chunk_duration_ms: int
    default_chunk_duration_ms: int
    max_text_characters: int
    max_instructions_characters: int
    max_audio_duration_ms: int
    languages: tuple[str, ...]
    supports_instructions: bool
    supports_voice_cloning: bool
    frame_duration_ms: int

    def sample_rates(self, encoding: str | Encoding) -> tuple[int, ...]:
        """Accepted sample rates of an encoding (empty if the server does not offer it)."""
        enc = Encoding.parse(encoding)
        return next((f.sample_rates for f in self.audio_formats if f.encoding is enc), ())

    @classmethod
    def from_proto(cls, msg: tts_pb2.GetServiceInfoResponse) -> ServiceInfo:
        known = {e.proto: e for e in Encoding}
        formats = tuple(SupportedAudioFormat(known[f.encoding], tuple(f.sample_rates_hertz),
                                             f.default_sample_rate_hertz)
                        for f in msg.audio_formats if f.encoding in known)
        return cls(msg.model, msg.model_type, msg.server_version, msg.native_sample_rate_hertz, formats,
                   msg.min_chunk_duration_ms, msg.max_chunk_duration_ms, msg.default_chunk_duration_ms,
                   msg.max_text_characters, msg.max_instructions_characters, msg.max_audio_duration_ms,
                   tuple(msg.languages), msg.supports_instructions, msg.supports_voice_cloning, msg.frame_duration_ms)


def _enum(cls: type[StrEnum], proto_enum, prefix: str, value: int, request_id: str | None = None):
    try:
        return cls(proto_enum.Name(value).removeprefix(prefix).lower())
    except ValueError:  # a number the generated code does not know, or UNSPECIFIED
        raise ProtocolError(f"the server sent an unknown {proto_enum.DESCRIPTOR.name} value ({value})",
                            request_id) from None
