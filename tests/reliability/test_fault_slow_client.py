"""slow_client_timeout: a client that starts a stream and never reads it holds its decode slot only for that long.

After it, the stream is stopped in its worker (the one slot is free again: another client is served at once), and
when the slow client finally reads, it gets what was already on its way, then RESOURCE_EXHAUSTED with
ErrorInfo CLIENT_TOO_SLOW. A client that keeps reading is never stopped, however long its stream."""

from __future__ import annotations

import time

import grpc
import pytest

from qwen3tts.v1 import tts_pb2_grpc
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

pytestmark = pytest.mark.faults
TIMEOUT_S = 2.0


def test_a_client_that_never_reads_loses_its_slot(make_ckpt):
    with running_server(make_ckpt("tiny"), "--max-batch", "1", "--slow-client-timeout", str(TIMEOUT_S),
                        "--queue-timeout", "60") as server:
        free = lambda: scrape(server).total("qwen3tts_worker_free_slots")  # noqa: E731
        wait_for(lambda: free() == 1, 15, 0.1, "the worker's first stats")
        # A small HTTP/2 window (no BDP probing): the server's writes block once ~64 KiB are in flight.
        slow_channel = grpc.insecure_channel(server.address, options=[("grpc.http2.bdp_probe", 0)])
        slow = tts_pb2_grpc.TextToSpeechServiceStub(slow_channel).Synthesize(
            request(LONG_TEXT, seed=LONG_SEED, max_audio_duration_ms=0), timeout=120)
        t0 = time.monotonic()
        wait_for(lambda: free() == 0, 30, 0.05, "the slow stream takes the slot")
        wait_for(lambda: free() == 1, TIMEOUT_S + 20, 0.1, "the slot freed after slow_client_timeout")
        freed_after = time.monotonic() - t0
        assert freed_after >= TIMEOUT_S  # not before the client had its full timeout

        # The freed slot serves the next client at once (max_batch 1: it would wait for the slow one otherwise).
        started = time.monotonic()
        synthesize(server.stub(), timeout=30).ok()
        assert time.monotonic() - started < 15

        # The slow client reads at last: the audio already sent, then the error that says why it ended.
        stream = collect(slow)
        assert stream.events[0] == "started" and "audio" in stream.events
        assert "finished" not in stream.events
        assert stream.code == grpc.StatusCode.RESOURCE_EXHAUSTED, stream.code
        d = details(stream.error)
        assert d.reason == "CLIENT_TOO_SLOW"
        assert "read no audio for 2 s" in d.message
        slow_channel.close()

        # An honest reader of a long stream (longer than the timeout) is never stopped.
        long = synthesize(server.stub(), request(LONG_TEXT, seed=LONG_SEED, max_audio_duration_ms=8_000),
                          timeout=120).ok()
        assert sum(len(c.audio) for c in long.chunks) > 0
        g = lambda: scrape(server)  # noqa: E731  (gauges are refreshed every stats interval)
        wait_for(lambda: g().get("qwen3tts_requests_running") == 0 and free() == 1, 10, 0.1, "gauges back to idle")
        assert g().total("qwen3tts_worker_restarts_total") == 0
        print(f"slow client: slot freed {freed_after:.2f} s after its request (timeout {TIMEOUT_S} s)")
