"""The gRPC service `qwen3tts.v1.TextToSpeechService`: requests in, validated and queued; frames back as chunks.

No torch here: frames arrive from worker processes through the batcher. Every failure leaves as the status of
server/errors.py; every log line of a request carries its request id (never its text at info level).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import replace

import grpc
from google.protobuf import duration_pb2, timestamp_pb2

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from server import errors
from server.audio.formats import NATIVE_SAMPLE_RATE, supported_formats
from server.audio.stream import AudioStream
from server.batcher import Batcher, RequestStream
from server.config import ServerConfig
from server.log import get_logger, request_context, request_id_from_metadata
from server.metrics import Metrics
from server.validation import FRAME_MS, PRIORITY_NAMES, ParsedSynthesis, parse_synthesize, worker_violations
from workers import protocol as p
from workers.pool import NoCapacity, PoolFailed, WorkerPool
from workers.request import MAX_INSTRUCT_CHARS

log = get_logger("server.service")
VERSION = "0.1.0"
REFERENCE_AUDIO_MAX_BYTES = 16 * 1024 * 1024


def _duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(round(seconds * 1e9)))
    return d


class TextToSpeechService(tts_pb2_grpc.TextToSpeechServiceServicer):
    def __init__(self, cfg: ServerConfig, pool: WorkerPool, batcher: Batcher, metrics: Metrics):
        self.cfg, self.pool, self.batcher, self.metrics = cfg, pool, batcher, metrics
        self._voice_ids = 0
        self._calls = itertools.count(1)

    # ------------------------------------------------------------------ Synthesize
    async def Synthesize(self, request: tts_pb2.SynthesizeRequest, context: grpc.aio.ServicerContext):
        request_id = request_id_from_metadata(context.invocation_metadata())
        # The batcher's/pool's key of this call. Not the request id: that one comes from the client and may
        # repeat (retries, fan-out); as a key, two concurrent calls with one id collided in the pool (INTERNAL).
        key = f"synthesize-{next(self._calls)}"
        # When the client goes away while a write is blocked (it stopped reading, its generation is paused),
        # grpc.aio fails the write in its own frame and abandons this generator: no CancelledError reaches us
        # and the paused sequence would keep its worker slot forever. Cancelling on RPC termination frees it
        # whatever the generator's fate (a no-op once the request has finished: the pool forgot the key).
        context.add_done_callback(lambda _: self.batcher.cancel(key))
        received = time.monotonic()
        code = grpc.StatusCode.OK
        with request_context(request_id, method="Synthesize"):
            try:
                parsed = parse_synthesize(request, self._info(), self.cfg, request_id)
                await context.send_initial_metadata((("x-request-id", request_id),))
                log.info("request.received", characters=len(request.text), voice=parsed.voice,
                         encoding=parsed.format.encoding.name, sample_rate=parsed.format.sample_rate,
                         chunk_ms=parsed.chunk_ms, priority=parsed.priority)
                stream = await self.batcher.submit(key, parsed.request, parsed.priority)
                async for response in self._stream(parsed, stream, key, request_id, received):
                    yield response
            except errors.ServiceError as e:
                code = e.code
                self._rejected(e)
                log.info("request.failed", code=e.code.name, reason=e.reason, error=e.message)
                await errors.abort(context, e)
            except (asyncio.CancelledError, GeneratorExit):  # GeneratorExit: abandoned, see above
                self.batcher.cancel(key)
                remaining = context.time_remaining()
                reason = "deadline" if remaining is not None and remaining <= 0.01 else "client"
                # requests_total's code is what the client saw: a passed deadline is DEADLINE_EXCEEDED
                code = grpc.StatusCode.DEADLINE_EXCEEDED if reason == "deadline" else grpc.StatusCode.CANCELLED
                self.metrics.requests_cancelled.labels(reason=reason).inc()
                log.info("request.cancelled", reason=reason)
                raise
            except Exception:  # noqa: BLE001 - never UNKNOWN, never a traceback to the client
                code = grpc.StatusCode.INTERNAL
                log.exception("request.internal_error")
                self.batcher.cancel(key)
                await errors.abort(context, errors.internal())
            finally:
                elapsed = time.monotonic() - received
                self.metrics.requests.labels(method="Synthesize", code=code.name).inc()
                self.metrics.request_duration.labels(method="Synthesize", code=code.name).observe(elapsed)

    async def _stream(self, parsed: ParsedSynthesis, stream: RequestStream, key: str, request_id: str,
                      received: float):
        queue_s = stream.dispatched_at - received
        self.metrics.queue_wait.labels(priority=PRIORITY_NAMES[parsed.priority]).observe(queue_s)
        audio = AudioStream(parsed.format, parsed.chunk_ms)
        enc = parsed.format.encoding.name
        samples, frames, first_audio, last_chunk = 0, 0, None, None
        finish = tts_pb2.FINISH_REASON_END_OF_SPEECH
        while True:
            msg = await stream.next()
            if isinstance(msg, p.Started):
                yield tts_pb2.SynthesizeResponse(started=tts_pb2.SynthesisStarted(
                    request_id=request_id, audio_format=tts_pb2.AudioFormat(
                        encoding=int(parsed.format.encoding), sample_rate_hertz=parsed.format.sample_rate),
                    voice=parsed.voice, model=self.cfg.model, seed=msg.seed, language=parsed.language,
                    chunk_duration_ms=parsed.chunk_ms, channels=1))
                continue
            if isinstance(msg, p.Failed):
                raise self._failure(msg)
            if isinstance(msg, p.Frame):
                frames += 1
                pcm = msg.pcm[:max(0, parsed.max_samples - samples)]
                samples += pcm.size
                chunks = audio.push(pcm)
                done = samples >= parsed.max_samples
                if done:  # the server's (or the client's) duration bound: stop the worker, cut exactly here
                    self.batcher.cancel(key)
                    finish = tts_pb2.FINISH_REASON_MAX_DURATION
                    chunks += audio.finish()
            else:  # Finished
                if msg.reason == "max_frames":
                    finish = tts_pb2.FINISH_REASON_MAX_DURATION
                chunks, done = audio.finish(), True
            for chunk in chunks:
                now = time.monotonic()
                if first_audio is None:
                    first_audio = now
                    self.metrics.time_to_first_audio.labels(priority=PRIORITY_NAMES[parsed.priority]).observe(now - received)
                elif last_chunk is not None:
                    self.metrics.chunk_interval.observe(now - last_chunk)
                last_chunk = now
                yield tts_pb2.SynthesizeResponse(audio=tts_pb2.AudioChunk(
                    audio=chunk.audio, sequence_number=chunk.sequence_number, start_sample=chunk.start_sample,
                    duration=duration_pb2.Duration(seconds=chunk.duration_ns // 1_000_000_000,
                                                   nanos=chunk.duration_ns % 1_000_000_000)))
                self.metrics.audio_chunks.labels(encoding=enc).inc()
            if isinstance(msg, p.Frame):
                stream.frame_consumed()
            if done:
                break
        total = time.monotonic() - received
        audio_s = samples / NATIVE_SAMPLE_RATE
        self.metrics.audio_seconds.labels(encoding=enc).inc(audio_s)
        self.metrics.generated_frames.inc(frames)
        self.metrics.input_characters.inc(len(parsed.request.text))
        if audio_s > 0:
            self.metrics.real_time_factor.observe(total / audio_s)
        ttfa = (first_audio - received) if first_audio else total
        log.info("request.finished", frames=frames, audio_seconds=round(audio_s, 3), queue_s=round(queue_s, 4),
                 time_to_first_audio_s=round(ttfa, 4), total_s=round(total, 3),
                 finish_reason=tts_pb2.FinishReason.Name(finish))
        yield tts_pb2.SynthesizeResponse(finished=tts_pb2.SynthesisFinished(finish_reason=finish, usage=tts_pb2.Usage(
            input_characters=len(parsed.request.text), generated_frames=frames, audio_duration=_duration(audio_s),
            queue_time=_duration(queue_s), time_to_first_audio=_duration(ttfa), processing_time=_duration(total))))

    def _failure(self, msg: p.Failed) -> errors.ServiceError:
        if msg.kind == "invalid":
            return worker_violations(msg.violations)
        if msg.kind == "worker_restarted":
            return errors.unavailable(f"{msg.message}; any audio received is incomplete", "WORKER_RESTART", 2.0)
        return errors.internal()

    def _rejected(self, e: errors.ServiceError) -> None:
        # Label values are those server/metrics.py creates up front (REJECT_REASONS), so dashboards see the counts.
        reason = {"QUEUE_FULL": "queue_full", "QUEUE_TIMEOUT": "queue_timeout", "NOT_READY": "not_ready",
                  "SHUTTING_DOWN": "shutting_down"}.get(e.reason or "")
        if e.code == grpc.StatusCode.INVALID_ARGUMENT:
            reason = "invalid_argument"
        if reason:
            self.metrics.requests_rejected.labels(reason=reason).inc()

    def _info(self) -> p.WorkerInfo:
        info = self.pool.info
        if info is None:
            raise errors.unavailable("the model is still loading", "NOT_READY", retry_after_s=5.0)
        return info

    # ------------------------------------------------------------------ unary RPCs
    async def GetServiceInfo(self, request, context):
        return await self._unary("GetServiceInfo", context, self._service_info)

    async def ListVoices(self, request, context):
        return await self._unary("ListVoices", context, lambda: self._list_voices(request.language))

    async def RegisterVoice(self, request, context):
        return await self._unary("RegisterVoice", context, lambda: self._register_voice(request))

    async def DeleteVoice(self, request, context):
        return await self._unary("DeleteVoice", context, lambda: self._delete_voice(request.name))

    async def _unary(self, method: str, context, handler):
        request_id = request_id_from_metadata(context.invocation_metadata())
        code = grpc.StatusCode.OK
        with request_context(request_id, method=method):
            try:
                result = handler()
                return await result if asyncio.iscoroutine(result) else result
            except errors.ServiceError as e:
                code = e.code
                log.info("request.failed", code=e.code.name, error=e.message)
                await errors.abort(context, e)
            except Exception:  # noqa: BLE001
                code = grpc.StatusCode.INTERNAL
                log.exception("request.internal_error")
                await errors.abort(context, errors.internal())
            finally:
                self.metrics.requests.labels(method=method, code=code.name).inc()

    def _service_info(self) -> tts_pb2.GetServiceInfoResponse:
        info = self._info()
        return tts_pb2.GetServiceInfoResponse(
            model=self.cfg.model, model_type=info.model_type, server_version=VERSION,
            native_sample_rate_hertz=info.sample_rate,
            audio_formats=[tts_pb2.SupportedAudioFormat(encoding=int(s.encoding), sample_rates_hertz=list(s.sample_rates),
                                                        default_sample_rate_hertz=s.default_sample_rate)
                           for s in supported_formats()],
            min_chunk_duration_ms=20, max_chunk_duration_ms=100, default_chunk_duration_ms=self.cfg.default_chunk_ms,
            max_text_characters=self.cfg.max_text_chars, max_instructions_characters=MAX_INSTRUCT_CHARS,
            max_audio_duration_ms=int(self.cfg.max_audio_seconds * 1000), languages=info.languages,
            supports_instructions=info.accepts_instruct, supports_voice_cloning=info.model_type == "base",
            frame_duration_ms=FRAME_MS)

    async def _list_voices(self, language: str) -> tts_pb2.ListVoicesResponse:
        info = self._info()
        wanted = language.strip().lower()
        if wanted and wanted not in info.languages:
            raise errors.invalid([("language", f"{language!r} is not supported")])
        languages = [wanted] if wanted else info.languages
        # Sorted by name as the proto promises (the checkpoint lists its speakers in its own order; that order
        # only decides the default voice).
        voices = [tts_pb2.Voice(name=s, type=tts_pb2.VOICE_TYPE_BUILT_IN, languages=languages,
                                natural_sample_rate_hertz=info.sample_rate) for s in sorted(info.speakers)]
        if info.model_type == "base":
            result = await self._voice_command(p.VoiceCommand("", "list"))
            voices += [self._voice_pb(v, info.languages, info.sample_rate) for v in result.voices
                       if not wanted or not v.get("languages") or wanted in v["languages"]]
        return tts_pb2.ListVoicesResponse(voices=voices)

    async def _register_voice(self, request: tts_pb2.RegisterVoiceRequest) -> tts_pb2.RegisterVoiceResponse:
        info = self._info()
        if info.model_type != "base":
            raise errors.ServiceError(grpc.StatusCode.FAILED_PRECONDITION,
                                      f"this {info.model_type} model cannot clone voices; serve a Base checkpoint",
                                      reason="CLONING_UNSUPPORTED")
        bad = []
        if not request.reference_audio:
            bad.append(("reference_audio", "must not be empty"))
        elif len(request.reference_audio) > REFERENCE_AUDIO_MAX_BYTES:
            bad.append(("reference_audio", f"is larger than {REFERENCE_AUDIO_MAX_BYTES} bytes"))
        audio, problem = _reference_audio(request)
        if problem:
            bad.append(problem)
        languages = tuple(sorted({x.strip().lower() for x in request.languages}))
        unknown = [x for x in languages if x not in info.languages]
        if unknown:
            bad.append(("languages", f"{', '.join(unknown)} not supported; choose from {', '.join(info.languages)}"))
        if bad:
            raise errors.invalid(bad)
        result = await self._voice_command(p.VoiceCommand(
            "", "register", name=request.name.strip().lower(), audio=audio, ref_text=request.reference_text or None,
            x_vector_only=request.x_vector_only, description=request.description, languages=languages))
        return tts_pb2.RegisterVoiceResponse(voice=self._voice_pb(result.voices[0], info.languages, info.sample_rate))

    async def _delete_voice(self, name: str) -> tts_pb2.DeleteVoiceResponse:
        info = self._info()
        if info.model_type != "base":
            raise errors.ServiceError(grpc.StatusCode.FAILED_PRECONDITION,
                                      f"this {info.model_type} model has no registered voices",
                                      reason="CLONING_UNSUPPORTED")
        await self._voice_command(p.VoiceCommand("", "delete", name=name.strip().lower()))
        return tts_pb2.DeleteVoiceResponse()

    async def _voice_command(self, command: p.VoiceCommand) -> p.VoiceResult:
        self._voice_ids += 1
        command = replace(command, request_id=f"voice-{self._voice_ids}")
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        try:
            self.pool.voice_command(command, lambda msg: loop.call_soon_threadsafe(
                lambda: done.done() or done.set_result(msg)))
        except (NoCapacity, PoolFailed) as e:
            raise errors.unavailable(f"no worker can take voice commands right now ({e})", "NOT_READY", 5.0) from e
        msg = await done
        if isinstance(msg, p.Failed):
            raise self._failure(msg)
        if msg.error_kind is None:
            return msg
        if msg.error_kind == "not_found":
            raise errors.ServiceError(grpc.StatusCode.NOT_FOUND, msg.error, reason="VOICE_NOT_FOUND")
        if msg.error_kind == "exists":
            raise errors.ServiceError(grpc.StatusCode.ALREADY_EXISTS, msg.error, reason="VOICE_EXISTS")
        if msg.error_kind in ("invalid", "unsupported"):
            field = {"ref_audio": "reference_audio", "ref_text": "reference_text"}.get(msg.error_field or "",
                                                                                   msg.error_field or "name")
            raise errors.invalid([(field, msg.error)])
        raise errors.internal()

    @staticmethod
    def _voice_pb(v: dict, model_languages: list[str], rate: int) -> tts_pb2.Voice:
        created = timestamp_pb2.Timestamp()
        if v.get("created"):
            created.FromJsonString(v["created"])
        return tts_pb2.Voice(name=v["name"], type=tts_pb2.VOICE_TYPE_REGISTERED,
                             languages=v.get("languages") or model_languages,
                             description=v.get("description", ""), natural_sample_rate_hertz=rate,
                             create_time=created, x_vector_only=v["mode"] == "x_vector")


def _reference_audio(request: tts_pb2.RegisterVoiceRequest):
    """(audio for the worker, violation or None): encoded files pass through; raw PCM becomes samples."""
    import numpy as np

    fmt = request.reference_audio_format
    if fmt.encoding == tts_pb2.AUDIO_ENCODING_UNSPECIFIED:
        return request.reference_audio, None
    dtypes = {tts_pb2.AUDIO_ENCODING_PCM_S16LE: ("<i2", 32768.0), tts_pb2.AUDIO_ENCODING_PCM_F32LE: ("<f4", 1.0)}
    if fmt.encoding not in dtypes:
        return None, ("reference_audio_format.encoding", "use UNSPECIFIED (a WAV/FLAC/OGG file) or raw PCM S16LE/F32LE")
    if fmt.sample_rate_hertz <= 0:
        return None, ("reference_audio_format.sample_rate_hertz", "is required for raw PCM")
    dtype, scale = dtypes[fmt.encoding]
    if len(request.reference_audio) % np.dtype(dtype).itemsize:
        return None, ("reference_audio", "raw PCM length is not a whole number of samples")
    samples = np.frombuffer(request.reference_audio, dtype=dtype).astype(np.float32) / scale
    return (samples, fmt.sample_rate_hertz), None
