"""The one response pipeline: engine events in, the product's response events out, for every front door.

    pipeline = ResponsePipeline(request, capabilities, model, received_at)   # a resolved request
    pipeline.started(seed)              -> Started
    pipeline.frame(pcm, segment)        -> [SegmentStarted?, Audio, ...]   (sets `cut` at the duration bound)
    pipeline.finished(reason, queue_s)  -> [Audio, ..., Finished]

It cuts the model's audio exactly at the request's duration bound (or the server's limit), changes its speed
(pitch kept, server/audio/tempo.py; speed 1.0 touches nothing), resamples, cuts chunks of the requested duration
and encodes them (server/audio/stream.py), tells where each text segment starts (with `segment_events`), and
accounts usage.

Speed and the accounting: the duration bound (`max_audio_duration_ms`, the server's limit) counts the model's
audio, before the speed change: it bounds the work. `Usage.audio_s` is the audio *sent*, after it (what the
client plays, the sum of the chunks' durations); at speed 2, 800 ms of model audio are sent as ~400 ms.
`generated_frames` counts model frames either way; a segment's start sample is where it falls in the audio sent.

Pure and transport-free: no asyncio, no protobuf, no metrics. Every door and in-process synthesis use it; each
door turns the events into its own wire format.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from contract.capabilities import Capabilities
from contract.formats import AudioFormat
from contract.outcome import FinishReason
from contract.request import SynthesisRequest, TextSegment
from server.audio.stream import AudioStream, EncodedChunk
from server.audio.tempo import TimeStretch


class Ending(enum.IntEnum):
    """Why the audio of a successful synthesis ended; values equal `qwen3tts.v1.FinishReason`."""

    END_OF_SPEECH = 1  # the model ended the utterance
    MAX_DURATION = 2  # cut at the request's duration bound or the server's limit
    CANCELLED = 3  # a streaming session's turn, interrupted (barge-in); not a value of the gRPC enum


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
class SegmentStarted:
    index: int
    text: str  # as spoken
    source_start: int  # code points of the request's text
    source_end: int
    start_sample: int  # at the output rate, in the output timeline


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


ResponseEvent = Started | SegmentStarted | Audio | Finished


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
        self._segment = -1  # the last segment announced
        self.segments = list(request.segments)  # by index; a streaming session adds them as its text arrives

    def started(self, seed: int) -> Started:
        r = self.request
        return Started(r.request_id, r.audio_format, r.voice, self.caps.model, seed, r.language, r.chunk_duration_ms)

    def dry_run(self) -> list[ResponseEvent]:
        """A dry run's whole stream: started, every segment (all at sample 0: nothing is synthesized),
        finished. The seed reported is the request's, or one drawn as a synthesis would."""
        seed = self.request.seed if self.request.seed is not None else secrets.randbits(63)
        return [self.started(seed), *(self._segment_started(s, 0) for s in self.request.segments),
                *self.finished(FinishReason.EOS, 0.0)]

    def frame(self, pcm: np.ndarray, segment: int = 0) -> list[SegmentStarted | Audio]:
        out: list[SegmentStarted | Audio] = []
        if segment != self._segment and not self.cut:
            self._segment = segment
            if self.request.segment_events and segment < len(self.segments):
                # where it falls in the audio sent: the stretch maps time by 1/speed, the resampler by the rates
                sent = self.samples if self.request.speed == 1.0 else round(self.samples / self.request.speed)
                start = sent * self._audio.format.sample_rate // self.caps.sample_rate
                out.append(self._segment_started(self.segments[segment], start))
        self.frames += 1
        pcm = pcm[:max(0, self.max_samples - self.samples)]
        self.samples += pcm.size
        chunks = self._audio.push(self._tempo.process(pcm))
        if self.samples >= self.max_samples and not self.cut:
            self.cut = True
            chunks += self._finish_audio()
        return out + self._chunks(chunks)

    @staticmethod
    def _segment_started(s: TextSegment, start_sample: int) -> SegmentStarted:
        return SegmentStarted(s.index, s.text, s.start, s.end, start_sample)

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
