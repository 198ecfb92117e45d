"""`Synthesis`: one running Synthesize call, iterated for its audio chunks.

    synthesis = client.synthesize("Hello.", seed=7)
    synthesis.started.seed                   # waits for the first event (the resolved request)
    for chunk in synthesis:                  # AudioChunk, in order, while the audio is generated
        play(chunk.audio)
    synthesis.finished.usage                 # None until the stream completed
    # or: pcm = synthesis.audio()            # everything at once;  synthesis.save("out.wav")

A failure, before or after audio, raises the typed TTSError from the iteration (its `chunks_received` says
how much audio came first). `cancel()` stops the call; the next read raises Cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import grpc

from client.audio_file import AudioFileWriter
from client.errors import TTSError
from client.messages import AudioChunk, SynthesisStarted
from client.stream import StreamState, StreamView
from qwen3tts.v1 import tts_pb2


class Synthesis(StreamView):
    def __init__(self, responses: Iterator[tts_pb2.SynthesizeResponse], request_id: str,
                 cancel: Callable[[], object]) -> None:
        """`responses`: a grpc response iterator (or the in-process engine's); `cancel` stops it."""
        self._responses, self._cancel = responses, cancel
        self._state = StreamState(request_id)
        self._yielded = 0

    # ------------------------------------------------------------------ what has arrived
    @property
    def request_id(self) -> str:
        return self._state.request_id

    @property
    def started(self) -> SynthesisStarted:
        """The resolved request (voice, seed, format, ...); waits for it. Raises the call's error if it failed."""
        return self.wait_started()

    def wait_started(self) -> SynthesisStarted:
        while self._state.started is None:
            if self._state.ended:
                raise self._state.error or RuntimeError("the stream ended before `started`")
            if self._read() is not None:  # pragma: no cover - StreamState refuses audio before `started`
                raise AssertionError("audio before started")
        return self._state.started

    # ------------------------------------------------------------------ reading
    def __iter__(self) -> Iterator[AudioChunk]:
        return self

    def __next__(self) -> AudioChunk:
        while True:
            if self._state.ended:
                if self._state.cancelled and self._state.error is not None:
                    raise self._state.error
                raise StopIteration
            chunk = self._read()
            if chunk is not None:
                self._yielded += 1
                return chunk

    def _read(self) -> AudioChunk | None:
        """One event: its chunk, or None for started/finished. Raises the typed error of a failure."""
        try:
            response = next(self._responses)
        except StopIteration:
            self._state.end()
            return None
        except grpc.RpcError as e:
            raise self._state.fail(e) from None
        except TTSError as e:  # the in-process engine raises typed errors itself
            raise self._state.fail(e) from None
        try:
            return self._state.accept(response)
        except TTSError:
            self._cancel()  # a broken stream: stop the server's work for it
            raise

    def audio(self) -> bytes:
        """All audio bytes of the stream (waits for the end). Call it instead of iterating, not after."""
        if self._yielded:
            raise RuntimeError("audio() returns the whole stream: call it before iterating, not after")
        return b"".join(chunk.audio for chunk in self)

    def save(self, path: str | Path) -> Path:
        """Write the audio to `path` (.wav, .flac, .ogg/.opus, .raw; see client.audio_file) as it arrives.
        The file appears only if the stream completes. Returns the path."""
        try:
            writer = AudioFileWriter(path, self.started.audio_format)
        except ValueError:
            self.cancel()
            raise
        with writer:
            for chunk in self:
                writer.write(chunk.audio)
        return writer.path

    # ------------------------------------------------------------------ stopping
    def cancel(self) -> None:
        """Stop the call (the server stops generating); later reads raise Cancelled. No-op once it ended."""
        if not self._state.ended:
            self._state.cancel()
            self._cancel()

    def __enter__(self) -> Synthesis:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.cancel()
