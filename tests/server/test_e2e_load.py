"""End to end under load, on one slot (`--max-batch 1 --max-queue 1 --queue-timeout 2`): a full queue and a queue
timeout are UNAVAILABLE with RetryInfo/ErrorInfo; a cancelled stream frees its slot at once (also while it is
paused); a client that stops reading pauses its own generation and, when it reads again, gets the complete
audio; a worker killed mid-stream fails the stream with WORKER_RESTART, health goes NOT_SERVING and back, and
the next request succeeds. The kill test comes last: it restarts the worker."""

from __future__ import annotations

import os
import signal
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2

from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from tests.e2e import (
    LONG_SEED,
    LONG_TEXT,
    collect,
    details,
    request,
    running_server,
    scrape,
    synthesize,
    wait_for,
)

UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
QUEUE_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def server(make_ckpt):
    with running_server(make_ckpt("tiny"), "--max-batch", "1", "--max-queue", "1",
                        "--queue-timeout", str(QUEUE_TIMEOUT_S)) as s:
        yield s


@pytest.fixture(scope="module")
def stub(server):
    channel = server.channel()
    yield tts_pb2_grpc.TextToSpeechServiceStub(channel)
    channel.close()


@pytest.fixture(scope="module")
def small_window_stub(server):
    """A client whose HTTP/2 receive window stays at 64 KB. How much a server can send to a client that does not
    read is the client's choice (its window): grpc's default BDP probing grows it to ~4 MB per stream (measured:
    274 chunks of 15 KB sent before the server's writes blocked), i.e. ~90 s of 24 kHz S16 audio generated
    ahead of a reader that stopped. With probing off the bound is ~64 KB plus the worker's 25-frame credit."""
    channel = grpc.insecure_channel(server.address, options=[("grpc.http2.bdp_probe", 0)])
    yield tts_pb2_grpc.TextToSpeechServiceStub(channel)
    channel.close()


def _long(stub, rid: str, **fields):
    """A stream that would run for minutes, started and read up to its first chunk (so it holds the slot).
    Seeded (LONG_SEED), so that it cannot draw an early EOS."""
    fields.setdefault("seed", LONG_SEED)
    call = stub.Synthesize(request(LONG_TEXT, max_audio_duration_ms=0, **fields), timeout=120,
                           metadata=(("x-request-id", rid),))
    s = collect(call, limit=2)
    assert s.events == ["started", "audio"], (s.code, s.error)
    return call, s


def _idle(server) -> None:
    wait_for(lambda: scrape(server).get("qwen3tts_requests_running") == 0
             and scrape(server).get("qwen3tts_requests_paused") == 0, 10, what="no request on the worker")


def test_full_queue_and_queue_timeout_are_unavailable_with_retry_info(server, stub):
    before = scrape(server)
    a, _ = _long(stub, "load-queue-a")
    b_sent = time.monotonic()
    b = stub.Synthesize(request(), timeout=30)  # waits for the only slot
    wait_for(lambda: scrape(server).get("qwen3tts_requests_waiting", priority="interactive") == 1, 5,
             what="b queued")
    c_sent = time.monotonic()
    c = synthesize(stub, request(), timeout=30)  # the queue (1) is full: refused at once, not after a wait
    assert c.code == UNAVAILABLE and c.events == [] and time.monotonic() - c_sent < QUEUE_TIMEOUT_S
    d = details(c.error)
    assert (d.reason, d.domain, d.retry_delay_s) == ("QUEUE_FULL", "qwen3tts", 1.0)
    # b gives up after the queue timeout, before any event
    sb = collect(b)
    assert sb.code == UNAVAILABLE and sb.events == [] and time.monotonic() - b_sent >= QUEUE_TIMEOUT_S
    d = details(sb.error)
    assert d.reason == "QUEUE_TIMEOUT" and d.retry_delay_s == 2.0
    a.cancel()
    after = scrape(server)
    for reason in ("queue_full", "queue_timeout"):
        assert after.get("qwen3tts_requests_rejected_total", door="grpc", reason=reason) == \
            before.get("qwen3tts_requests_rejected_total", door="grpc", reason=reason) + 1
    assert after.get("qwen3tts_requests_total", door="grpc", method="Synthesize", code="UNAVAILABLE") == \
        before.get("qwen3tts_requests_total", door="grpc", method="Synthesize", code="UNAVAILABLE") + 2
    _idle(server)


def test_deadline_while_queued_is_deadline_exceeded_and_leaves_the_queue(server, stub):
    _idle(server)
    a, _ = _long(stub, "load-deadline-a")
    t0 = time.monotonic()
    b = synthesize(stub, request(), timeout=1.0)  # waits behind a for the only slot; gives up first
    assert b.code == grpc.StatusCode.DEADLINE_EXCEEDED and b.events == [] and time.monotonic() - t0 < 3
    wait_for(lambda: scrape(server).get("qwen3tts_requests_waiting", priority="interactive") == 0, 5,
             what="b left the queue")
    a.cancel()
    c = synthesize(stub, request(seed=5), timeout=30).ok()  # the slot goes to c, not to a ghost of b
    assert c.finished.usage.queue_time.ToNanoseconds() < 2e9
    _idle(server)


