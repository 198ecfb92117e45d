"""Python client of the Qwen3-TTS streaming server (sync and asyncio), and the `qwen3-tts` command line.

    from client import TTSClient
    with TTSClient("localhost:50051") as tts:
        synthesis = tts.synthesize("Hello there.", voice="ryan", seed=7)
        for chunk in synthesis:          # AudioChunk objects while the audio is generated
            ...
        print(synthesis.finished.usage)

docs/client.md describes the API and the CLI.
"""

from client.async_client import AsyncTTSClient
from client.async_synthesis import AsyncSynthesis
from client.encoding import Encoding
from client.errors import (
    AlreadyExists,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    ProtocolError,
    ResourceExhausted,
    TTSError,
    Unauthenticated,
    Unavailable,
)
from client.messages import (
    AudioChunk,
    AudioFormat,
    FinishReason,
    Segment,
    ServiceInfo,
    SupportedAudioFormat,
    SynthesisFinished,
    SynthesisStarted,
    Usage,
    Voice,
    VoiceType,
)
from client.requests import FLUSH
from client.sync_client import TTSClient
from client.synthesis import Synthesis

__all__ = [
    "FLUSH", "AlreadyExists", "AsyncSynthesis", "AsyncTTSClient", "AudioChunk", "AudioFormat", "Cancelled",
    "DeadlineExceeded", "Encoding", "FailedPrecondition", "FieldViolation", "FinishReason", "Internal",
    "InvalidArgument", "NotFound", "ProtocolError", "ResourceExhausted", "Segment", "ServiceInfo", "SupportedAudioFormat",
    "Synthesis", "SynthesisFinished", "SynthesisStarted", "TTSClient", "TTSError", "Unauthenticated",
    "Unavailable", "Usage", "Voice", "VoiceType",
]
