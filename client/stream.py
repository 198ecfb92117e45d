"""One Synthesize stream's events, checked against the API contract as they arrive.

The contract (tts.proto): exactly one `started`, then `audio` chunks with sequence numbers 0, 1, 2, ... and
contiguous `start_sample`s (with `segment` events among them when asked for), then one `finished`, then
status OK. Anything else means the audio is incomplete,
so a breach is raised as ProtocolError instead of being passed on as good audio. The sync and asyncio
`Synthesis` classes (and the in-process engine) feed the same state.
"""

from __future__ import annotations

import grpc

from client.errors import Cancelled, ProtocolError, TTSError, from_rpc_error
from client.messages import AudioChunk, Segment, SynthesisFinished, SynthesisStarted
from qwen3tts.v1 import tts_pb2


class StreamState:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.started: SynthesisStarted | None = None
        self.finished: SynthesisFinished | None = None
        self.segments: list[Segment] = []
        self.chunks_received = 0
        self.samples_received = 0  # at the output rate
        self.error: TTSError | None = None
        self.ended = False
        self.cancelled = False

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio received so far."""
        return self.samples_received / self.started.audio_format.sample_rate if self.started else 0.0

    @property
    def complete(self) -> bool:
        """True once the stream ended as the contract says a successful one ends."""
        return self.ended and self.error is None and self.finished is not None

    def accept(self, response: tts_pb2.SynthesizeResponse) -> AudioChunk | None:
        """Record one event; returns the chunk of an audio event. Raises ProtocolError on a breach."""
        try:
            return self._accept(response)
        except ProtocolError as e:  # also an unknown enum value inside an event
            raise self.fail(e) from None

    def _accept(self, response: tts_pb2.SynthesizeResponse) -> AudioChunk | None:
        kind = response.WhichOneof("event")
        if kind == "started":
            if self.started is not None or self.chunks_received:
                raise self._breach("a second `started` event")
            self.started = SynthesisStarted.from_proto(response.started)
            if self.started.request_id:
                self.request_id = self.started.request_id
            return None
        if kind is None:  # an event added to the API after this client was written: nothing to act on
            return None
        if self.started is None:
            raise self._breach(f"`{kind}` before `started`")
        if self.finished is not None:
            raise self._breach(f"`{kind}` after `finished`")
        if kind == "finished":
            self.finished = SynthesisFinished.from_proto(response.finished, self.request_id)
            return None
        if kind == "segment":
            segment = Segment.from_proto(response.segment)
            if segment.index != len(self.segments) or segment.start_sample < self.samples_received:
                raise self._breach(f"segment {segment.index} out of order")
            self.segments.append(segment)
            return None
        chunk = AudioChunk.from_proto(response.audio, self.started.audio_format)
        if chunk.sequence_number != self.chunks_received:
            raise self._breach(f"audio chunk {chunk.sequence_number} where {self.chunks_received} was due")
        if chunk.start_sample != self.samples_received:
            raise self._breach(f"chunk {chunk.sequence_number} starts at sample {chunk.start_sample}, "
                               f"not {self.samples_received}")
        self.chunks_received += 1
        self.samples_received += chunk.num_samples
        return chunk

    def end(self) -> None:
        """The stream ended with status OK; ProtocolError if `finished` never came."""
        self.ended = True
        if self.finished is None:
            raise self.fail(self._breach("the stream ended without a `finished` event"))

    def fail(self, error: grpc.RpcError | TTSError) -> TTSError:
        """Record the stream's failure; returns the typed error to raise (it knows how much audio arrived)."""
        self.ended = True
        if isinstance(error, TTSError):
            error.request_id = error.request_id or self.request_id
            error.chunks_received = self.chunks_received
            self.error = error
        else:
            self.error = from_rpc_error(error, self.request_id, chunks_received=self.chunks_received)
        return self.error

    def cancel(self) -> None:
        """The caller cancelled: later reads raise Cancelled (the audio is incomplete)."""
        if self.ended:
            return
        self.cancelled = True
        self.fail(Cancelled(grpc.StatusCode.CANCELLED, "cancelled by the caller", self.request_id))

    def _breach(self, what: str) -> ProtocolError:
        return ProtocolError(f"the server broke the stream contract: {what}", self.request_id)


class StreamView:
    """What the sync and asyncio `Synthesis` classes report about their stream (both keep a `_state`)."""

    _state: StreamState

    @property
    def finished(self) -> SynthesisFinished | None:
        """Usage and finish reason; None until the stream has completed."""
        return self._state.finished if self._state.complete else None

    @property
    def complete(self) -> bool:
        """True once the whole stream arrived and ended with status OK (the audio is whole)."""
        return self._state.complete

    @property
    def error(self) -> TTSError | None:
        return self._state.error

    @property
    def chunks_received(self) -> int:
        return self._state.chunks_received

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio received so far."""
        return self._state.audio_seconds

    @property
    def segments(self) -> list[Segment]:
        """The text segments announced so far (with `segments=True` or `dry_run=True`), in order."""
        return list(self._state.segments)
