"""The HTTP API (OpenAI-compatible) and the playground: a Starlette app of thin handlers over the server's
plain pieces, served in the server process next to gRPC (server/doors/http_server.py runs it on the same
event loop).

    POST   /v1/audio/speech          OpenAI's speech body -> audio (chunked, while generated) or SSE
    GET    /v1/audio/voices          built-in speakers, registered voices, aliases
    POST   /v1/audio/voices          register a voice (multipart: name, audio_sample, ...; Base checkpoints)
    DELETE /v1/audio/voices/{name}
    GET    /v1/models, /v1/models/{id}, /v1/audio/models
    GET    /health (alive), /ready (a warm worker, not draining)
    GET    /  and /playground/*      the playground (static files, no build step)
    WS     /v1/audio/speech/stream   streaming text in, audio out (server/doors/websocket.py)

A handler parses its body (server/doors/http_messages.py), prepares it (the rulebook, contract/rules.py, and
the text front end: server/calls.py `prepare`), hands it to a `SynthesisCall` or to `Voices`, and writes their
results back. Every failure leaves as an OpenAI error body with the status of its `ServiceError`
(http_messages.error_body, the one mapping). Middleware, outermost first: request ids (x-request-id in, out,
and on every log line), CORS (only when configured), bearer tokens (server/auth.py's TokenSet; /health,
/ready and the playground's files are exempt; a WebSocket upgrade without the header is let through, its
session.config must carry the token), the body size limit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from contract.rules import Violation
from server import errors
from server.admission import Admission
from server.auth import TokenSet
from server.calls import SynthesisCall, capabilities, count_rejection, prepare
from server.config import ServerConfig
from server.doors import http_messages as m
from server.doors.websocket import WS_DOOR, SpeechSocket, serve_socket
from server.errors import ServiceError, Status
from server.log import get_logger, request_context, request_id_from_metadata
from server.metrics import Metrics
from server.responses import Started
from server.voices import Voices
from workers.pool import WorkerPool

log = get_logger("server.http")
DOOR = "http"  # the metric label and log field of this front door
PLAYGROUND = Path(__file__).resolve().parent / "playground"
# No token needed here (nor under /playground/): probes, and the page that asks for the token.
PUBLIC_PATHS = frozenset({"/health", "/ready", "/", "/favicon.ico"})
AUTH_MESSAGES = {"MISSING_TOKEN": "missing 'Authorization: Bearer <token>' header",
                 "MALFORMED_AUTHORIZATION": "the Authorization header must be 'Bearer <token>'",
                 "INVALID_TOKEN": "invalid token",
                 "INSUFFICIENT_SCOPE": "this token's scopes do not allow this operation (registering or deleting "
                                       "voices needs an admin token)"}


def operation(method: str, path: str) -> str:
    """The operation a route performs, named as the gRPC method is (server/auth.py SCOPE_OF): the scope it needs.
    A path with no route counts as GetServiceInfo, so that a valid token gets its 404 rather than a 403."""
    if path == "/v1/audio/speech/stream":
        return "StreamingSynthesize"  # the WebSocket door
    if path == "/v1/audio/speech":
        return "Synthesize"
    if path == "/v1/audio/voices":
        return "RegisterVoice" if method == "POST" else "ListVoices"
    if path.startswith("/v1/audio/voices/"):
        return "DeleteVoice" if method == "DELETE" else "ListVoices"
    return "GetServiceInfo"


class StreamAborted(Exception):
    """Raised out of an audio body that failed after its first bytes: the server closes the connection without
    the last chunk, so the client sees an incomplete body (HTTP's only way to say so once 200 was sent)."""


class _QuietAborts(logging.Filter):
    """uvicorn logs every exception out of the app with its traceback; an aborted stream is logged already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], StreamAborted))


logging.getLogger("uvicorn.error").addFilter(_QuietAborts())


def error_response(err: ServiceError) -> JSONResponse:
    status, body, headers = m.error_body(err)
    return JSONResponse(body, status_code=status, headers=headers)


class HttpApi:
    """The handlers and their shared state; `app()` builds the ASGI application."""

    def __init__(self, cfg: ServerConfig, pool: WorkerPool, admission: Admission, voices: Voices,
                 metrics: Metrics, tokens: TokenSet | None, draining: Callable[[], bool]):
        self.cfg, self.pool, self.admission, self.voices, self.metrics = cfg, pool, admission, voices, metrics
        self.tokens, self.draining = tokens, draining
        self.aliases = cfg.voice_alias_map
        self.created = int(time.time())
        self.streams = 0  # speech responses and WebSockets open (the drain waits for them)
        self.sockets: set[SpeechSocket] = set()
        self.idle = asyncio.Event()
        self.idle.set()

    def app(self) -> Starlette:
        routes = [
            Route("/v1/audio/speech", self.speech, methods=["POST"]),
            WebSocketRoute("/v1/audio/speech/stream", self.speech_stream),
            Route("/v1/audio/voices", self.list_voices, methods=["GET"]),
            Route("/v1/audio/voices", self.register_voice, methods=["POST"]),
            Route("/v1/audio/voices/{name}", self.delete_voice, methods=["DELETE"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/models/{model:path}", self.model, methods=["GET"]),
            Route("/v1/audio/models", self.audio_models, methods=["GET"]),  # Open WebUI reads this list
            Route("/health", self.health, methods=["GET"]),
            Route("/ready", self.ready, methods=["GET"]),
            Route("/", self.playground, methods=["GET"]),
            Mount("/playground", StaticFiles(directory=PLAYGROUND), name="playground"),
        ]
        middleware = [Middleware(RequestIds)]
        if self.cfg.cors_origin_list:
            middleware.append(Middleware(
                CORSMiddleware, allow_origins=list(self.cfg.cors_origin_list),
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=["authorization", "content-type", "x-request-id"],
                expose_headers=["x-request-id", "x-seed", "x-voice", "x-language", "x-model",
                                "x-sample-rate"]))
        if self.tokens is not None:
            def rejected(door: str) -> None:
                self.metrics.requests_rejected.labels(door=door, reason="unauthenticated").inc()

            middleware.append(Middleware(BearerAuth, tokens=self.tokens, on_reject=rejected))
        middleware.append(Middleware(BodyLimit, limit=self.cfg.max_message_bytes))
        middleware.insert(0, Middleware(HeaderLimit, limit=self.cfg.max_metadata_bytes))
        return Starlette(routes=routes, middleware=middleware,
                         exception_handlers={HTTPException: _http_exception, Exception: _internal_error})

    def caps(self):
        return capabilities(self.pool, self.cfg.limits)

    def count_request(self, method: str, code: str, received: float | None = None) -> None:
        self.metrics.requests.labels(door=DOOR, method=method, code=code).inc()
        if received is not None:
            self.metrics.request_duration.labels(door=DOOR, method=method, code=code).observe(
                time.monotonic() - received)

    # ------------------------------------------------------------------ speech
    async def speech(self, request: Request) -> Response:
        received = time.monotonic()
        request_id = request.state.request_id
        try:
            caps = self.caps()
            parsed = m.speech_request(m.parse_json_object(await request.body()), request_id, self.aliases)
            req = prepare(parsed.request, caps)  # the rulebook, then the text front end (segments)
            log.info("request.received", method="Synthesize", characters=len(req.text), voice=req.voice,
                     encoding=req.audio_format.encoding.name, sample_rate=req.audio_format.sample_rate,
                     speed=req.speed, stream_format=parsed.stream_format, priority=int(req.priority))
            call = SynthesisCall(req, caps, self.admission, self.metrics, received, door=DOOR)
            events = call.events()
            # The status line waits for `started`: a refusal in the queue or by the engine (an unknown
            # registered voice, a prompt too long) is still an ordinary HTTP error. A client that leaves
            # meanwhile leaves the queue (or stops its generation) at once.
            try:
                started = await _until_disconnect(anext(events), request.receive)
            except _ClientGone:
                call.close()
                await events.aclose()
                self.metrics.requests_cancelled.labels(door=DOOR, reason="client").inc()
                self.count_request("Synthesize", Status.CANCELLED.name, received)
                log.info("request.cancelled", reason="client")
                return Response(status_code=499)
            except StopAsyncIteration:
                raise errors.internal() from None
            if not isinstance(started, Started):
                raise errors.internal()
            return SpeechStream(self, call, events, started, parsed, received)
        except ServiceError as e:
            count_rejection(self.metrics, e, DOOR)
            self.count_request("Synthesize", e.status.name, received)
            log.info("request.failed", method="Synthesize", status=m.http_status(e), reason=e.reason,
                     error=e.message)
            return error_response(e)

    def stream_began(self) -> None:
        self.streams += 1
        self.idle.clear()

    def stream_ended(self) -> None:
        self.streams -= 1
        if self.streams == 0:
            self.idle.set()

    # ------------------------------------------------------------------ speech over a WebSocket
    async def speech_stream(self, ws: WebSocket) -> None:
        await serve_socket(self, ws)

    def socket_opened(self, socket: SpeechSocket) -> None:
        self.sockets.add(socket)
        self.stream_began()

    def socket_closed(self, socket: SpeechSocket) -> None:
        self.sockets.discard(socket)
        self.stream_ended()

    def drain_sockets(self) -> None:
        """Shutting down: every WebSocket closes (1001) once the turn it is speaking, if any, is done."""
        for socket in list(self.sockets):
            socket.drain()

    # ------------------------------------------------------------------ voices, models
    async def _unary(self, method: str, handle: Callable[[], Awaitable[Response]]) -> Response:
        received = time.monotonic()
        code = "OK"
        try:
            return await handle()
        except ServiceError as e:
            code = e.status.name
            log.info("request.failed", method=method, status=m.http_status(e), reason=e.reason,
                     error=e.message)
            return error_response(e)
        finally:
            self.count_request(method, code, received)

    async def list_voices(self, request: Request) -> Response:
        async def handle():
            voices = await self.voices.list(self.caps(), request.query_params.get("language", ""))
            return JSONResponse(m.voices_json(voices, self.aliases))

        return await self._unary("ListVoices", handle)

    async def register_voice(self, request: Request) -> Response:
        async def handle():
            caps = self.caps()
            if not request.headers.get("content-type", "").startswith("multipart/form-data"):
                raise errors.invalid([Violation("body", "must be multipart/form-data with the fields "
                                                        f"{', '.join(m.VOICE_FORM_FIELDS)}")])
            async with request.form(max_files=1, max_fields=len(m.VOICE_FORM_FIELDS) + 4) as form:
                fields = {k: form.getlist(k) for k in form.keys()}
                upload = form.get("audio_sample")
                audio = await upload.read() if isinstance(upload, UploadFile) else None
            f = m.voice_form(fields, audio)
            voice = await self.voices.register(
                caps, f.name, f.audio, reference_text=f.reference_text, x_vector_only=f.x_vector_only,
                description=f.description, languages=f.languages, problems=f.problems)
            log.info("voice.registered", voice=voice.name, x_vector_only=voice.x_vector_only)
            return JSONResponse(m.voice_json(voice), status_code=201)

        return await self._unary("RegisterVoice", handle)

    async def delete_voice(self, request: Request) -> Response:
        async def handle():
            name = request.path_params["name"]
            await self.voices.delete(self.caps(), name)
            return JSONResponse(m.voice_deleted_json(name.strip().lower()))

        return await self._unary("DeleteVoice", handle)

    async def models(self, request: Request) -> Response:
        async def handle():
            return JSONResponse({"object": "list", "data": [m.model_json(self.caps(), self.created)]})

        return await self._unary("GetServiceInfo", handle)

    async def model(self, request: Request) -> Response:
        async def handle():
            caps = self.caps()
            if request.path_params["model"] != caps.model:
                raise ServiceError(Status.NOT_FOUND, f"this server serves {caps.model!r} only",
                                   reason="MODEL_NOT_FOUND")
            return JSONResponse(m.model_json(caps, self.created))

        return await self._unary("GetServiceInfo", handle)

    async def audio_models(self, request: Request) -> Response:
        async def handle():
            caps = self.caps()
            return JSONResponse({"models": [{"id": caps.model, "name": caps.model}]})

        return await self._unary("GetServiceInfo", handle)

    # ------------------------------------------------------------------ probes, playground
    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def ready(self, request: Request) -> Response:
        if self.draining():
            err = errors.unavailable("the server is shutting down", "SHUTTING_DOWN")
        elif self.pool.ready_workers() == 0:
            err = errors.unavailable("no worker is ready (loading or restarting)", "NOT_READY", 5.0)
        else:
            return JSONResponse({"status": "ready"})
        return error_response(err)

    async def playground(self, request: Request) -> Response:
        return FileResponse(PLAYGROUND / "index.html", headers={"cache-control": "no-cache"})


class SpeechStream(StreamingResponse):
    """A speech response after `started`: the audio (or SSE events) as the call yields them. Whatever ends it
    (the last event, a failure, the client leaving, the server's shutdown) closes the call, the one place a
    generation stops early."""

    def __init__(self, api: HttpApi, call: SynthesisCall, events: AsyncIterator, started: Started,
                 parsed: m.SpeechRequest, received: float):
        self.api, self.call, self.events, self.received = api, call, events, received
        self.sse = parsed.stream_format == "sse"
        self.code: str | None = None  # the outcome once known: a Status name or OK
        fmt = started.audio_format
        headers = {"x-seed": str(started.seed), "x-voice": started.voice, "x-language": started.language,
                   "x-model": parsed.model or started.model, "x-sample-rate": str(fmt.sample_rate),
                   # no proxy buffering (nginx), no caching: this is a live stream
                   "cache-control": "no-store", "x-accel-buffering": "no"}
        media_type = "text/event-stream" if self.sse else m.CONTENT_TYPES[parsed.response_format]
        super().__init__(self._body(), media_type=media_type, headers=headers)

    async def _body(self) -> AsyncIterator[bytes]:
        render = m.sse_bytes if self.sse else m.audio_bytes
        try:
            async for event in self.events:
                data = render(event)
                if data:
                    yield data
            self.code = "OK"
        except Exception as e:  # noqa: BLE001 - a failure after the status line: tell the client the only way left
            err = e if isinstance(e, ServiceError) else errors.internal()
            self.code = err.status.name
            if isinstance(e, ServiceError):
                log.info("request.failed", method="Synthesize", reason=err.reason, error=err.message,
                         after_audio=True)
            else:
                log.exception("request.internal_error")
            if self.sse:
                yield m.sse_error(err)
            else:
                raise StreamAborted(err.message) from None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.api.stream_began()
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.call.close()
            await self.body_iterator.aclose()  # type: ignore[attr-defined]
            await self.events.aclose()  # type: ignore[attr-defined]
            if self.code is None:  # cancelled: the client left, or the grace period of a shutdown ran out
                reason = "shutdown" if self.api.draining() else "client"
                self.api.metrics.requests_cancelled.labels(door=DOOR, reason=reason).inc()
                log.info("request.cancelled", reason=reason)
            self.api.count_request("Synthesize", self.code or Status.CANCELLED.name, self.received)
            self.api.stream_ended()


class _ClientGone(Exception):
    pass


async def _until_disconnect(awaitable: Awaitable, receive: Receive):
    """`awaitable`'s result, or _ClientGone if the client disconnects first (the body must have been read)."""
    work = asyncio.ensure_future(awaitable)

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    watch = asyncio.ensure_future(gone())
    try:
        await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
    if work.done():
        return work.result()
    work.cancel()
    try:
        await work
    except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the client is gone; nobody reads this result
        pass
    raise _ClientGone


# ------------------------------------------------------------------ middleware (plain ASGI: nothing buffered)
class RequestIds:
    """x-request-id from the client (or a new one) on the request's state, its response and its log lines."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        request_id = request_id_from_metadata(headers)
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            # the response's headers: an HTTP response, a WebSocket's upgrade or its refusal
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.http.response.start"):
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        with request_context(request_id, door=DOOR, path=scope["path"]):
            await self.app(scope, receive, send_with_id)


class BearerAuth:
    """401 with an OpenAI error body unless the request carries a valid bearer token (public paths exempt); 403
    when the token lacks the scope of the route's operation (server/auth.py's one check). A WebSocket upgrade is
    refused the same way when it has an Authorization header that does not pass; without one it is let through
    (browsers cannot set it): the socket's session.config must then carry the token (server/doors/websocket.py
    checks it with the same function), and the socket costs nothing until it does."""

    def __init__(self, app: ASGIApp, tokens: TokenSet, on_reject: Callable[[str], None]):
        self.app, self.tokens, self.on_reject = app, tokens, on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        kind = scope["type"]
        if kind not in ("http", "websocket") or path in PUBLIC_PATHS or path.startswith("/playground/"):
            return await self.app(scope, receive, send)
        values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"]
        if kind == "websocket" and not values:
            return await self.app(scope, receive, send)
        reason = self.tokens.authorize(values, operation(scope.get("method", "GET"), path))
        if reason is None:
            scope.setdefault("state", {})["authenticated"] = True
            return await self.app(scope, receive, send)
        self.on_reject(DOOR if kind == "http" else WS_DOOR)
        log.info("request.unauthenticated", reason=reason)  # the reason only: never the presented token
        status = Status.PERMISSION_DENIED if reason == "INSUFFICIENT_SCOPE" else Status.UNAUTHENTICATED
        await error_response(ServiceError(status, AUTH_MESSAGES[reason], reason=reason))(scope, receive, send)


class HeaderLimit:
    """A request whose header block (names and values) is over `limit` bytes (max_metadata_bytes, the same bound
    as gRPC metadata) is refused with 431 before anything reads it further."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            size = sum(len(k) + len(v) for k, v in scope["headers"])
            if size > self.limit:  # a WebSocket upgrade too: refused with the same 431 before it is accepted
                return await error_response(m.headers_too_large(self.limit))(scope, receive, send)
        await self.app(scope, receive, send)


class BodyLimit:
    """Request bodies above `limit` bytes (the server's max_message_bytes, as for gRPC) are refused with 413:
    at once when Content-Length says so, else as soon as the bytes read pass it."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await error_response(m.body_too_large(self.limit))(scope, receive, send)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise m.body_too_large(self.limit)  # inside the handler's read: it answers 413
            return message

        await self.app(scope, limited, send)


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, method not allowed, a malformed form) in OpenAI's shape."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    message = exc.detail if exc.status_code not in (404, 405) else \
        f"{exc.detail}: {request.method} {request.url.path} (the API is under /v1; see docs/api.md)"
    param = "body" if exc.status_code == 400 else None  # a malformed form or body: the body is the field at fault
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: 500 with a sanitised message (the log has the traceback and the request id)."""
    if not isinstance(exc, StreamAborted):
        log.error("request.internal_error", exc_info=exc)
    return error_response(errors.internal())
