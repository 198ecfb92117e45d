"""`AsyncTTSClient`: the asyncio client (grpc.aio), the same methods as TTSClient as coroutines.

    async with AsyncTTSClient("localhost:50051") as tts:
        async for chunk in tts.synthesize("Hello there.", seed=7):   # synthesize() itself is not awaited
            await play(chunk.audio)
        voices = await tts.list_voices()

Create it inside the event loop that uses it (grpc.aio channels belong to one loop).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from client.async_synthesis import AsyncSynthesis
from client.audio_file import encoding_for
from client.base_client import BaseClient
from client.encoding import Encoding
from client.errors import from_rpc_error
from client.messages import ServiceInfo, Voice
from client.requests import register_voice_request, streaming_requests_async
from qwen3tts.v1 import tts_pb2, tts_pb2_grpc


class AsyncTTSClient(BaseClient[AsyncSynthesis]):
    def _connect(self) -> None:
        self._channel = self.connection.aio_channel()
        self._stub = tts_pb2_grpc.TextToSpeechServiceStub(self._channel)

    # ------------------------------------------------------------------ Synthesize
    def _start(self, msg: tts_pb2.SynthesizeRequest, timeout: float | None, request_id: str,
               metadata: tuple) -> AsyncSynthesis:
        return AsyncSynthesis(self._stub.Synthesize(msg, timeout=timeout, metadata=metadata), request_id)

    def _start_streaming(self, config: tts_pb2.SynthesizeRequest, texts, timeout: float | None, request_id: str,
                         metadata: tuple) -> AsyncSynthesis:
        return AsyncSynthesis(self._stub.StreamingSynthesize(streaming_requests_async(config, texts), timeout=timeout,
                                                             metadata=metadata), request_id)

    async def synthesize_to_file(self, text: str, path: str | Path, *, float32: bool = False,
                                 encoding: str | Encoding | None = None, **kwargs: Any) -> AsyncSynthesis:
        """See TTSClient.synthesize_to_file."""
        synthesis = self.synthesize(text, encoding=encoding or encoding_for(path, float32), **kwargs)
        await synthesis.save(path)
        return synthesis

    # ------------------------------------------------------------------ unary RPCs
    async def list_voices(self, language: str | None = None, *, timeout: float | None = None,
                          request_id: str | None = None) -> list[Voice]:
        response = await self._unary(self._stub.ListVoices, tts_pb2.ListVoicesRequest(language=language or ""),
                                     timeout, request_id)
        return [Voice.from_proto(v) for v in response.voices]

    async def service_info(self, *, timeout: float | None = None, request_id: str | None = None) -> ServiceInfo:
        return ServiceInfo.from_proto(await self._unary(self._stub.GetServiceInfo, tts_pb2.GetServiceInfoRequest(),
                                                        timeout, request_id))

    async def register_voice(self, name: str, reference_audio: bytes | str | Path, *,
                             reference_text: str | None = None, x_vector_only: bool = False, description: str = "",
                             languages: tuple[str, ...] = (), reference_encoding: str | None = None,
                             reference_sample_rate: int = 0, timeout: float | None = None,
                             request_id: str | None = None) -> Voice:
        """See TTSClient.register_voice."""
        msg = register_voice_request(name, reference_audio, reference_text=reference_text,
                                     x_vector_only=x_vector_only, description=description, languages=languages,
                                     reference_encoding=reference_encoding,
                                     reference_sample_rate=reference_sample_rate)
        return Voice.from_proto((await self._unary(self._stub.RegisterVoice, msg, timeout, request_id)).voice)

    async def delete_voice(self, name: str, *, timeout: float | None = None, request_id: str | None = None) -> None:
        await self._unary(self._stub.DeleteVoice, tts_pb2.DeleteVoiceRequest(name=name), timeout, request_id)

    async def _unary(self, method: Callable, request: Any, timeout: float | None, request_id: str | None) -> Any:
        timeout, rid, metadata = self.connection.call_options(timeout, request_id)
        try:
            return await method(request, timeout=timeout, metadata=metadata)
        except grpc.RpcError as e:
            raise from_rpc_error(e, rid) from None

    # ------------------------------------------------------------------ lifetime
    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> AsyncTTSClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
