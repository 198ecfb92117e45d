"""A worker that dies while loading. At first start nothing has ever served: the server says why and exits 1
(the orchestrator restarts the pod; quick, so it runs in `make test`). A replacement that dies while loading is
spawned again after a back-off, and the next one serves (`make faults`)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.e2e import ServerProcess, scrape, synthesize, wait_for


def _kill_while_loading(server: ServerProcess, old: set[int]) -> int:
    pid = wait_for(lambda: next(iter(set(server.worker_pids()) - old), None), 60, 0.02, "a new worker process")
    assert server.health() != 1  # not SERVING: it is still loading
    os.kill(pid, signal.SIGKILL)
    return pid


def test_death_while_loading_at_first_start_exits_the_server(make_ckpt):  # in the default run (~6 s)
    server = ServerProcess(make_ckpt("tiny"), "--max-batch", "1")
    server.start(wait_ready=False)
    try:
        _kill_while_loading(server, set())
        code = server.proc.wait(60)
        assert code == 1
        exits = server.events("server.exit")
        assert exits and "exited during startup" in exits[0]["reason"], server.lines[-10:]
    finally:
        server.stop()


@pytest.mark.faults
def test_replacement_dying_while_loading_is_spawned_again(make_ckpt):
    server = ServerProcess(make_ckpt("tiny"), "--max-batch", "1")
    server.start()
    try:
        (first,) = server.worker_pids()
        os.kill(first, signal.SIGKILL)  # a crash while serving: replaced at once
        second = _kill_while_loading(server, {first})  # ... and the replacement dies while loading
        t0 = time.monotonic()
        server.wait_health(1, 180)  # a third process, after the back-off, serves
        (third,) = server.worker_pids()
        assert third not in (first, second)
        synthesize(server.stub()).ok()
        assert scrape(server).total("qwen3tts_worker_restarts_total") == 2
        assert server.proc.poll() is None
        print(f"served again {time.monotonic() - t0:.1f} s after the replacement died while loading")
    finally:
        server.stop()
