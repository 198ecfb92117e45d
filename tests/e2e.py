"""The one end-to-end harness: the real server (`python -m server` in its own process group, on 127.0.0.1, real
worker processes), found by the port it logs and ready when its health says SERVING; calls through the generated
stubs, errors read back with grpcio-status, metrics scraped over HTTP, a self-signed certificate for TLS tests.
With `http=True` the server also opens its HTTP API (OpenAI-compatible) on a free port: `server.http_url`,
`server.openai()` (the official SDK, no retries) and `http_request` (the standard library) reach it, and
`speech_socket` (the `websockets` library) its WebSocket `/v1/audio/speech/stream`.

Used by tests/server/test_e2e_*.py and tests/client (their conftest.py files hold the shared servers)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from prometheus_client.parser import text_string_to_metric_families

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc

SERVICE = "qwen3tts.v1.TextToSpeechService"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, model: Path | str, *args: str, env: dict | None = None, metrics: bool = True,
                 credentials: grpc.ChannelCredentials | None = None, host_override: str | None = None,
                 http: bool = False):
        self.model, self.args = str(model), list(args)
        self.env = {**os.environ, **(env or {})}
        self.metrics_port = free_port() if metrics else 0
        self.http_port = free_port() if http else 0  # 0: the HTTP API is off
        self.credentials, self.host_override = credentials, host_override
        self.port: int | None = None
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._listening = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def start(self, ready_timeout: float = 240, wait_ready: bool = True) -> ServerProcess:
        """Start; return once the port is open and (`wait_ready`) health says SERVING."""
        cmd = [sys.executable, "-m", "server", "--model", self.model, "--host", "127.0.0.1", "--port", "0",
               "--metrics-host", "127.0.0.1", "--metrics-port", str(self.metrics_port), "--log-format", "json",
               "--http-host", "127.0.0.1", "--http-port", str(self.http_port), *self.args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        if not self._listening.wait(60):
            raise RuntimeError("server did not start listening:\n" + "\n".join(self.lines[-30:]))
        if wait_ready:
            self.wait_health(health_pb2.HealthCheckResponse.SERVING, ready_timeout)
        return self

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit code. Kills the whole group if it does not exit."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            event = self.event(line)
            if event.get("event") == "server.listening":
                self.port = event["port"]
                self._listening.set()

    @staticmethod
    def event(line: str) -> dict:
        try:
            return json.loads(line)
        except ValueError:
            return {}

    def events(self, name: str) -> list[dict]:
        return [e for e in (self.event(x) for x in list(self.lines)) if e.get("event") == name]

    # ------------------------------------------------------------------ clients
    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def channel(self) -> grpc.Channel:
        if self.credentials is not None:
            opts = [("grpc.ssl_target_name_override", self.host_override)] if self.host_override else []
            return grpc.secure_channel(self.address, self.credentials, options=opts)
        return grpc.insecure_channel(self.address)

    def stub(self) -> tts_pb2_grpc.TextToSpeechServiceStub:
        return tts_pb2_grpc.TextToSpeechServiceStub(self.channel())

    @property
    def http_url(self) -> str:
        assert self.http_port, "start the server with http=True"
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return "ws" + self.http_url[len("http"):]

    def openai(self, api_key: str = "unused", **kwargs: Any):
        """The official OpenAI SDK pointed at this server (no retries: a test sees every status)."""
        import openai

        return openai.OpenAI(base_url=self.http_url + "/v1", api_key=api_key, max_retries=0,
                             timeout=kwargs.pop("timeout", 60), **kwargs)

    def health(self, service: str = SERVICE) -> int:
        stub = health_pb2_grpc.HealthStub(self.channel())
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status

    def wait_health(self, status: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.health() == status:
                    return
            except grpc.RpcError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n" + "\n".join(self.lines[-30:]))
            if time.monotonic() > deadline:
                raise TimeoutError(f"health never became {status}:\n" + "\n".join(self.lines[-30:]))
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-f", "multiprocessing.spawn", "-P", str(self.proc.pid)],
                             capture_output=True, text=True)
        return [int(x) for x in out.stdout.split()]



# Short requests: max_audio_duration_ms bounds the work (random weights never say EOS; the engine's runaway
# guard would give ~80 frames for a short text). 10 frames (800 ms) take ~0.3 s on the tiny checkpoint.
SHORT_MS = 800
TEXT = "Hello from the end-to-end tests."
# Long enough that a stream runs for minutes unless cut (runaway guard: 25 + 8 frames per text token).
LONG_TEXT = "This sentence is long on purpose, so that the stream keeps going for a good while. " * 8
# With a random seed the tiny model may draw EOS after a few hundred frames (a second or two of work), and a test
# that needs a stream still running would flake. With this seed LONG_TEXT runs to its frame cap (3233 frames) on
# the tiny checkpoint, with 1 and 2 slots (checked with the engine).
LONG_SEED = 0


@contextlib.contextmanager
def running_server(model: Any, *args: str, **kwargs: Any) -> Iterator[ServerProcess]:
    """A started server (health SERVING); stopped with SIGTERM on exit. The log is printed if start fails."""
    server = ServerProcess(model, *args, **kwargs)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def request(text: str = TEXT, **fields: Any) -> tts_pb2.SynthesizeRequest:
    """A SynthesizeRequest; `max_audio_duration_ms` defaults to SHORT_MS (pass 0 for the server's limit)."""
    fields.setdefault("max_audio_duration_ms", SHORT_MS)
    fmt = fields.pop("format", None)
    if fmt is not None:
        fields["audio_format"] = tts_pb2.AudioFormat(encoding=fmt[0], sample_rate_hertz=fmt[1])
    greedy = fields.pop("greedy", None)
    if greedy is not None:
        fields["sampling"] = tts_pb2.SamplingParameters(greedy=greedy)
    return tts_pb2.SynthesizeRequest(text=text, **fields)


@dataclass
class Stream:
    """Everything one Synthesize call returned."""

    started: tts_pb2.SynthesisStarted | None = None
    chunks: list[tts_pb2.AudioChunk] = field(default_factory=list)
    segments: list[tts_pb2.SegmentStarted] = field(default_factory=list)
    finished: tts_pb2.SynthesisFinished | None = None
    events: list[str] = field(default_factory=list)  # "started" | "segment" | "audio" | "finished", in order
    code: grpc.StatusCode = grpc.StatusCode.OK
    error: grpc.RpcError | None = None
    initial_metadata: dict[str, str] = field(default_factory=dict)

    @property
    def audio(self) -> bytes:
        return b"".join(c.audio for c in self.chunks)

    def f32(self) -> np.ndarray:
        return np.frombuffer(self.audio, "<f4")

    def s16(self) -> np.ndarray:
        return np.frombuffer(self.audio, "<i2")

    def ok(self) -> Stream:
        assert self.code == grpc.StatusCode.OK, f"{self.code}: {self.error and self.error.details()}"
        assert self.events[0] == "started" and self.events[-1] == "finished", self.events
        assert set(self.events[1:-1]) <= {"audio", "segment"}, self.events
        return self


def collect(call, stream: Stream | None = None, limit: int | None = None) -> Stream:
    """Read a Synthesize call (the response iterator) to its end, or `limit` more events."""
    out = stream or Stream()
    try:
        if not out.initial_metadata:
            out.initial_metadata = dict(call.initial_metadata() or ())
        for n, response in enumerate(call, 1):
            kind = response.WhichOneof("event")
            out.events.append(kind)
            if kind == "started":
                out.started = response.started
            elif kind == "audio":
                out.chunks.append(response.audio)
            elif kind == "segment":
                out.segments.append(response.segment)
            else:
                out.finished = response.finished
            if limit is not None and n >= limit:
                return out
    except grpc.RpcError as e:
        out.code, out.error = e.code(), e
    return out


def synthesize(stub, req: tts_pb2.SynthesizeRequest | None = None, *, metadata=(), timeout: float = 60,
               **fields: Any) -> Stream:
    return collect(stub.Synthesize(req if req is not None else request(**fields), metadata=metadata,
                                   timeout=timeout))


@dataclass
class Details:
    """The google.rpc details of a failed call."""

    code: grpc.StatusCode
    message: str
    violations: dict[str, str]  # BadRequest: field -> description
    reason: str | None  # ErrorInfo
    domain: str | None
    retry_delay_s: float | None  # RetryInfo


def details(err: grpc.RpcError) -> Details:
    status = rpc_status.from_call(err)
    violations: dict[str, str] = {}
    reason = domain = retry = None
    for any_ in (status.details if status else ()):
        for cls in (error_details_pb2.BadRequest, error_details_pb2.ErrorInfo, error_details_pb2.RetryInfo):
            if any_.Is(cls.DESCRIPTOR):
                msg = cls()
                any_.Unpack(msg)
                if isinstance(msg, error_details_pb2.BadRequest):
                    violations.update({v.field: v.description for v in msg.field_violations})
                elif isinstance(msg, error_details_pb2.ErrorInfo):
                    reason, domain = msg.reason, msg.domain
                else:
                    retry = msg.retry_delay.ToNanoseconds() / 1e9
    return Details(err.code(), err.details() or "", violations, reason, domain, retry)


def call_error(fn: Callable[[], Any]) -> Details:
    """Run a unary call that must fail; its details."""
    try:
        fn()
    except grpc.RpcError as e:
        return details(e)
    raise AssertionError("the call succeeded")


# ------------------------------------------------------------------ metrics
class Scrape:
    """One /metrics scrape: samples by (name, labels)."""

    def __init__(self, text: str):
        self.text = text
        self.samples: dict[tuple[str, frozenset], float] = {}
        self.families = {}
        for family in text_string_to_metric_families(text):
            self.families[family.name] = family
            for s in family.samples:
                self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    def get(self, name: str, default: float | None = 0.0, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())), default)

    def total(self, name: str, **labels: str) -> float:
        """Sum over the series of `name` whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and want <= ls)


def scrape(server: ServerProcess) -> Scrape:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5) as r:
        assert r.status == 200
        return Scrape(r.read().decode())


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1, what: str = "") -> Any:
    """Poll until `predicate()` is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def self_signed_cert(directory: Path) -> tuple[Path, Path] | None:
    """(certificate, key) of a self-signed certificate for 127.0.0.1 and localhost; None without openssl."""
    if shutil.which("openssl") is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


def s16(data: bytes) -> np.ndarray:
    return np.frombuffer(data, "<i2")


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(server: ServerProcess, method: str, path: str, body: Any = None, *,
                 headers: dict[str, str] | None = None, timeout: float = 60) -> HttpResult:
    """One HTTP request to the server's HTTP API (a dict body is sent as JSON, bytes as they are)."""
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(server.http_url + path, data=data, method=method, headers={
        **({"content-type": "application/json"} if isinstance(body, (dict, list)) else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return HttpResult(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return HttpResult(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


def speech_socket(server: ServerProcess, *, token: str | None = None, headers: dict[str, str] | None = None,
                  origin: str | None = None, open_timeout: float = 30):
    """A connection to the server's WebSocket /v1/audio/speech/stream (`websockets`' threaded client: recv in
    one thread, send from another); `token` goes in the upgrade's Authorization header."""
    from websockets.sync.client import connect

    extra = {**({"authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return connect(server.ws_url + "/v1/audio/speech/stream", additional_headers=extra, origin=origin,
                   open_timeout=open_timeout, close_timeout=5, max_size=None)
