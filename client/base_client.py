"""What the sync and asyncio clients share: connection settings and `synthesize()` (which returns at once in both:
the stream object is read synchronously or asynchronously)."""

from __future__ import annotations

from pathlib import Path
from typing import Generic, TypeVar

from client.connection import DEFAULT_TARGET, Connection
from client.encoding import Encoding
from client.requests import synthesize_request
from qwen3tts.v1 import tts_pb2

S = TypeVar("S")  # the stream object: Synthesis or AsyncSynthesis


class BaseClient(Generic[S]):
    def __init__(self, target: str = DEFAULT_TARGET, *, token: str | None = None, tls: bool = False,
                 root_certificates: bytes | str | Path | None = None, timeout: float | None = None,
                 request_id: str | None = None) -> None:
        """target: "host:port". token: sent as `authorization: Bearer <token>`. tls: use TLS (implied by
        `root_certificates`, a PEM CA bundle as bytes or a path; default: the system roots). timeout: default
        deadline of every call in seconds (None: none). request_id: x-request-id for every call (default: a
        fresh id per call, reported in errors and `started.request_id`)."""
        self.connection = Connection.create(target, token, tls, root_certificates, timeout, request_id)
        self._connect()

    def _connect(self) -> None:
        """Open the channel (grpc or grpc.aio)."""
        raise NotImplementedError

    @property
    def target(self) -> str:
        return self.connection.target

    def synthesize(
        self, text: str, *, voice: str | None = None, language: str | None = None, instructions: str | None = None,
        encoding: str | Encoding = Encoding.PCM_S16LE, sample_rate: int = 0, chunk_ms: int = 0,
        seed: int | None = None, temperature: float | None = None, top_k: int | None = None,
        top_p: float | None = None, repetition_penalty: float | None = None, greedy: bool | None = None,
        max_audio_ms: int = 0, priority: str | None = None, text_normalization: str | None = None,
        segments: bool = False, dry_run: bool = False, speed: float | None = None, timeout: float | None = None,
        request_id: str | None = None,
    ) -> S:
        """Start synthesising `text`; returns the stream object at once (the call runs while it is read).

        voice: a ListVoices name (default: the model's first speaker). language: e.g. "english" (default:
        detected). encoding: pcm_s16le | pcm_f32le | mulaw | alaw | ogg_opus | mp3 | flac | aac | wav.
        sample_rate: Hz, 0 = the encoding's default. chunk_ms: 20..100, 0 = the server's default. seed: reproducible sampling (the
        server draws one otherwise; see `started.seed`). temperature/top_k/top_p/repetition_penalty/greedy:
        sampling overrides. max_audio_ms: cut the audio there (0 = the server's limit). priority:
        "interactive" | "batch". text_normalization: "auto" (default) | "on" | "off". segments: the stream
        announces each text segment as it starts (`synthesis.segments`). dry_run: segments only, no audio.
        speed: 0.25..4.0, pitch kept (default 1.0). timeout: deadline of the whole stream in seconds.
        """
        msg = synthesize_request(
            text, voice=voice, language=language, instructions=instructions, encoding=encoding,
            sample_rate=sample_rate, chunk_ms=chunk_ms, seed=seed, temperature=temperature, top_k=top_k,
            top_p=top_p, repetition_penalty=repetition_penalty, greedy=greedy, max_audio_ms=max_audio_ms,
            priority=priority, text_normalization=text_normalization, segments=segments, dry_run=dry_run,
            speed=speed)
        return self._start(msg, *self.connection.call_options(timeout, request_id))

    def synthesize_stream_input(self, texts, *, timeout: float | None = None, request_id: str | None = None,
                                **options) -> S:
        """Speak a text while it is being written: `texts` yields its pieces (any length, e.g. an LLM's tokens;
        `client.FLUSH` speaks what is buffered now); its end ends the input. Options are those of
        `synthesize` (without the text). The stream announces each segment as it starts."""
        msg = synthesize_request("", **options)
        return self._start_streaming(msg, texts, *self.connection.call_options(timeout, request_id))

    def _start(self, msg: tts_pb2.SynthesizeRequest, timeout: float | None, request_id: str,
               metadata: tuple) -> S:
        raise NotImplementedError

    def _start_streaming(self, config: tts_pb2.SynthesizeRequest, texts, timeout: float | None, request_id: str,
                         metadata: tuple) -> S:
        raise NotImplementedError