def test_cancel_mid_stream_frees_the_slot(server, stub):
    _idle(server)
    before = scrape(server)
    a, _ = _long(stub, "load-cancel-a")
    collect(a, limit=3)
    a.cancel()
    t0 = time.monotonic()
    b = synthesize(stub, request(seed=1), timeout=30).ok()  # the only slot is free again at once
    assert b.finished.usage.queue_time.ToNanoseconds() < 2e9 and time.monotonic() - t0 < 10
    _idle(server)
    after = scrape(server)
    assert after.get("qwen3tts_requests_cancelled_total", door="grpc", reason="client") == \
        before.get("qwen3tts_requests_cancelled_total", door="grpc", reason="client") + 1
    assert after.get("qwen3tts_requests_total", door="grpc", method="Synthesize", code="CANCELLED") == \
        before.get("qwen3tts_requests_total", door="grpc", method="Synthesize", code="CANCELLED") + 1
    assert [e.get("reason") for e in server.events("request.cancelled") if e.get("request_id") == "load-cancel-a"] \
        == ["client"]


def _paused(server) -> bool:
    m = scrape(server)
    return m.get("qwen3tts_requests_paused") == 1 and m.get("qwen3tts_requests_running") == 1


def test_a_client_that_stops_reading_pauses_its_generation_and_then_gets_all_audio(server, stub,
                                                                                   small_window_stub):
    _idle(server)
    # 6 s of audio (75 frames, ~2 s of work) at 48 kHz float32: 15 KB per 80 ms chunk, so the transport's
    # flow-control window (~64 KB) plus the worker's credit (25 frames) are far less than the whole stream.
    req = request(LONG_TEXT, seed=21, max_audio_duration_ms=6000,
                  format=(tts_pb2.AUDIO_ENCODING_PCM_F32LE, 48000))
    call = small_window_stub.Synthesize(req, timeout=120)
    s = collect(call, limit=2)  # started + first chunk, then the client stops reading
    wait_for(lambda: _paused(server), 15, what="the worker pauses the sequence")
    sent = scrape(server).get("qwen3tts_audio_chunks_total", encoding="PCM_F32LE")
    time.sleep(1.2)
    m = scrape(server)
    assert m.get("qwen3tts_requests_paused") == 1  # still paused: nothing was generated for nobody
    assert m.get("qwen3tts_audio_chunks_total", encoding="PCM_F32LE") == sent
    collect(call, s)  # read again: the rest arrives
    s.ok()
    assert [c.sequence_number for c in s.chunks] == list(range(75))
    assert s.finished.usage.generated_frames == 75 and len(s.audio) == 4 * 6 * 48000
    # the same audio as a stream that was read without a pause
    assert np.array_equal(s.f32().view(np.uint32), synthesize(stub, req).ok().f32().view(np.uint32))
    _idle(server)


def test_cancel_while_paused_frees_the_slot(server, stub, small_window_stub):
    """The handler is blocked writing to a client that does not read when the client goes away."""
    _idle(server)
    before = scrape(server)
    call, _ = _long(small_window_stub, "load-paused-cancel", format=(tts_pb2.AUDIO_ENCODING_PCM_F32LE, 48000))
    wait_for(lambda: _paused(server), 15, what="paused")
    call.cancel()
    _idle(server)
    b = synthesize(stub, request(seed=2), timeout=30).ok()
    assert b.finished.usage.queue_time.ToNanoseconds() < 2e9
    after = scrape(server)
    assert after.get("qwen3tts_requests_cancelled_total", door="grpc", reason="client") == \
        before.get("qwen3tts_requests_cancelled_total", door="grpc", reason="client") + 1
    assert [e.get("reason") for e in server.events("request.cancelled")
            if e.get("request_id") == "load-paused-cancel"] == ["client"]


def test_worker_killed_mid_stream_is_worker_restart_then_serving_again(server, stub):
    _idle(server)
    assert scrape(server).get("qwen3tts_worker_restarts_total", worker="0") == 0
    [pid] = server.worker_pids()
    a, s = _long(stub, "load-kill-a")
    os.kill(pid, signal.SIGKILL)
    collect(a, s)
    assert s.code == UNAVAILABLE and s.finished is None and s.chunks  # partial audio, then the failure
    d = details(s.error)
    assert d.reason == "WORKER_RESTART" and d.retry_delay_s == 2.0 and "incomplete" in d.message
    # the restart takes seconds (a new process loads and warms up): meanwhile NOT_SERVING and refusals
    # (health follows the pool's event on its I/O thread: allow it the milliseconds it may lag the stream's end)
    wait_for(lambda: server.health() == NOT_SERVING, 2, interval=0.02, what="NOT_SERVING")
    refused = synthesize(stub, request(), timeout=10)
    assert refused.code == UNAVAILABLE and details(refused.error).reason == "NOT_READY"
    assert details(refused.error).retry_delay_s == 5.0
    assert server.health("") == SERVING  # the process itself is alive
    wait_for(lambda: scrape(server).get("qwen3tts_worker_up", worker="0") == 0, 5, what="worker_up 0")
    server.wait_health(SERVING, 120)
    [new_pid] = server.worker_pids()
    assert new_pid != pid
    ok = synthesize(stub, request(seed=3), timeout=60).ok()
    assert ok.finished.usage.generated_frames == 10
    wait_for(lambda: scrape(server).get("qwen3tts_worker_restarts_total", worker="0") == 1, 5,
             what="the restart counted")
    wait_for(lambda: scrape(server).get("qwen3tts_worker_up", worker="0") == 1, 5, what="worker_up 1")
