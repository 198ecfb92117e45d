"""The WebSocket door: `/v1/audio/speech/stream` on the HTTP port, a streaming session (server/sessions.py) over
JSON text messages and binary audio frames (the wire format: server/doors/websocket_messages.py).

    await SpeechSocket(api, websocket, request_id).run()      # one per connection; returns when it is closed

One socket is one session, turn after turn. Two tasks drive it: the reader puts the client's messages into the
session (a bad message is answered with an `error` event and ignored), the writer sends the session's events;
whichever ends first ends the socket, and the session is closed in every case (the one place its generation
stops early). Errors the session cannot go on from (a bad session.config, no valid token, too much text, the
idle-session timeout, a worker's failure) are sent as an `error` event, then the socket is closed with 4000 + the
error's HTTP status. Auth: the HTTP door's bearer tokens, in the upgrade's Authorization header (checked before
the upgrade, by the HTTP middleware) or, for browsers, which cannot set that header, as session.config's `token`;
never in the URL, where proxies and browser histories would keep it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import auth, errors
from server.calls import count_rejection, prepare_session
from server.doors import websocket_messages as wm
from server.errors import ServiceError, Status
from server.log import get_logger, request_context
from server.sessions import StreamingSession

if TYPE_CHECKING:
    from server.doors.http import HttpApi

log = get_logger("server.websocket")
DOOR = WS_DOOR = "websocket"  # the metric label and log field of this front door
METHOD = "StreamingSynthesize"  # the operation, named as on the gRPC door (one query covers both)
CONFIG_TIMEOUT_S = 10.0  # the first message must come this soon after the upgrade (unauthenticated sockets too)


async def serve_socket(api: HttpApi, ws: WebSocket) -> None:
    """The route's handler: a browser's socket from an origin it may come from, then the session."""
    headers = ws.headers
    if not wm.origin_allowed(headers.get("origin"), headers.get("host"), ws.url.scheme, api.cfg.cors_origin_list):
        with request_context(ws.scope["state"]["request_id"], door=DOOR, method=METHOD):
            log.info("request.origin_refused", origin=headers.get("origin"))
        api.metrics.requests_rejected.labels(door=DOOR, reason="unauthenticated").inc()
        body = {"error": {"message": f"a page from {headers.get('origin')} may not open this socket (allow its "
                                     "origin with the server's --cors-origins)", "type": "invalid_request_error",
                          "param": None, "code": "origin_not_allowed"}}
        return await ws.send_denial_response(JSONResponse(body, status_code=403))
    await SpeechSocket(api, ws, ws.scope["state"]["request_id"]).run()


class _Gone(Exception):
    """The client closed the socket or the connection dropped."""


class SpeechSocket:
    def __init__(self, api: HttpApi, ws: WebSocket, request_id: str):
        self.api, self.ws, self.request_id = api, ws, request_id
        self.session: StreamingSession | None = None
        self.cfg: wm.Config | None = None
        self.code: str | None = None  # the outcome once known: a Status name or OK
        self._draining = asyncio.Event()  # the server is shutting down: close once nothing is being said
        self._received = time.monotonic()

    # ------------------------------------------------------------------ lifecycle
    async def run(self) -> None:
        with request_context(self.request_id, door=DOOR, method=METHOD):
            await self._run()

    async def _run(self) -> None:
        await self.ws.accept()
        self.api.socket_opened(self)
        try:
            await self._serve()
        except _Gone:
            self._client_left()
        except ServiceError as e:
            await self._fail(e)
        except Exception:  # noqa: BLE001 - never a traceback to the client
            log.exception("request.internal_error")
            await self._fail(errors.internal())
        finally:
            if self.session is not None:
                self.session.close()
            self.api.socket_closed(self)
            code = self.code or Status.CANCELLED.name
            self.api.metrics.requests.labels(door=DOOR, method=METHOD, code=code).inc()
            self.api.metrics.request_duration.labels(door=DOOR, method=METHOD, code=code).observe(
                time.monotonic() - self._received)

    def drain(self) -> None:
        """The server is shutting down: close now if nothing is being said, else after the turn being spoken."""
        self._draining.set()

    async def _serve(self) -> None:
        self.session = self._open(await self._first_message())
        reader = asyncio.ensure_future(self._read())
        writer = asyncio.ensure_future(self._write())
        drained = asyncio.ensure_future(self._drained())
        tasks = (reader, writer, drained)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        task = next(t for t in tasks if t in done)
        task.result()  # _Gone, or the session's ServiceError
        if task is writer:  # the session ended: its audio reached the duration bound
            await self._close(wm.NORMAL, "max_audio_duration_ms reached")
        elif task is drained:
            await self._close(wm.GOING_AWAY, "the server is shutting down")

    async def _first_message(self) -> dict:
        try:
            msg = await asyncio.wait_for(self.ws.receive(), CONFIG_TIMEOUT_S)
        except TimeoutError:
            raise ServiceError(Status.DEADLINE_EXCEEDED, f"no {wm.CONFIG} message within {CONFIG_TIMEOUT_S:g} s "
                               "of the upgrade", reason="CONFIG_TIMEOUT") from None
        if msg["type"] == "websocket.disconnect":
            raise _Gone
        return msg

    def _open(self, msg: dict) -> StreamingSession:
        """The first message, session.config -> a started session (routed to a worker, no slot yet); raises
        ServiceError."""
        try:
            self.cfg = wm.config(wm.client_message(msg.get("text"), msg.get("bytes")), self.request_id,
                                 self.api.aliases)
            self._authenticate(self.cfg.token)
            caps = self.api.caps()
            config = prepare_session(self.cfg.request, caps)
            session = StreamingSession(config, caps, self.api.admission, self.api.metrics, self.api.cfg.sessions,
                                       self._received)
            session.start()
        except ServiceError as e:
            count_rejection(self.api.metrics, e, DOOR)
            raise
        log.info("session.started", voice=config.voice, encoding=config.audio_format.encoding.name,
                 sample_rate=config.audio_format.sample_rate, response_format=self.cfg.response_format)
        return session

    def _authenticate(self, token: str | None) -> None:
        """With tokens configured and no Authorization header (that one was checked before the upgrade), the
        token must be session.config's `token`."""
        if self.api.tokens is None or self.ws.scope.get("state", {}).get("authenticated"):
            return
        reason = self.api.tokens.authorize([f"Bearer {token}"] if token else [], METHOD)
        if reason is not None:
            self.api.metrics.requests_rejected.labels(door=DOOR, reason="unauthenticated").inc()
            if reason == "MISSING_TOKEN":
                raise ServiceError(Status.UNAUTHENTICATED, "missing token: send 'Authorization: Bearer <token>' "
                                   f"with the upgrade, or the token as {wm.CONFIG}'s token", reason=reason)
            status = Status.PERMISSION_DENIED if reason == "INSUFFICIENT_SCOPE" else Status.UNAUTHENTICATED
            raise ServiceError(status, auth.MESSAGES[reason], reason=reason)

    # ------------------------------------------------------------------ the two directions
    async def _read(self) -> None:
        """The client's messages into the session; returns (raises _Gone) when the client leaves."""
        while True:
            msg = await self.ws.receive()
            if msg["type"] == "websocket.disconnect":
                raise _Gone
            obj: dict = {}
            try:
                obj = wm.client_message(msg.get("text"), msg.get("bytes"))
                match wm.input_message(obj):
                    case wm.Append(text=text):
                        self.session.feed(text)
                    case wm.Flush():
                        self.session.flush()
                    case wm.End():
                        self.session.end_turn()
                    case wm.Cancel():
                        self.session.interrupt()
            except ServiceError as e:
                if e.status is not Status.INVALID_ARGUMENT:  # e.g. too much text: the session cannot go on
                    self.session.fail(e)  # the writer reports it and closes the socket
                    await asyncio.Future()  # ... and cancels this task
                log.info("request.bad_message", reason=e.reason, error=e.message)
                await self._send(wm.error_json(e, wm.event_id(obj)))

    async def _write(self) -> None:
        """The session's events to the client, until the session ends (raises its ServiceError)."""
        async for event in self.session.events():
            data = wm.event_message(event, self.cfg)
            if data is not None:
                await self._send(data)

    async def _drained(self) -> None:
        """Returns once the server is shutting down and the session has nothing left to say (the turn being
        spoken, if any, is done: a few polls while draining are cheaper than a hook in every event)."""
        await self._draining.wait()
        while not self.session.quiet:
            await asyncio.sleep(0.05)

    # ------------------------------------------------------------------ sending, closing
    async def _send(self, data: str | bytes) -> None:
        message = {"type": "websocket.send", "bytes": data} if isinstance(data, bytes) else \
            {"type": "websocket.send", "text": data}
        try:
            await self.ws.send(message)
        except (WebSocketDisconnect, RuntimeError):  # gone (RuntimeError: Starlette's state errors once closed)
            raise _Gone from None

    async def _close(self, code: int, reason: str) -> None:
        self.code = self.code or "OK"
        log.info("session.closed", close_code=code, reason=reason)
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.ws.close(code, reason)

    async def _fail(self, err: ServiceError) -> None:
        self.code = err.status.name
        log.info("request.failed", code=self.code, reason=err.reason, error=err.message)
        with contextlib.suppress(_Gone):
            await self._send(wm.error_json(err))
        await self._close(wm.close_code(err), wm.close_reason(err))

    def _client_left(self) -> None:
        """The client closed the socket: the normal end of a session, or a cancellation mid-turn."""
        if self.session is not None and self.session.quiet:
            self.code = "OK"
            log.info("session.closed", by="client")
        else:  # mid-turn: the client left, or the drain's grace period ran out (uvicorn closed it)
            reason = "shutdown" if self._draining.is_set() else "client"
            self.api.metrics.requests_cancelled.labels(door=DOOR, reason=reason).inc()
            log.info("request.cancelled", reason=reason)
