"""End to end, the server's life: health NOT_SERVING (and requests refused with NOT_READY) until the worker is
warm, then SERVING; on SIGTERM health turns NOT_SERVING, new calls are refused, an in-flight stream completes
within the grace period and the process exits 0, also when the signal reaches the whole process group
(systemd's default stop, `timeout`, Ctrl-C in a terminal), workers included; with a tiny grace period the
in-flight stream is cut with UNAVAILABLE. Each test owns its server (it ends it)."""

from __future__ import annotations

import os
import signal
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from tests.e2e import (
    LONG_SEED,
    LONG_TEXT,
    SERVICE,
    ServerProcess,
    call_error,
    collect,
    details,
    request,
    synthesize,
)

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


def test_health_through_startup_and_a_graceful_sigterm(make_ckpt):
    server = ServerProcess(make_ckpt("tiny"), "--max-batch", "1", "--grace-period", "60", metrics=False)
    try:
        server.start(wait_ready=False)  # the port is open; the worker is still loading
        channel = server.channel()
        stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
        assert server.health() == NOT_SERVING and server.health("") == SERVING
        refused = synthesize(stub, request(), timeout=10)
        assert refused.code == UNAVAILABLE and refused.events == []
        d = details(refused.error)
        assert (d.reason, d.retry_delay_s) == ("NOT_READY", 5.0)
        d = call_error(lambda: stub.GetServiceInfo(tts_pb2.GetServiceInfoRequest(), timeout=10))
        assert d.code == UNAVAILABLE and d.reason == "NOT_READY"
        server.wait_health(SERVING, 120)

        # a stream in flight (6 s of audio, a few seconds of work) and a health watcher
        inflight = stub.Synthesize(request(LONG_TEXT, seed=8, max_audio_duration_ms=6000), timeout=120)
        s = collect(inflight, limit=2)
        assert s.events == ["started", "audio"]
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=SERVICE),
                                                          timeout=60)
        assert next(watch).status == SERVING
        sigterm = time.monotonic()
        os.killpg(server.proc.pid, signal.SIGTERM)  # the server and its worker (the server leads its own group)
        assert next(watch).status == NOT_SERVING  # draining: load balancers take this replica out
        watch.cancel()  # (an open watch is an in-flight call too: it would hold the drain for the grace period)
        late = synthesize(stub, request(), timeout=10)  # new calls are refused
        assert late.code == UNAVAILABLE and late.events == []
        assert details(late.error).reason in (None, "SHUTTING_DOWN")  # (None: refused by the transport)
        collect(inflight, s)  # ... while the stream in flight completes
        s.ok()
        assert [c.sequence_number for c in s.chunks] == list(range(75))
        assert s.finished.usage.generated_frames == 75
        assert server.proc.wait(60) == 0
        assert time.monotonic() - sigterm < 30  # it exits when the drain is done, not at the end of the grace
        channel.close()
        events = [e.get("event") for e in (server.event(x) for x in server.lines)]
        assert events.index("server.draining") < events.index("server.stopped")
        assert not any("worker 0 stopped" in line for line in server.lines)  # the worker left with the server
    finally:
        server.stop()


def test_sigterm_with_a_tiny_grace_period_cuts_the_stream(make_ckpt):
    server = ServerProcess(make_ckpt("tiny"), "--max-batch", "1", "--grace-period", "0.5", metrics=False)
    try:
        server.start()
        channel = server.channel()
        stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
        # minutes of work
        inflight = stub.Synthesize(request(LONG_TEXT, seed=LONG_SEED, max_audio_duration_ms=0), timeout=120)
        s = collect(inflight, limit=2)
        sigterm = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        collect(inflight, s)
        assert s.code == UNAVAILABLE and s.finished is None and s.chunks  # cut: the audio is incomplete
        assert time.monotonic() - sigterm < 10
        assert server.proc.wait(30) == 0
        channel.close()
    finally:
        server.stop()
