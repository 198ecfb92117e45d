"""Real worker processes under the pool: frames equal the in-process engine's, cancel frees the slot, and a
killed or stuck worker fails its requests with the restart error, comes back, and serves again."""

from __future__ import annotations

import os
import queue
import signal
import time

import numpy as np
import pytest
import torch

from contract.outcome import FailureKind, FinishReason
from contract.request import GREEDY, SynthesisRequest
from tts.engine.loader import load_engine
from workers import protocol as p
from workers.pool import NoCapacity, PoolFailed, WorkerPool

SLOTS = 3
FRAMES = 40
REQ = SynthesisRequest(text="Hello world, this is a test.", voice="ryan", language="english",
                       sampling=GREEDY, max_audio_duration_ms=FRAMES * 80)


class Collector:
    """A request's sink: every message with its arrival time."""

    def __init__(self):
        self.q: queue.Queue = queue.Queue()

    def __call__(self, msg) -> None:
        self.q.put((time.monotonic(), msg))

    def until_end(self, timeout: float = 60) -> list:
        out = []
        while True:
            _, msg = self.q.get(timeout=timeout)
            out.append(msg)
            if isinstance(msg, (p.Finished, p.Failed)):
                return out

    def next_frame(self, timeout: float = 60) -> p.Frame:
        while True:
            _, msg = self.q.get(timeout=timeout)
            if isinstance(msg, p.Frame):
                return msg


def _spec(ckpt, **kw) -> p.WorkerSpec:
    # The same thread count as this process: kernels split reductions by thread, so bit-exact comparisons
    # with the in-process engine need it.
    return p.WorkerSpec(model=str(ckpt), slots=SLOTS, max_context=256, prefill_chunk=16, prefill_budget=32,
                        threads=torch.get_num_threads(), heartbeat_s=0.2, **kw)


@pytest.fixture(scope="module")
def pool(tiny_ckpt):
    pool = WorkerPool(_spec(tiny_ckpt), workers=1, stall_timeout_s=3.0)
    pool.start()
    pool.wait_ready(timeout=180)
    yield pool
    pool.close()


def _wait(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_worker_reports_its_model_and_streams_what_the_engine_makes(pool, tiny_ckpt):
    info = pool.info
    caps = info.capabilities
    assert caps.model_type == "custom_voice" and "ryan" in caps.speakers and info.slots == SLOTS
    assert caps.sample_rate == 24000 and caps.samples_per_frame == 1920 and info.pid != os.getpid()
    sink = Collector()
    pool.submit("r1", REQ, sink)
    msgs = sink.until_end()
    assert isinstance(msgs[0], p.Started) and isinstance(msgs[-1], p.Finished)
    frames = [m for m in msgs if isinstance(m, p.Frame)]
    assert [f.index for f in frames] == list(range(len(frames))) == list(range(msgs[-1].outcome.frames))
    engine = load_engine(str(tiny_ckpt), slots=SLOTS, max_context=256, prefill_chunk=16, prefill_budget=32)
    ref = engine.synthesize(REQ)
    np.testing.assert_array_equal(np.stack([f.codes for f in frames]), ref.codes)
    np.testing.assert_array_equal(np.concatenate([f.pcm for f in frames]), ref.pcm)


def test_invalid_request_fails_with_the_field(pool):
    sink = Collector()
    pool.submit("bad", SynthesisRequest(text="Hi", voice="nobody"), sink)
    (msg,) = sink.until_end()
    assert isinstance(msg, p.Failed) and msg.kind is FailureKind.INVALID and msg.violations[0].field == "voice"


def test_no_capacity_beyond_the_slots(pool):
    sinks = [Collector() for _ in range(SLOTS)]
    for i, s in enumerate(sinks):
        pool.submit(f"cap{i}", REQ, s, credit=1)
    with pytest.raises(NoCapacity):
        pool.submit("cap-extra", REQ, Collector())
    for i, s in enumerate(sinks):
        pool.cancel(f"cap{i}")
        assert s.until_end()[-1].outcome.reason in (FinishReason.CANCELLED, FinishReason.MAX_FRAMES, FinishReason.EOS)
    _wait(lambda: pool.free_slots() == SLOTS)


def test_credit_pauses_then_resumes(pool):
    sink = Collector()
    pool.submit("credit", REQ, sink, credit=4)
    for _ in range(4):
        sink.next_frame()
    time.sleep(0.5)
    assert all(not isinstance(m, p.Frame) for _, m in list(sink.q.queue))  # paused: nothing beyond the credit
    _wait(lambda: (pool.snapshot()[0]["stats"] or p.Stats(0, 0, 0, 0, 0, 0, {})).paused == 1)
    pool.add_credit("credit", 1000)
    msgs = sink.until_end()
    assert msgs[-1].outcome.frames == FRAMES


def test_cancel_mid_stream_frees_the_slot_within_a_step(pool):
    sink, other = Collector(), Collector()
    pool.submit("victim", REQ, sink)
    pool.submit("bystander", REQ, other)
    sink.next_frame()
    pool.cancel("victim")
    assert sink.until_end()[-1].outcome.reason is FinishReason.CANCELLED
    # The worker handles a cancel between steps and reports it at once: every stats message from the next
    # step on shows the slot free.
    steps = pool.snapshot()[0]["stats"].steps
    _wait(lambda: pool.snapshot()[0]["stats"].steps > steps)
    stats = pool.snapshot()[0]["stats"]
    assert stats.running == 1 and stats.free_slots == SLOTS - 1
    rest = other.until_end()
    assert rest[-1].outcome.frames == FRAMES


def _restart_scenario(pool, kill) -> None:
    sink = Collector()
    pool.submit("doomed", REQ, sink)
    sink.next_frame()
    restarts = pool.snapshot()[0]["restarts"]
    killed_at = time.monotonic()
    kill(pool.snapshot()[0]["pid"])
    while True:
        at, msg = sink.q.get(timeout=30)
        if isinstance(msg, p.Failed):
            break
    assert msg.kind is FailureKind.WORKER_RESTARTED
    pool.wait_ready(timeout=180)
    assert pool.snapshot()[0]["restarts"] == restarts + 1
    again = Collector()
    pool.submit("after-restart", REQ, again)
    assert again.until_end()[-1].outcome.frames == FRAMES
    return at - killed_at


def test_sigkill_fails_in_flight_requests_fast_and_the_worker_comes_back(pool):
    took = _restart_scenario(pool, lambda pid: os.kill(pid, signal.SIGKILL))
    assert took < 1.0


def test_a_stuck_worker_is_killed_by_the_watchdog(pool):
    # SIGSTOP freezes the process: alive, but no progress. The watchdog (3 s here) must notice.
    took = _restart_scenario(pool, lambda pid: os.kill(pid, signal.SIGSTOP))
    assert 2.5 < took < 8.0


def test_a_worker_that_cannot_start_is_reported_not_restarted(tmp_path):
    pool = WorkerPool(_spec(tmp_path / "missing"), workers=1)
    pool.start()
    with pytest.raises(PoolFailed, match="not a Qwen3-TTS|neither a checkpoint"):
        pool.wait_ready(timeout=120)
    with pytest.raises(PoolFailed):
        pool.submit("x", REQ, Collector())
    pool.close()
    assert pool.snapshot()[0]["restarts"] == 0
