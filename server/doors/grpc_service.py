"""The gRPC service `qwen3tts.v1.TextToSpeechService`: thin handlers over the server's plain pieces.

A handler parses its message (server/doors/grpc_messages.py), resolves it against the model's capabilities
(contract/rules.py), hands it to its `SynthesisCall` or to `Voices`, and writes their results back as messages.
Every failure leaves as the status of its `ServiceError` (server/doors/grpc_errors.py); every log line of a
request carries its request id (never its text at info level). No torch here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import grpc

from contract.rules import Violation
from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from server import errors
from server.admission import Admission
from server.calls import SynthesisCall, capabilities, count_rejection, prepare, prepare_session
from server.config import ServerConfig
from server.doors import grpc_messages as m
from server.doors.grpc_errors import abort
from server.log import get_logger, request_context, request_id_from_metadata
from server.metrics import Metrics
from server.sessions import StreamingSession
from server.voices import Voices
from workers.pool import WorkerPool

log = get_logger("server.grpc")
DOOR = "grpc"  # the metric label and log field of this front door


class TextToSpeechService(tts_pb2_grpc.TextToSpeechServiceServicer):
    def __init__(self, cfg: ServerConfig, pool: WorkerPool, admission: Admission, voices: Voices, metrics: Metrics):
        self.cfg, self.pool, self.admission, self.voices, self.metrics = cfg, pool, admission, voices, metrics

    def _caps(self):
        return capabilities(self.pool, self.cfg.limits)

    # ------------------------------------------------------------------ Synthesize
    async def Synthesize(self, request: tts_pb2.SynthesizeRequest, context: grpc.aio.ServicerContext):
        request_id = request_id_from_metadata(context.invocation_metadata())
        async with self._streaming_rpc("Synthesize", request_id, context) as received:
            caps = self._caps()
            req = prepare(m.synthesis_request(request, request_id), caps)
            call = SynthesisCall(req, caps, self.admission, self.metrics, received, door=DOOR)
            # The one place a generation is stopped early: when the RPC ends for any reason (cancel, deadline,
            # abort). It also covers a client that goes away while a write is blocked: grpc.aio then abandons
            # this generator without raising in it, and the paused sequence would keep its slot.
            context.add_done_callback(lambda _: call.close())
            await context.send_initial_metadata((("x-request-id", request_id),))
            log.info("request.received", characters=len(req.text), segments=len(req.segments), voice=req.voice,
                     encoding=req.audio_format.encoding.name, sample_rate=req.audio_format.sample_rate,
                     chunk_ms=req.chunk_duration_ms, priority=int(req.priority))
            async for event in call.events():
                yield m.response(event)

    # ------------------------------------------------------------------ StreamingSynthesize
    async def StreamingSynthesize(self, request_iterator, context: grpc.aio.ServicerContext):
        request_id = request_id_from_metadata(context.invocation_metadata())
        reader = None
        async with self._streaming_rpc("StreamingSynthesize", request_id, context) as received:
            try:
                first = await anext(aiter(request_iterator), None)
                if first is None or first.WhichOneof("input") != "config":
                    raise errors.invalid([Violation("config", "the first message must be the session's config")])
                caps = self._caps()
                config = prepare_session(m.synthesis_request(first.config, request_id), caps)
                session = StreamingSession(config, caps, self.admission, self.metrics, self.cfg.sessions, received)
                session.start()
                context.add_done_callback(lambda _: session.close())  # as in Synthesize: the one early stop
                await context.send_initial_metadata((("x-request-id", request_id),))
                log.info("session.started", voice=config.voice, encoding=config.audio_format.encoding.name)
                reader = asyncio.ensure_future(_read_input(request_iterator, session))
                async for event in session.events():
                    yield m.response(event)
            finally:
                if reader is not None:
                    reader.cancel()

    @contextlib.asynccontextmanager
    async def _streaming_rpc(self, method: str, request_id: str, context: grpc.aio.ServicerContext):
        """A streaming RPC's request scope: its failures as statuses (never UNKNOWN, never a traceback), its
        cancellation and deadline counted, its metrics and log lines under its request id."""
        received = time.monotonic()
        code = grpc.StatusCode.OK
        with request_context(request_id, door=DOOR, method=method):
            try:
                yield received
            except errors.ServiceError as e:
                code = grpc.StatusCode[e.status.name]
                count_rejection(self.metrics, e, DOOR)
                log.info("request.failed", code=code.name, reason=e.reason, error=e.message)
                await abort(context, e)
            except (asyncio.CancelledError, GeneratorExit):  # GeneratorExit: abandoned, see Synthesize
                remaining = context.time_remaining()
                reason = "deadline" if remaining is not None and remaining <= 0.01 else "client"
                # requests_total's code is what the client saw: a passed deadline is DEADLINE_EXCEEDED
                code = grpc.StatusCode.DEADLINE_EXCEEDED if reason == "deadline" else grpc.StatusCode.CANCELLED
                self.metrics.requests_cancelled.labels(door=DOOR, reason=reason).inc()
                log.info("request.cancelled", reason=reason)
                raise
            except Exception:  # noqa: BLE001 - never UNKNOWN, never a traceback to the client
                code = grpc.StatusCode.INTERNAL
                log.exception("request.internal_error")
                await abort(context, errors.internal())
            finally:
                elapsed = time.monotonic() - received
                self.metrics.requests.labels(door=DOOR, method=method, code=code.name).inc()
                self.metrics.request_duration.labels(door=DOOR, method=method, code=code.name).observe(elapsed)

    # ------------------------------------------------------------------ unary RPCs
    async def GetServiceInfo(self, request, context):
        async def handle():
            caps, info = self._caps(), self.pool.info
            return m.service_info(caps, info.precision if info is not None else None)

        return await self._unary("GetServiceInfo", context, handle)

    async def ListVoices(self, request, context):
        async def handle():
            voices = await self.voices.list(self._caps(), request.language)
            return tts_pb2.ListVoicesResponse(voices=[m.voice(v) for v in voices])

        return await self._unary("ListVoices", context, handle)

    async def RegisterVoice(self, request, context):
        async def handle():
            audio, problems = m.reference_audio(request)
            voice = await self.voices.register(
                self._caps(), request.name, audio, reference_text=request.reference_text,
                x_vector_only=request.x_vector_only, description=request.description,
                languages=tuple(request.languages), problems=tuple(problems))
            return tts_pb2.RegisterVoiceResponse(voice=m.voice(voice))

        return await self._unary("RegisterVoice", context, handle)

    async def DeleteVoice(self, request, context):
        async def handle():
            await self.voices.delete(self._caps(), request.name)
            return tts_pb2.DeleteVoiceResponse()

        return await self._unary("DeleteVoice", context, handle)

    async def _unary(self, method: str, context, handle):
        request_id = request_id_from_metadata(context.invocation_metadata())
        code = grpc.StatusCode.OK
        with request_context(request_id, door=DOOR, method=method):
            try:
                return await handle()
            except errors.ServiceError as e:
                code = grpc.StatusCode[e.status.name]
                log.info("request.failed", code=code.name, error=e.message)
                await abort(context, e)
            except Exception:  # noqa: BLE001
                code = grpc.StatusCode.INTERNAL
                log.exception("request.internal_error")
                await abort(context, errors.internal())
            finally:
                self.metrics.requests.labels(door=DOOR, method=method, code=code.name).inc()


async def _read_input(request_iterator, session: StreamingSession) -> None:
    """The input side of StreamingSynthesize: text deltas and flushes into the session; half-close ends it."""
    try:
        async for msg in request_iterator:
            match msg.WhichOneof("input"):
                case "text":
                    session.feed(msg.text)
                case "flush":
                    session.flush()
                case _:
                    raise errors.invalid([Violation("config", "only the first message may be the config")])
        session.end_turn(last=True)
    except errors.ServiceError as e:
        session.fail(e)
