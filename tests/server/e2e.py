"""Helpers of the end-to-end tests (tests/server/test_e2e_*.py): the real server (`python -m server` with real
worker processes, tests/server_process.py), called through the generated stubs, errors read back with
grpcio-status, metrics scraped over HTTP."""

from __future__ import annotations

import contextlib
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from prometheus_client.parser import text_string_to_metric_families

from qwen3tts.v1 import tts_pb2
from tests.server_process import ServerProcess

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
    finished: tts_pb2.SynthesisFinished | None = None
    events: list[str] = field(default_factory=list)  # "started" | "audio" | "finished", in arrival order
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
        assert set(self.events[1:-1]) <= {"audio"}, self.events
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
