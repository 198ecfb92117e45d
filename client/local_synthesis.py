"""Synthesis in this process, without a server (`qwen3-tts say --local`): try a model before deploying it.

    synthesis = LocalSynthesizer("Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice").synthesize("Hello.", voice="ryan", seed=7)
    synthesis.save("hello.wav")              # the same `Synthesis` object a server call returns

It produces exactly what a server would send, by running the server's own pieces in-process: the request is
validated and resolved by `server.validation` (voice defaults, formats, chunk sizes, duration bound), frames
come from the workers engine and go through `server.audio.AudioStream` (resampling, chunking, encoders). The
engine is sized as `python -m workers synth` sizes it (one slot, the same context bound), so for the same seed
the audio equals that command's output bit for bit.

Everything (loading the weights included) happens when the stream is first read, so errors surface from the
iteration (or `.started`) as typed TTSErrors, as with a server. Each call loads the model anew: this is a
convenience for single requests, not a server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from client.connection import new_request_id
from client.encoding import Encoding
from client.errors import TTSError, make_error
from client.requests import synthesize_request
from client.synthesis import Synthesis
from qwen3tts.v1 import tts_pb2

# `python -m workers synth` bounds the prompt by the text's and instruction's UTF-8 bytes plus this margin
# (workers/commands.py); the engine's context size follows from it, and equal sizes give equal audio.
PROMPT_MARGIN_TOKENS = 32


def _duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(round(seconds * 1e9)))
    return d


def _invalid(violations: list[tuple[str, str]], request_id: str) -> TTSError:
    bad = error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations])
    message = "invalid request: " + "; ".join(f"{f}: {d}" for f, d in violations)
    return make_error(grpc.StatusCode.INVALID_ARGUMENT, message, request_id, (bad,))


class LocalSynthesizer:
    def __init__(self, model: str, *, device: str = "cpu", dtype: str = "float32", codec_dtype: str = "float32",
                 threads: int | None = None) -> None:
        """model: a checkpoint directory in the official layout or a hub id. dtype: talker dtype."""
        self.model, self.device, self.dtype, self.codec_dtype, self.threads = model, device, dtype, codec_dtype, threads

    def synthesize(self, text: str, *, voice: str | None = None, language: str | None = None,
                   instructions: str | None = None, encoding: str | Encoding = Encoding.PCM_S16LE,
                   sample_rate: int = 0, chunk_ms: int = 0, seed: int | None = None,
                   temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
                   repetition_penalty: float | None = None, greedy: bool | None = None, max_audio_ms: int = 0,
                   request_id: str | None = None) -> Synthesis:
        """The arguments of TTSClient.synthesize (no priority or timeout: nothing is queued)."""
        msg = synthesize_request(
            text, voice=voice, language=language, instructions=instructions, encoding=encoding,
            sample_rate=sample_rate, chunk_ms=chunk_ms, seed=seed, temperature=temperature, top_k=top_k,
            top_p=top_p, repetition_penalty=repetition_penalty, greedy=greedy, max_audio_ms=max_audio_ms)
        rid = request_id or new_request_id()
        responses = self._responses(msg, rid)
        return Synthesis(responses, rid, responses.close)

    def _responses(self, msg: tts_pb2.SynthesizeRequest, request_id: str) -> Iterator[tts_pb2.SynthesizeResponse]:
        # Imported here: torch and the model code load only when local synthesis is used.
        from server.audio.stream import AudioStream
        from server.config import ServerConfig
        from server.errors import ServiceError
        from server.validation import engine_field, parse_synthesize
        from workers.checkpoint import CheckpointError, load_config, resolve
        from workers.config import ConfigError
        from workers.engine.engine import Engine, RequestError, max_frames_for_text
        from workers.engine.sequence import FinishReason

        try:
            where = resolve(self.model)
            config = load_config(where.path)
        except (CheckpointError, ConfigError, OSError) as e:
            raise _invalid([("model", str(e))], request_id) from None
        try:
            parsed = parse_synthesize(msg, _worker_info(self.model, config), ServerConfig(model=self.model),
                                      request_id)
        except ServiceError as e:  # before spending seconds on loading weights
            raise _invalid(e.violations, request_id) from None
        req = parsed.request
        text_bytes = len(req.text.encode())
        frames_bound = req.max_frames or max_frames_for_text(text_bytes)
        prompt_bound = text_bytes + len((req.instruct or "").encode()) + PROMPT_MARGIN_TOKENS
        context = min(config.talker.max_position_embeddings, frames_bound + prompt_bound)
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        engine = Engine.load(where, device=self.device, dtype=self.dtype, codec_dtype=self.codec_dtype, slots=1,
                             max_context=context)
        received = time.monotonic()
        try:
            seq = engine.submit(req)
        except RequestError as e:
            raise _invalid([(engine_field(v.field), v.message) for v in e.violations], request_id) from None
        fmt = parsed.format
        yield tts_pb2.SynthesizeResponse(started=tts_pb2.SynthesisStarted(
            request_id=request_id, audio_format=tts_pb2.AudioFormat(encoding=int(fmt.encoding),
                                                                    sample_rate_hertz=fmt.sample_rate),
            voice=parsed.voice, model=self.model, seed=seq.seed, language=parsed.language,
            chunk_duration_ms=parsed.chunk_ms, channels=1))

        audio = AudioStream(fmt, parsed.chunk_ms)
        samples = frames = 0
        first_audio = None
        finish = tts_pb2.FINISH_REASON_END_OF_SPEECH
        try:
            while not seq.finished:
                for event in engine.step():
                    frames += 1
                    pcm = event.pcm[:max(0, parsed.max_samples - samples)]
                    samples += pcm.size
                    chunks = audio.push(pcm)
                    if samples >= parsed.max_samples or event.finish_reason is not None:
                        # The duration bound (as the server cuts it) or the model's own end.
                        if samples >= parsed.max_samples or event.finish_reason is FinishReason.MAX_FRAMES:
                            finish = tts_pb2.FINISH_REASON_MAX_DURATION
                        engine.cancel(seq.seq_id)
                        chunks += audio.finish()
                    for chunk in chunks:
                        first_audio = first_audio or time.monotonic()
                        yield tts_pb2.SynthesizeResponse(audio=tts_pb2.AudioChunk(
                            audio=chunk.audio, sequence_number=chunk.sequence_number,
                            start_sample=chunk.start_sample, duration=duration_pb2.Duration(
                                seconds=chunk.duration_ns // 1_000_000_000, nanos=chunk.duration_ns % 1_000_000_000)))
        finally:
            engine.cancel(seq.seq_id)  # closed early (cancel): free the slot
        total = time.monotonic() - received
        yield tts_pb2.SynthesizeResponse(finished=tts_pb2.SynthesisFinished(finish_reason=finish, usage=tts_pb2.Usage(
            input_characters=len(req.text), generated_frames=frames,
            audio_duration=_duration(samples / config.codec.sample_rate), queue_time=_duration(0),
            time_to_first_audio=_duration((first_audio or time.monotonic()) - received),
            processing_time=_duration(total))))


def _worker_info(model: str, config):
    """What a worker would report about this checkpoint: all the request validation needs."""
    from workers.protocol import WorkerInfo

    return WorkerInfo(model=model, model_type=config.model_type, model_size=config.model_size,
                      speakers=config.speakers, languages=config.languages,
                      accepts_instruct=config.accepts_instruct, sample_rate=config.codec.sample_rate,
                      samples_per_frame=config.codec.samples_per_frame, slots=1, max_context=0, device="cpu",
                      dtype="float32", pid=0)
