"""`AsyncSynthesis`: the asyncio twin of `Synthesis` (see client/synthesis.py for the semantics).

    synthesis = client.synthesize("Hello.", seed=7)
    started = await synthesis.wait_started()    # `synthesis.started` is None until then
    async for chunk in synthesis:
        await play(chunk.audio)
    synthesis.finished.usage
    # or: pcm = await synthesis.audio();  await synthesis.save("out.wav")
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType

import grpc

from client.audio_file import AudioFileWriter
from client.errors import TTSError
from client.messages import AudioChunk, SynthesisStarted
from client.stream import StreamState, StreamView


class AsyncSynthesis(StreamView):
    def __init__(self, call: grpc.aio.UnaryStreamCall, request_id: str) -> None:
        self._call = call
        self._state = StreamState(request_id)
        self._yielded = 0

    # ------------------------------------------------------------------ what has arrived
    @property
    def request_id(self) -> str:
        return self._state.request_id

    @property
    def started(self) -> SynthesisStarted | None:
        """The resolved request, or None if it has not arrived yet (`await wait_started()`)."""
        return self._state.started

    async def wait_started(self) -> SynthesisStarted:
        while self._state.started is None:
            if self._state.ended:
                raise self._state.error or RuntimeError("the stream ended before `started`")
            await self._read()
        return self._state.started

    # ------------------------------------------------------------------ reading
    def __aiter__(self) -> AsyncSynthesis:
        return self

    async def __anext__(self) -> AudioChunk:
        while True:
            if self._state.ended:
                if self._state.cancelled and self._state.error is not None:
                    raise self._state.error
                raise StopAsyncIteration
            chunk = await self._read()
            if chunk is not None:
                self._yielded += 1
                return chunk

    async def _read(self) -> AudioChunk | None:
        try:
            response = await self._call.read()
        except grpc.RpcError as e:
            raise self._state.fail(e) from None
        except asyncio.CancelledError:
            # Reading a call cancelled with cancel() raises CancelledError; the task itself was not cancelled
            # then, so report the call's cancellation as Cancelled. A cancelled task re-raises as it should.
            if self._state.cancelled:
                raise self._state.error from None
            self._call.cancel()
            raise
        if response is grpc.aio.EOF:
            self._state.end()
            return None
        try:
            return self._state.accept(response)
        except TTSError:
            self._call.cancel()
            raise

    async def audio(self) -> bytes:
        """All audio bytes of the stream (waits for the end). Call it instead of iterating, not after."""
        if self._yielded:
            raise RuntimeError("audio() returns the whole stream: call it before iterating, not after")
        return b"".join([chunk.audio async for chunk in self])

    async def save(self, path: str | Path) -> Path:
        """Write the audio to `path` as it arrives; the file appears only if the stream completes."""
        try:
            writer = AudioFileWriter(path, (await self.wait_started()).audio_format)
        except ValueError:
            self.cancel()
            raise
        with writer:
            async for chunk in self:
                writer.write(chunk.audio)
        return writer.path

    # ------------------------------------------------------------------ stopping
    def cancel(self) -> None:
        if not self._state.ended:
            self._state.cancel()
            self._call.cancel()

    async def __aenter__(self) -> AsyncSynthesis:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.cancel()
