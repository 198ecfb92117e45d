import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_ENCODING_UNSPECIFIED: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_PCM_S16LE: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_PCM_F32LE: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_MULAW: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_ALAW: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_OGG_OPUS: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_MP3: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_FLAC: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_AAC: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_WAV: _ClassVar[AudioEncoding]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_INTERACTIVE: _ClassVar[Priority]
    PRIORITY_BATCH: _ClassVar[Priority]

class TextNormalization(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEXT_NORMALIZATION_UNSPECIFIED: _ClassVar[TextNormalization]
    TEXT_NORMALIZATION_AUTO: _ClassVar[TextNormalization]
    TEXT_NORMALIZATION_ON: _ClassVar[TextNormalization]
    TEXT_NORMALIZATION_OFF: _ClassVar[TextNormalization]

class VoiceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOICE_TYPE_UNSPECIFIED: _ClassVar[VoiceType]
    VOICE_TYPE_BUILT_IN: _ClassVar[VoiceType]
    VOICE_TYPE_REGISTERED: _ClassVar[VoiceType]

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINISH_REASON_UNSPECIFIED: _ClassVar[FinishReason]
    FINISH_REASON_END_OF_SPEECH: _ClassVar[FinishReason]
    FINISH_REASON_MAX_DURATION: _ClassVar[FinishReason]
AUDIO_ENCODING_UNSPECIFIED: AudioEncoding
AUDIO_ENCODING_PCM_S16LE: AudioEncoding
AUDIO_ENCODING_PCM_F32LE: AudioEncoding
AUDIO_ENCODING_MULAW: AudioEncoding
AUDIO_ENCODING_ALAW: AudioEncoding
AUDIO_ENCODING_OGG_OPUS: AudioEncoding
AUDIO_ENCODING_MP3: AudioEncoding
AUDIO_ENCODING_FLAC: AudioEncoding
AUDIO_ENCODING_AAC: AudioEncoding
AUDIO_ENCODING_WAV: AudioEncoding
PRIORITY_UNSPECIFIED: Priority
PRIORITY_INTERACTIVE: Priority
PRIORITY_BATCH: Priority
TEXT_NORMALIZATION_UNSPECIFIED: TextNormalization
TEXT_NORMALIZATION_AUTO: TextNormalization
TEXT_NORMALIZATION_ON: TextNormalization
TEXT_NORMALIZATION_OFF: TextNormalization
VOICE_TYPE_UNSPECIFIED: VoiceType
VOICE_TYPE_BUILT_IN: VoiceType
VOICE_TYPE_REGISTERED: VoiceType
FINISH_REASON_UNSPECIFIED: FinishReason
FINISH_REASON_END_OF_SPEECH: FinishReason
FINISH_REASON_MAX_DURATION: FinishReason

class AudioFormat(_message.Message):
    __slots__ = ("encoding", "sample_rate_hertz")
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HERTZ_FIELD_NUMBER: _ClassVar[int]
    encoding: AudioEncoding
    sample_rate_hertz: int
    def __init__(self, encoding: _Optional[_Union[AudioEncoding, str]] = ..., sample_rate_hertz: _Optional[int] = ...) -> None: ...

class SamplingParameters(_message.Message):
    __slots__ = ("temperature", "top_k", "top_p", "repetition_penalty", "greedy")
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    REPETITION_PENALTY_FIELD_NUMBER: _ClassVar[int]
    GREEDY_FIELD_NUMBER: _ClassVar[int]
    temperature: float
    top_k: int
    top_p: float
    repetition_penalty: float
    greedy: bool
    def __init__(self, temperature: _Optional[float] = ..., top_k: _Optional[int] = ..., top_p: _Optional[float] = ..., repetition_penalty: _Optional[float] = ..., greedy: _Optional[bool] = ...) -> None: ...

class SynthesizeRequest(_message.Message):
    __slots__ = ("text", "voice", "language", "instructions", "audio_format", "chunk_duration_ms", "seed", "sampling", "max_audio_duration_ms", "priority", "text_normalization", "segment_events", "dry_run", "speed")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FORMAT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    MAX_AUDIO_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    TEXT_NORMALIZATION_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    text: str
    voice: str
    language: str
    instructions: str
    audio_format: AudioFormat
    chunk_duration_ms: int
    seed: int
    sampling: SamplingParameters
    max_audio_duration_ms: int
    priority: Priority
    text_normalization: TextNormalization
    segment_events: bool
    dry_run: bool
    speed: float
    def __init__(self, text: _Optional[str] = ..., voice: _Optional[str] = ..., language: _Optional[str] = ..., instructions: _Optional[str] = ..., audio_format: _Optional[_Union[AudioFormat, _Mapping]] = ..., chunk_duration_ms: _Optional[int] = ..., seed: _Optional[int] = ..., sampling: _Optional[_Union[SamplingParameters, _Mapping]] = ..., max_audio_duration_ms: _Optional[int] = ..., priority: _Optional[_Union[Priority, str]] = ..., text_normalization: _Optional[_Union[TextNormalization, str]] = ..., segment_events: _Optional[bool] = ..., dry_run: _Optional[bool] = ..., speed: _Optional[float] = ...) -> None: ...

class StreamingSynthesizeRequest(_message.Message):
    __slots__ = ("config", "text", "flush")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FLUSH_FIELD_NUMBER: _ClassVar[int]
    config: SynthesizeRequest
    text: str
    flush: bool
    def __init__(self, config: _Optional[_Union[SynthesizeRequest, _Mapping]] = ..., text: _Optional[str] = ..., flush: _Optional[bool] = ...) -> None: ...

class SynthesizeResponse(_message.Message):
    __slots__ = ("started", "audio", "finished", "segment")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    started: SynthesisStarted
    audio: AudioChunk
    finished: SynthesisFinished
    segment: SegmentStarted
    def __init__(self, started: _Optional[_Union[SynthesisStarted, _Mapping]] = ..., audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., finished: _Optional[_Union[SynthesisFinished, _Mapping]] = ..., segment: _Optional[_Union[SegmentStarted, _Mapping]] = ...) -> None: ...

class SegmentStarted(_message.Message):
    __slots__ = ("index", "text", "source_start", "source_end", "start_sample")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_START_FIELD_NUMBER: _ClassVar[int]
    SOURCE_END_FIELD_NUMBER: _ClassVar[int]
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    index: int
    text: str
    source_start: int
    source_end: int
    start_sample: int
    def __init__(self, index: _Optional[int] = ..., text: _Optional[str] = ..., source_start: _Optional[int] = ..., source_end: _Optional[int] = ..., start_sample: _Optional[int] = ...) -> None: ...

class SynthesisStarted(_message.Message):
    __slots__ = ("request_id", "audio_format", "voice", "model", "seed", "language", "chunk_duration_ms", "channels")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FORMAT_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    audio_format: AudioFormat
    voice: str
    model: str
    seed: int
    language: str
    chunk_duration_ms: int
    channels: int
    def __init__(self, request_id: _Optional[str] = ..., audio_format: _Optional[_Union[AudioFormat, _Mapping]] = ..., voice: _Optional[str] = ..., model: _Optional[str] = ..., seed: _Optional[int] = ..., language: _Optional[str] = ..., chunk_duration_ms: _Optional[int] = ..., channels: _Optional[int] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("audio", "sequence_number", "start_sample", "duration")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    audio: bytes
    sequence_number: int
    start_sample: int
    duration: _duration_pb2.Duration
    def __init__(self, audio: _Optional[bytes] = ..., sequence_number: _Optional[int] = ..., start_sample: _Optional[int] = ..., duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SynthesisFinished(_message.Message):
    __slots__ = ("usage", "finish_reason")
    USAGE_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    usage: Usage
    finish_reason: FinishReason
    def __init__(self, usage: _Optional[_Union[Usage, _Mapping]] = ..., finish_reason: _Optional[_Union[FinishReason, str]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("input_characters", "generated_frames", "audio_duration", "queue_time", "time_to_first_audio", "processing_time")
    INPUT_CHARACTERS_FIELD_NUMBER: _ClassVar[int]
    GENERATED_FRAMES_FIELD_NUMBER: _ClassVar[int]
    AUDIO_DURATION_FIELD_NUMBER: _ClassVar[int]
    QUEUE_TIME_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_AUDIO_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_TIME_FIELD_NUMBER: _ClassVar[int]
    input_characters: int
    generated_frames: int
    audio_duration: _duration_pb2.Duration
    queue_time: _duration_pb2.Duration
    time_to_first_audio: _duration_pb2.Duration
    processing_time: _duration_pb2.Duration
    def __init__(self, input_characters: _Optional[int] = ..., generated_frames: _Optional[int] = ..., audio_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., queue_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., time_to_first_audio: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., processing_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Voice(_message.Message):
    __slots__ = ("name", "type", "languages", "description", "natural_sample_rate_hertz", "create_time", "x_vector_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NATURAL_SAMPLE_RATE_HERTZ_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    X_VECTOR_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: VoiceType
    languages: _containers.RepeatedScalarFieldContainer[str]
    description: str
    natural_sample_rate_hertz: int
    create_time: _timestamp_pb2.Timestamp
    x_vector_only: bool
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[VoiceType, str]] = ..., languages: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., natural_sample_rate_hertz: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., x_vector_only: _Optional[bool] = ...) -> None: ...

class ListVoicesRequest(_message.Message):
    __slots__ = ("language",)
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    language: str
    def __init__(self, language: _Optional[str] = ...) -> None: ...

class ListVoicesResponse(_message.Message):
    __slots__ = ("voices",)
    VOICES_FIELD_NUMBER: _ClassVar[int]
    voices: _containers.RepeatedCompositeFieldContainer[Voice]
    def __init__(self, voices: _Optional[_Iterable[_Union[Voice, _Mapping]]] = ...) -> None: ...

class GetServiceInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SupportedAudioFormat(_message.Message):
    __slots__ = ("encoding", "sample_rates_hertz", "default_sample_rate_hertz")
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATES_HERTZ_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_SAMPLE_RATE_HERTZ_FIELD_NUMBER: _ClassVar[int]
    encoding: AudioEncoding
    sample_rates_hertz: _containers.RepeatedScalarFieldContainer[int]
    default_sample_rate_hertz: int
    def __init__(self, encoding: _Optional[_Union[AudioEncoding, str]] = ..., sample_rates_hertz: _Optional[_Iterable[int]] = ..., default_sample_rate_hertz: _Optional[int] = ...) -> None: ...

class GetServiceInfoResponse(_message.Message):
    __slots__ = ("model", "model_type", "server_version", "native_sample_rate_hertz", "audio_formats", "min_chunk_duration_ms", "max_chunk_duration_ms", "default_chunk_duration_ms", "max_text_characters", "max_instructions_characters", "max_audio_duration_ms", "languages", "supports_instructions", "supports_voice_cloning", "frame_duration_ms", "talker_precision", "code_predictor_precision", "codec_precision", "quantization", "compute_device")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_TYPE_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    NATIVE_SAMPLE_RATE_HERTZ_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FORMATS_FIELD_NUMBER: _ClassVar[int]
    MIN_CHUNK_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_CHUNK_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_TEXT_CHARACTERS_FIELD_NUMBER: _ClassVar[int]
    MAX_INSTRUCTIONS_CHARACTERS_FIELD_NUMBER: _ClassVar[int]
    MAX_AUDIO_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_VOICE_CLONING_FIELD_NUMBER: _ClassVar[int]
    FRAME_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    TALKER_PRECISION_FIELD_NUMBER: _ClassVar[int]
    CODE_PREDICTOR_PRECISION_FIELD_NUMBER: _ClassVar[int]
    CODEC_PRECISION_FIELD_NUMBER: _ClassVar[int]
    QUANTIZATION_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_DEVICE_FIELD_NUMBER: _ClassVar[int]
    model: str
    model_type: str
    server_version: str
    native_sample_rate_hertz: int
    audio_formats: _containers.RepeatedCompositeFieldContainer[SupportedAudioFormat]
    min_chunk_duration_ms: int
    max_chunk_duration_ms: int
    default_chunk_duration_ms: int
    max_text_characters: int
    max_instructions_characters: int
    max_audio_duration_ms: int
    languages: _containers.RepeatedScalarFieldContainer[str]
    supports_instructions: bool
    supports_voice_cloning: bool
    frame_duration_ms: int
    talker_precision: str
    code_predictor_precision: str
    codec_precision: str
    quantization: str
    compute_device: str
    def __init__(self, model: _Optional[str] = ..., model_type: _Optional[str] = ..., server_version: _Optional[str] = ..., native_sample_rate_hertz: _Optional[int] = ..., audio_formats: _Optional[_Iterable[_Union[SupportedAudioFormat, _Mapping]]] = ..., min_chunk_duration_ms: _Optional[int] = ..., max_chunk_duration_ms: _Optional[int] = ..., default_chunk_duration_ms: _Optional[int] = ..., max_text_characters: _Optional[int] = ..., max_instructions_characters: _Optional[int] = ..., max_audio_duration_ms: _Optional[int] = ..., languages: _Optional[_Iterable[str]] = ..., supports_instructions: _Optional[bool] = ..., supports_voice_cloning: _Optional[bool] = ..., frame_duration_ms: _Optional[int] = ..., talker_precision: _Optional[str] = ..., code_predictor_precision: _Optional[str] = ..., codec_precision: _Optional[str] = ..., quantization: _Optional[str] = ..., compute_device: _Optional[str] = ...) -> None: ...

class RegisterVoiceRequest(_message.Message):
    __slots__ = ("name", "reference_audio", "reference_audio_format", "reference_text", "x_vector_only", "description", "languages")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_AUDIO_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_AUDIO_FORMAT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TEXT_FIELD_NUMBER: _ClassVar[int]
    X_VECTOR_ONLY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    name: str
    reference_audio: bytes
    reference_audio_format: AudioFormat
    reference_text: str
    x_vector_only: bool
    description: str
    languages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., reference_audio: _Optional[bytes] = ..., reference_audio_format: _Optional[_Union[AudioFormat, _Mapping]] = ..., reference_text: _Optional[str] = ..., x_vector_only: _Optional[bool] = ..., description: _Optional[str] = ..., languages: _Optional[_Iterable[str]] = ...) -> None: ...

class RegisterVoiceResponse(_message.Message):
    __slots__ = ("voice",)
    VOICE_FIELD_NUMBER: _ClassVar[int]
    voice: Voice
    def __init__(self, voice: _Optional[_Union[Voice, _Mapping]] = ...) -> None: ...

class DeleteVoiceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteVoiceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
