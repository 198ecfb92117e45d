"""The HTTP API's server: uvicorn inside the server process, on its event loop, next to grpc.aio.

    http = HttpServer(api, host, port); bound_port = await http.start(); ...; await http.stop(grace)

The socket is bound in `start` (a taken port fails the server's start with a clear error, not inside a task).
uvicorn's own signal handling is off: the server process owns SIGTERM/SIGINT (server/__main__.py) and calls
`stop`, the drain: while draining, new requests are still answered (the admission refuses new speech with 503
SHUTTING_DOWN + Retry-After, /ready says 503, a new WebSocket's session.config gets an error and close 4503),
streams in flight and the turns WebSockets are speaking may finish within the grace period, then
uvicorn closes the listener and the connections and cancels what is left (each cancelled stream closes its
call, so its worker slot is freed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from server.doors.http import HttpApi
from server.log import get_logger

log = get_logger("server.http")
# After the drain: how long uvicorn waits for what is still running before cancelling it.
CLOSE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Tls:
    """The server's certificate (the gRPC door's): HTTPS; client certificates are required with `client_ca`."""

    cert: Path
    key: Path
    client_ca: Path | None = None


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        yield  # the server process owns the signals (server/__main__.py), uvicorn must not take them


class HttpServer:
    def __init__(self, api: HttpApi, host: str, port: int, tls: Tls | None = None):
        self.api, self.host, self.port, self.tls = api, host, port, tls
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> int:
        """Bind and serve; returns the bound port."""
        family, kind, proto, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as e:
            sock.close()
            raise OSError(e.errno, f"http_port: cannot bind {self.host}:{self.port} ({e.strerror})") from None
        sock.setblocking(False)
        self._socket = sock
        tls = {}
        if self.tls is not None:
            tls = {"ssl_certfile": str(self.tls.cert), "ssl_keyfile": str(self.tls.key)}
            if self.tls.client_ca is not None:
                tls.update(ssl_ca_certs=str(self.tls.client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED)
        # WebSockets (/v1/audio/speech/stream) on websockets' sans-I/O protocol: messages up to the server's
        # max_message_bytes, no per-message compression (audio does not compress; JSON events are small; it would
        # cost CPU next to the model), uvicorn's keepalive pings (a vanished client is noticed within ~40 s).
        config = uvicorn.Config(
            self.api.app(), log_config=None, access_log=False, lifespan="off", http="httptools",
            ws="websockets-sansio", ws_max_size=self.api.cfg.max_message_bytes, ws_per_message_deflate=False,
            server_header=False, timeout_graceful_shutdown=CLOSE_TIMEOUT_S, **tls)
        # uvicorn's info lines ("Started server process", ...) repeat what server.listening says
        logging.getLogger("uvicorn.error").setLevel(max(logging.WARNING, logging.getLogger().level))
        self._server = _EmbeddedServer(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:  # startup is quick (no lifespan); fail loudly if serve() died
            if self._task.done():
                self._task.result()
                raise RuntimeError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        return sock.getsockname()[1]

    async def stop(self, grace: float) -> None:
        """Drain: let speech streams (and the turns WebSockets are speaking) finish for up to `grace` seconds, then
        close (the rest is cancelled; WebSockets get uvicorn's close 1012)."""
        if self._server is None or self._task is None:
            return
        self.api.drain_sockets()  # an idle one closes at once (1001), one that speaks after its turn
        if self.api.streams:
            log.info("http.draining", streams=self.api.streams, sockets=len(self.api.sockets), grace_s=grace)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.api.idle.wait(), grace)
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._socket is not None:
            self._socket.close()
