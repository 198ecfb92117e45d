"""`TTSClient`: the blocking client.

    with TTSClient("localhost:50051", token="...") as tts:
        for chunk in tts.synthesize("Hello there.", voice="ryan", seed=7):
            play(chunk.audio)
        tts.synthesize_to_file("Hello there.", "hello.wav")
        print([v.name for v in tts.list_voices()])

Every failure raises a TTSError subclass (client/errors.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from client.audio_file import encoding_for
from client.base_client import BaseClient
from client.encoding import Encoding
from client.errors import from_rpc_error
from client.messages import ServiceInfo, Voice
from client.requests import register_voice_request, streaming_requests
from client.synthesis import Synthesis
from qwen3tts.v1 import tts_pb2, tts_pb2_grpc


class TTSClient(BaseClient[Synthesis]):
    def _connect(self) -> None:
        self._channel = self.connection.channel()
        self._stub = tts_pb2_grpc.TextToSpeechServiceStub(self._channel)

    # ------------------------------------------------------------------ Synthesize
    def _start(self, msg: tts_pb2.SynthesizeRequest, timeout: float | None, request_id: str,
               metadata: tuple) -> Synthesis:
        call = self._stub.Synthesize(msg, timeout=timeout, metadata=metadata)
        return Synthesis(call, request_id, call.cancel)

    def _start_streaming(self, config: tts_pb2.SynthesizeRequest, texts, timeout: float | None, request_id: str,
                         metadata: tuple) -> Synthesis:
        call = self._stub.StreamingSynthesize(streaming_requests(config, texts), timeout=timeout, metadata=metadata)
        return Synthesis(call, request_id, call.cancel)

    def synthesize_to_file(self, text: str, path: str | Path, *, float32: bool = False,
                           encoding: str | Encoding | None = None, **kwargs: Any) -> Synthesis:
        """Synthesise `text` into `path` (.wav, .flac, .ogg/.opus, .mp3, .aac, .raw); returns the completed Synthesis
        (`.started`, `.finished`). The encoding follows the extension (float32: a 32-bit float WAV) unless given.
        Other keyword arguments are those of `synthesize`. Nothing is written if the stream fails."""
        synthesis = self.synthesize(text, encoding=encoding or encoding_for(path, float32), **kwargs)
        synthesis.save(path)
        return synthesis

    # ------------------------------------------------------------------ unary RPCs
    def list_voices(self, language: str | None = None, *, timeout: float | None = None,
                    request_id: str | None = None) -> list[Voice]:
        """Built-in speakers, then registered voices; only those meant for `language` if given."""
        response = self._unary(self._stub.ListVoices, tts_pb2.ListVoicesRequest(language=language or ""),
                               timeout, request_id)
        return [Voice.from_proto(v) for v in response.voices]

    def service_info(self, *, timeout: float | None = None, request_id: str | None = None) -> ServiceInfo:
        return ServiceInfo.from_proto(self._unary(self._stub.GetServiceInfo, tts_pb2.GetServiceInfoRequest(),
                                                  timeout, request_id))

    def register_voice(self, name: str, reference_audio: bytes | str | Path, *, reference_text: str | None = None,
                       x_vector_only: bool = False, description: str = "", languages: tuple[str, ...] = (),
                       reference_encoding: str | None = None, reference_sample_rate: int = 0,
                       timeout: float | None = None, request_id: str | None = None) -> Voice:
        """Clone a voice (Base checkpoints) from reference speech: WAV/FLAC/Ogg bytes or a path (raw PCM bytes
        with `reference_encoding` and `reference_sample_rate`). `reference_text`, the transcript, is required
        unless `x_vector_only`."""
        msg = register_voice_request(name, reference_audio, reference_text=reference_text,
                                     x_vector_only=x_vector_only, description=description, languages=languages,
                                     reference_encoding=reference_encoding,
                                     reference_sample_rate=reference_sample_rate)
        return Voice.from_proto(self._unary(self._stub.RegisterVoice, msg, timeout, request_id).voice)

    def delete_voice(self, name: str, *, timeout: float | None = None, request_id: str | None = None) -> None:
        self._unary(self._stub.DeleteVoice, tts_pb2.DeleteVoiceRequest(name=name), timeout, request_id)

    def _unary(self, method: Callable, request: Any, timeout: float | None, request_id: str | None) -> Any:
        timeout, rid, metadata = self.connection.call_options(timeout, request_id)
        try:
            return method(request, timeout=timeout, metadata=metadata)
        except grpc.RpcError as e:
            raise from_rpc_error(e, rid) from None

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> TTSClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
