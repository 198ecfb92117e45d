"""A hung worker (SIGSTOP: alive, silent): the pool's watchdog notices within stall_timeout (+ its 0.1 s poll and
the kill), ends the worker's streams with UNAVAILABLE WORKER_RESTART, and a new worker takes over."""

from __future__ import annotations

import os
import signal
import threading
import time

import grpc
import pytest

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
STALL_S = 2.0
BOUND_S = STALL_S + 1.5  # the watchdog's poll (0.1 s), SIGKILL and join, the Failed message to the client


def test_sigstopped_worker_is_replaced_within_the_bound(make_ckpt):
    with running_server(make_ckpt("tiny"), "--max-batch", "2", "--stall-timeout", str(STALL_S)) as server:
        stub = server.stub()
        (old,) = server.worker_pids()
        call = stub.Synthesize(request(LONG_TEXT, seed=LONG_SEED, max_audio_duration_ms=0), timeout=120)
        stream = collect(call, limit=3)  # started + 2 chunks: it is generating
        assert stream.events[0] == "started" and len(stream.chunks) >= 1
        ended: dict = {}

        def read_rest() -> None:
            collect(call, stream)
            ended["at"] = time.monotonic()

        reader = threading.Thread(target=read_rest)
        reader.start()
        os.kill(old, signal.SIGSTOP)
        stopped_at = time.monotonic()
        reader.join(30)
        took = ended["at"] - stopped_at
        assert stream.code == grpc.StatusCode.UNAVAILABLE, stream.code
        assert details(stream.error).reason == "WORKER_RESTART"
        assert took <= BOUND_S, f"the stream ended {took:.2f} s after SIGSTOP (bound {BOUND_S} s)"
        assert took >= STALL_S - 0.5  # the watchdog waited for the stall timeout, not less
        wait_for(lambda: not os.path.exists(f"/proc/{old}"), 10, what="the hung worker is gone")
        server.wait_health(1, 120)  # SERVING again: the replacement loaded
        (new,) = server.worker_pids()
        assert new != old
        synthesize(stub).ok()
        assert scrape(server).total("qwen3tts_worker_restarts_total") == 1
        print(f"watchdog: stream ended {took:.2f} s after SIGSTOP (stall_timeout {STALL_S} s)")
