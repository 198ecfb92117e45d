"""Scale-out on one machine: two server replicas behind nginx (tests/reliability/proxy.py), `make scale-demo`.

- Calls spread over both replicas, through both doors (each replica's own request counters say so).
- SIGTERM on one replica while streams run on both: its streams finish within the grace period; new calls go
  to the other one. What a client may see is a retryable UNAVAILABLE (RetryInfo; the draining replica refusing,
  or nginx's 502 once it is gone), never anything else, and one retry after it succeeds. HTTP clients see
  nothing at all: nginx retries a draining replica's 503 on the other one.
"""

from __future__ import annotations

import signal
import threading
import time

import grpc
import pytest

from qwen3tts.v1 import tts_pb2_grpc
from tests.e2e import ServerProcess, collect, http_request, request, scrape
from tests.reliability.proxy import Nginx

pytestmark = pytest.mark.scale
GRACE_S = 20


def _count(server: ServerProcess, door: str) -> float:
    return scrape(server).total("qwen3tts_requests_total", door=door, method="Synthesize", code="OK")


class _ProxyHttp:
    """http_request's target, pointed at the proxy."""

    def __init__(self, port: int):
        self.http_url = f"http://127.0.0.1:{port}"


def _synthesize_with_retry(stub, seed: int, seen: dict) -> None:
    """One call, retried once on UNAVAILABLE (as every client of a drained replica must); anything else fails."""
    for attempt in range(3):
        s = collect(stub.Synthesize(request(seed=seed), timeout=60))
        seen[s.code.name] = seen.get(s.code.name, 0) + 1
        if s.code == grpc.StatusCode.OK:
            s.ok()
            return
        assert s.code == grpc.StatusCode.UNAVAILABLE, (s.code, s.error and s.error.details())
        time.sleep(0.2 * (attempt + 1))
    raise AssertionError("three UNAVAILABLE in a row")


def test_two_replicas_behind_nginx(make_ckpt, tmp_path):
    ckpt = make_ckpt("tiny")
    replicas = [ServerProcess(ckpt, "--max-batch", "2", "--grace-period", str(GRACE_S), http=True) for _ in range(2)]
    starters = [threading.Thread(target=r.start) for r in replicas]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    try:
        with Nginx([r.port for r in replicas], [r.http_port for r in replicas], tmp_path) as proxy:
            channel = grpc.insecure_channel(f"127.0.0.1:{proxy.grpc_port}")
            stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
            front = _ProxyHttp(proxy.http_port)
            # 1. spread: per-call balancing, both doors
            for i in range(8):
                collect(stub.Synthesize(request(seed=i), timeout=60)).ok()
                r = http_request(front, "POST", "/v1/audio/speech", {"input": "Hello.", "max_audio_duration_ms": 800,
                                                                    "response_format": "pcm"})
                assert r.status == 200 and len(r.body) == 800 * 48
            grpc_counts = [_count(r, "grpc") for r in replicas]
            http_counts = [_count(r, "http") for r in replicas]
            assert all(c >= 2 for c in grpc_counts), grpc_counts
            assert all(c >= 2 for c in http_counts), http_counts
            # 2. drain one replica while streams run on both
            calls = [stub.Synthesize(request(f"Stream {i} keeps talking.", seed=i, max_audio_duration_ms=3000),
                                     timeout=120) for i in range(4)]
            streams = [collect(c, limit=2) for c in calls]
            victim = replicas[0]
            victim.proc.send_signal(signal.SIGTERM)
            seen: dict[str, int] = {}
            http_statuses = []
            t0 = time.monotonic()
            while victim.proc.poll() is None and time.monotonic() - t0 < GRACE_S + 10:
                _synthesize_with_retry(stub, 100 + len(http_statuses), seen)
                http_statuses.append(http_request(front, "POST", "/v1/audio/speech", {
                    "input": "During the drain.", "max_audio_duration_ms": 400, "response_format": "pcm"}).status)
            for s, c in zip(streams, calls, strict=True):
                collect(c, s).ok()  # the victim's streams finished within the grace period, the others anyway
            assert victim.proc.wait(GRACE_S + 15) == 0
            after = [http_request(front, "POST", "/v1/audio/speech", {
                "input": "After.", "max_audio_duration_ms": 400, "response_format": "pcm"}).status for _ in range(4)]
            for i in range(4):
                _synthesize_with_retry(stub, 200 + i, seen)
            assert set(seen) <= {"OK", "UNAVAILABLE"}, seen
            assert set(http_statuses + after) == {200}, (http_statuses, after)
            channel.close()
            print(f"scale-out: gRPC OK per replica {grpc_counts}, HTTP {http_counts}; during and after the drain "
                  f"gRPC answers {seen}, HTTP {len(http_statuses) + len(after)} x 200")
    finally:
        for r in replicas:
            r.stop()
