"""SIGTERM during a burst: the streams in flight (both doors) finish with all their audio within the grace period;
requests after the signal get UNAVAILABLE (gRPC SHUTTING_DOWN, or a refused connection once the port is closed;
HTTP 503 or a refused connection); the server exits 0."""

from __future__ import annotations

import signal
import threading
import time

import grpc
import pytest

from tests.e2e import ServerProcess, collect, http_request, request

pytestmark = pytest.mark.faults
GRACE_S = 30
AUDIO_MS = 3000


def test_sigterm_mid_burst_drains_in_flight_and_refuses_new(make_ckpt):
    server = ServerProcess(make_ckpt("tiny"), "--max-batch", "4", "--grace-period", str(GRACE_S), http=True)
    server.start()
    try:
        stub = server.stub()
        calls = [stub.Synthesize(request(f"Burst number {i}, speaking on.", seed=i, max_audio_duration_ms=AUDIO_MS),
                                 timeout=120) for i in range(3)]
        streams = [collect(c, limit=2) for c in calls]  # each has started and sent audio
        assert all(s.events[:2] == ["started", "audio"] for s in streams)
        http_result: dict = {}

        def http_stream() -> None:
            http_result["r"] = http_request(server, "POST", "/v1/audio/speech", {
                "input": "The HTTP stream in flight.", "response_format": "pcm", "max_audio_duration_ms": AUDIO_MS,
                "seed": 7})

        t = threading.Thread(target=http_stream)
        t.start()
        time.sleep(1.0)  # the HTTP stream is in flight
        server.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        time.sleep(0.3)
        # new work after the signal
        late = collect(stub.Synthesize(request("Too late."), timeout=30))
        assert late.code == grpc.StatusCode.UNAVAILABLE, late.code
        try:
            late_http = http_request(server, "POST", "/v1/audio/speech", {"input": "Too late."}, timeout=10).status
        except OSError:
            late_http = "refused"
        assert late_http in (503, "refused")
        # the in-flight streams end OK with all their audio
        for s, c in zip(streams, calls, strict=True):
            collect(c, s).ok()
            assert sum(ch.duration.ToNanoseconds() for ch in s.chunks) / 1e6 == pytest.approx(AUDIO_MS, abs=1)
        t.join(GRACE_S)
        r = http_result["r"]
        assert r.status == 200 and len(r.body) == AUDIO_MS * 24 * 2  # 24 kHz s16: every sample arrived
        code = server.proc.wait(GRACE_S + 15)
        took = time.monotonic() - signalled
        assert code == 0 and took < GRACE_S + 10
        print(f"drained 4 streams and exited {took:.1f} s after SIGTERM (grace {GRACE_S} s)")
    finally:
        server.stop()
