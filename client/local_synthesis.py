"""`qwen3-tts say --local`: the server's in-process synthesis (server/local.py) as a client `Synthesis`.

The only client module that reaches into the server and the model library, and only when called: the model
runs in this process and the result is the same `Synthesis` object a server call returns, with the server's
errors as the same typed TTSErrors.

    synthesis = LocalSynthesizer("Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice").synthesize("Hello.", voice="ryan", seed=7)
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.rpc import error_details_pb2

from client.connection import new_request_id
from client.encoding import Encoding
from client.errors import make_error
from client.requests import synthesize_request
from client.synthesis import Synthesis
from qwen3tts.v1 import tts_pb2


class LocalSynthesizer:
    def __init__(self, model: str, *, device: str = "cpu", dtype: str = "auto", codec_dtype: str = "float32",
                 threads: int | None = None) -> None:
        """model: a checkpoint directory in the official layout or a hub id. dtype: talker dtype."""
        self.options = dict(model=model, device=device, dtype=dtype, codec_dtype=codec_dtype, threads=threads)

    def synthesize(self, text: str, *, voice: str | None = None, language: str | None = None,
                   instructions: str | None = None, encoding: str | Encoding = Encoding.PCM_S16LE,
                   sample_rate: int = 0, chunk_ms: int = 0, seed: int | None = None,
                   temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
                   repetition_penalty: float | None = None, greedy: bool | None = None, max_audio_ms: int = 0,
                   text_normalization: str | None = None, segments: bool = False, dry_run: bool = False,
                   speed: float | None = None, request_id: str | None = None) -> Synthesis:
        """The arguments of TTSClient.synthesize (no priority or timeout: nothing is queued)."""
        msg = synthesize_request(
            text, voice=voice, language=language, instructions=instructions, encoding=encoding,
            sample_rate=sample_rate, chunk_ms=chunk_ms, seed=seed, temperature=temperature, top_k=top_k,
            top_p=top_p, repetition_penalty=repetition_penalty, greedy=greedy, max_audio_ms=max_audio_ms,
            text_normalization=text_normalization, segments=segments, dry_run=dry_run, speed=speed)
        rid = request_id or new_request_id()
        responses = self._responses(msg, rid)
        return Synthesis(responses, rid, responses.close)

    def _responses(self, msg: tts_pb2.SynthesizeRequest, request_id: str) -> Iterator[tts_pb2.SynthesizeResponse]:
        from server.errors import ServiceError
        from server.local import synthesize_local

        try:
            yield from synthesize_local(msg, request_id, **self.options)
        except ServiceError as e:
            details = (error_details_pb2.BadRequest(field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.message)
                for v in e.violations]),) if e.violations else ()
            raise make_error(grpc.StatusCode[e.status.name], e.message, request_id, details) from None
