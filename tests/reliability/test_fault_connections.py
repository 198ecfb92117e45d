"""Connections that cost the server without asking for work: 500 idle gRPC connections (and 100 idle HTTP
sockets) held open at once, and storms of calls cancelled right after they start or whose connection is dropped.
What holds: a normal request is still served at once; the server's memory and fds are bounded while they are
open and return (fds to the baseline) once they are gone; no call leaks a queue entry or a slot."""

from __future__ import annotations

import random
import socket
import time

import grpc
import pytest

from qwen3tts.v1 import tts_pb2_grpc
from tests.e2e import collect, request, running_server, scrape, synthesize, wait_for
from tests.reliability import procstat

pytestmark = pytest.mark.faults
MAX_BATCH = 4


@pytest.fixture(scope="module")
def server(make_ckpt):
    with running_server(make_ckpt("tiny"), "--max-batch", str(MAX_BATCH), "--max-queue", "64", http=True) as s:
        yield s


def _settled(server) -> None:
    def ok():
        s = scrape(server)
        return (s.get("qwen3tts_requests_running") == 0 and s.total("qwen3tts_requests_waiting") == 0
                and s.total("qwen3tts_worker_free_slots") == MAX_BATCH)

    wait_for(ok, 30, 0.5, "no request running or waiting, every slot free")


def test_500_idle_connections(server):
    pid = server.proc.pid
    before = procstat.usage(pid)
    # each channel its own subchannel pool: otherwise gRPC shares one TCP connection among identical channels
    channels = [grpc.insecure_channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)])
                for _ in range(500)]
    for ch in channels:
        grpc.channel_ready_future(ch).result(timeout=30)  # connected: a TCP connection and an HTTP/2 session
    sockets = [socket.create_connection(("127.0.0.1", server.http_port)) for _ in range(100)]
    held = procstat.usage(pid)
    t0 = time.monotonic()
    synthesize(server.stub()).ok()
    took = time.monotonic() - t0
    for ch in channels:
        ch.close()
    for s in sockets:
        s.close()
    assert held.fds >= before.fds + 500, (before, held)  # they really were open at once
    assert held.rss_kb - before.rss_kb < 100 * 1024, f"+{(held.rss_kb - before.rss_kb) / 1024:.0f} MiB for 600 idle"
    assert took < 15, f"a request took {took:.1f} s beside 600 idle connections"
    wait_for(lambda: procstat.usage(pid).fds <= before.fds + 3, 30, 0.5, "the idle connections' fds released")
    print(f"600 idle: +{held.fds - before.fds} fds, +{(held.rss_kb - before.rss_kb) / 1024:.1f} MiB; "
          f"a request beside them took {took:.2f} s")


def test_connect_and_cancel_storms(server):
    rng = random.Random(15)
    stub = server.stub()
    codes: dict[str, int] = {}
    for i in range(300):
        how = i % 3
        if how == 0:  # cancelled at once, often while queued or being admitted
            call = stub.Synthesize(request(seed=i), timeout=30)
            time.sleep(rng.uniform(0, 0.02))
            call.cancel()
        elif how == 1:  # a new connection, a call, and the connection dropped
            ch = grpc.insecure_channel(server.address)
            call = tts_pb2_grpc.TextToSpeechServiceStub(ch).Synthesize(request(seed=i), timeout=30)
            time.sleep(rng.uniform(0, 0.05))
            ch.close()
        else:  # cancelled after the first audio
            call = stub.Synthesize(request(seed=i), timeout=30)
            s = collect(call, limit=2)
            call.cancel()
            codes[s.code.name] = codes.get(s.code.name, 0) + 1
    _settled(server)
    s = scrape(server)
    assert s.total("qwen3tts_worker_restarts_total") == 0
    assert s.total("qwen3tts_requests_total", code="INTERNAL") == 0
    assert s.total("qwen3tts_requests_total", code="UNKNOWN") == 0
    synthesize(stub).ok()
    print(f"storm: 300 calls; after-first-audio reads {codes}; "
          f"cancelled counted {s.total('qwen3tts_requests_cancelled_total'):.0f}")
