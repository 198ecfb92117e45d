"""The one response pipeline: engine events in, the product's response events out, for every front door.

    pipeline = ResponsePipeline(request, capabilities, model, received_at)   # a resolved request
    pipeline.started(seed)              -> Started
    pipeline.frame(pcm)                 -> [Audio, ...]   (sets `cut` once the duration bound is reached)
    pipeline.finished(reason, queue_s)  -> [Audio, ..., Finished]

It cuts the model's audio exactly at the request's duration bound (or the server's limit), changes its speed
(pitch kept, server/audio/tempo.py; speed 1.0 touches nothing), resamples, cuts chunks of the requested duration
and encodes them (server/audio/stream.py), and accounts usage.

Speed and the accounting: the duration bound (`max_audio_duration_ms`, the server's limit) counts the model's
audio, before the speed change: it bounds the work. `Usage.audio_s` is the audio *sent*, after it (what the
client plays, the sum of the chunks' durations); at speed 2, 800 ms of model audio are sent as ~400 ms.
`generated_frames` counts model frames either way.

Pure and transport-free: no asyncio, no protobuf, no metrics. Every door and in-process synthesis use it; each
door turns the events into its own wire format.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from contract.capabilities import Capabilities
from contract.formats import AudioFormat
from contract.outcome import FinishReason
from contract.request import SynthesisRequest
from server.audio.stream import AudioStream, EncodedChunk
from server.audio.tempo import TimeStretch


class Ending(enum.IntEnum):
    """Why the audio of a successful synthesis ended; values equal `qwen3tts.v1.FinishReason`."""

    END_OF_SPEECH = 1  # the model ended the utterance
    MAX_DURATION = 2  # cut at the request's duration bound or the server's limit


@dataclass(frozen=True)
class Started:
    request_id: str
    audio_format: AudioFormat
    voice: str
    model: str
    seed: int
    language: str
    chunk_duration_ms: int


@dataclass(frozen=True)
class Audio:
    chunk: EncodedChunk


@dataclass(frozen=True)
class Usage:
    input_characters: int
    generated_frames: int
    audio_s: float
    queue_s: float  # received -> handed to a worker
    time_to_first_audio_s: float
    processing_s: float  # received -> last chunk


@dataclass(frozen=True)
class Finished:
    ending: Ending
    usage: Usage


ResponseEvent = Started | Audio | Finished


class ResponsePipeline:
    def __init__(self, request: SynthesisRequest, caps: Capabilities, received_at: float,
                 clock: Callable[[], float] = time.monotonic):
        self.request, self.caps, self.received_at, self._clock = request, caps, received_at, clock
        bound_ms = request.max_audio_duration_ms or caps.limits.max_audio_duration_ms
        self.max_samples = bound_ms * caps.sample_rate // 1000  # at the model's rate: the audio is cut exactly here
        self._tempo = TimeStretch(request.speed, caps.sample_rate)
        self._audio = AudioStream(request.audio_format, request.chunk_duration_ms, caps.sample_rate)
        self.samples = 0  # model-rate samples taken
        self.frames = 0
        self.first_audio_at: float | None = None
        self.cut = False  # the duration bound was reached: the generation should stop

    def started(self, seed: int) -> Started:
        r = self.request
        return Started(r.request_id, r.audio_format, r.voice, self.caps.model, seed, r.language, r.chunk_duration_ms)

    def frame(self, pcm: np.ndarray) -> list[Audio]:
        self.frames += 1
        pcm = pcm[:max(0, self.max_samples - self.samples)]
        self.samples += pcm.size
        chunks = self._audio.push(self._tempo.process(pcm))
        if self.samples >= self.max_samples and not self.cut:
            self.cut = True
            chunks += self._finish_audio()
        return self._chunks(chunks)

    def finished(self, reason: FinishReason, queue_s: float) -> list[Audio | Finished]:
        """The tail and the last event; after a cut, `reason` is whatever the stopped generation reported."""
        events: list[Audio | Finished] = self._chunks(self._finish_audio())
        ending = Ending.MAX_DURATION if self.cut or reason is FinishReason.MAX_FRAMES else Ending.END_OF_SPEECH
        now = self._clock()
        events.append(Finished(ending, Usage(
            input_characters=len(self.request.text), generated_frames=self.frames,
            audio_s=self._tempo.samples_out / self.caps.sample_rate, queue_s=queue_s,
            time_to_first_audio_s=(self.first_audio_at or now) - self.received_at,
            processing_s=now - self.received_at)))
        return events

    def _finish_audio(self) -> list[EncodedChunk]:
        """The stretch's tail through the encoder, then the encoder's own (a second call returns nothing)."""
        tail = self._tempo.flush()
        return (self._audio.push(tail) if tail.size else []) + self._audio.finish()

    def _chunks(self, chunks: list[EncodedChunk]) -> list[Audio]:
        if chunks and self.first_audio_at is None:
            self.first_audio_at = self._clock()
        return [Audio(c) for c in chunks]
