"""Worker processes seen from the parent: spawn, route, supervise, restart.

The pool never imports torch (the gRPC server uses it). Each worker is a spawned process with two one-way
pipes. One I/O thread waits on every worker's pipe and process sentinel at once: it delivers each message to
the sink of the request it belongs to, and it is the supervisor:
  - a worker whose process exits (crash, SIGKILL, OOM) fails its in-flight requests at once with kind
    "worker_restarted" and is restarted; admission to it resumes when the new process reports Ready;
  - a worker that has requests but sends nothing (no frame, no stats) for `stall_timeout_s` is stuck: it is
    killed, then handled as above;
  - a worker that fails before its first Ready (bad checkpoint, out of memory) is not restarted: the pool
    reports the worker's message instead of looping;
  - a replacement that dies while loading (after its predecessor had served) is spawned again after a back-off
    (RESPAWN_BACKOFF_S, doubling), up to MAX_FAILED_LOADS times in a row; then the pool fails.
Sends go through a per-worker thread, so a stuck worker can never block the caller (e.g. an event loop).
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait

from contract.outcome import FailureKind
from contract.request import SynthesisRequest
from workers import protocol as p
from workers.process import worker_main

log = logging.getLogger(__name__)

RESPAWN_BACKOFF_S = 0.5  # before the first re-spawn of a replacement that died while loading; doubles each time
MAX_FAILED_LOADS = 5  # replacements in a row that die while loading before the pool gives up

Sink = Callable[[object], None]  # receives Started / Frame / Finished / Failed for one request


class NoCapacity(RuntimeError):
    """No ready worker has a free slot right now."""


class PoolFailed(RuntimeError):
    """The workers cannot start (their own message says why)."""


@dataclass(eq=False)
class _Worker:
    worker_id: int
    spec: p.WorkerSpec
    process: multiprocessing.process.BaseProcess | None = None
    inbox: Connection | None = None  # parent -> worker
    outbox: Connection | None = None  # worker -> parent
    sendq: queue.SimpleQueue | None = None
    state: str = "starting"  # starting | ready | stopped
    info: p.WorkerInfo | None = None
    stats: p.Stats | None = None
    requests: dict[str, Sink] = field(default_factory=dict)  # synthesis requests: each holds a slot
    sessions: dict[str, Sink] = field(default_factory=dict)  # open requests: a slot only while they speak
    voice_ops: dict[str, Sink] = field(default_factory=dict)  # voice commands: answered between steps, no slot
    last_seen: float = 0.0
    ever_ready: bool = False  # this process has sent Ready
    served: bool = False  # some process of this worker has been ready (a replacement is restarted on death)
    failed_loads: int = 0  # replacements in a row that died before Ready
    respawn_at: float | None = None  # a back-off before the next spawn
    restarts: int = 0

    @property
    def free_slots(self) -> int:
        return self.info.slots - len(self.requests) if self.state == "ready" and self.info else 0


class WorkerPool:
    def __init__(self, spec: p.WorkerSpec, workers: int = 1, *, devices: list[str] | None = None,
                 stall_timeout_s: float = 60.0, on_change: Callable[[], None] | None = None):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        devices = devices or [spec.device]
        self._ctx = multiprocessing.get_context("spawn")
        self._workers = [_Worker(i, replace(spec, device=devices[i % len(devices)])) for i in range(workers)]
        self._routes: dict[str, _Worker] = {}
        self._lock = threading.RLock()
        self._stall_timeout_s = stall_timeout_s
        self._on_change = on_change or (lambda: None)
        self._closing = False
        self._fatal: str | None = None
        self._ready = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._io_loop, name="worker-pool-io", daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with self._lock:
            for w in self._workers:
                self._spawn(w)
        self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until every worker is ready. Raises PoolFailed if a worker cannot start, TimeoutError."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while not all(w.state == "ready" for w in self._workers):
                if self._fatal:
                    raise PoolFailed(self._fatal)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"workers not ready after {timeout} s")
                self._ready.wait(left if left is not None else 1.0)

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._closing = True
            for w in self._workers:
                if w.sendq is not None:
                    w.sendq.put(p.Shutdown())
        deadline = time.monotonic() + timeout
        for w in self._workers:
            if w.process is not None:
                w.process.join(max(0.0, deadline - time.monotonic()))
                if w.process.is_alive():
                    w.process.kill()
                    w.process.join(5)
        self._thread.join(5)

    # ------------------------------------------------------------------ requests
    def submit(self, request_id: str, request: SynthesisRequest, sink: Sink, *, credit: int | None = None,
               open: bool = False, max_sessions: int = 0) -> int:
        """Route to the ready worker with the most free slots. Raises NoCapacity, PoolFailed. An `open` request
        (streaming text input) takes a slot only while it speaks, which its worker schedules: it is routed to
        the ready worker with the fewest open requests, at most `max_sessions` per worker."""
        with self._lock:
            if self._fatal:
                raise PoolFailed(self._fatal)
            if request_id in self._routes:
                raise ValueError(f"request id {request_id!r} is already in flight")
            if open:
                ready = [w for w in self._workers if w.state == "ready"]
                worker = min(ready, key=lambda w: len(w.sessions), default=None)
                if worker is None or len(worker.sessions) >= max_sessions:
                    raise NoCapacity("no ready worker can take another streaming session")
                routes = worker.sessions
            else:
                worker = max(self._workers, key=lambda w: w.free_slots)
                if worker.free_slots <= 0:
                    raise NoCapacity("no ready worker has a free slot")
                routes = worker.requests
            if not (worker.requests or worker.sessions):
                worker.last_seen = time.monotonic()  # the stall clock starts with the first request
            routes[request_id] = sink
            self._routes[request_id] = worker
            worker.sendq.put(p.Submit(request_id, request, credit, open))
            return worker.worker_id

    def append(self, request_id: str, texts: tuple[str, ...], end: bool = False) -> None:
        """More segments for an open request (the last of them with `end`)."""
        self._send(request_id, p.Append(request_id, texts, end))

    def interrupt(self, request_id: str) -> None:
        """Barge-in: the open request drops its unspoken text and stops speaking; it stays open."""
        self._send(request_id, p.Interrupt(request_id))

    def voice_command(self, command: p.VoiceCommand, sink: Sink) -> int:
        """Run a voice register/delete/list on a ready worker (no slot needed); the answer is one VoiceResult."""
        with self._lock:
            if self._fatal:
                raise PoolFailed(self._fatal)
            ready = [w for w in self._workers if w.state == "ready"]
            if not ready:
                raise NoCapacity("no worker is ready")
            worker = max(ready, key=lambda w: w.free_slots)
            worker.voice_ops[command.request_id] = sink
            self._routes[command.request_id] = worker
            worker.sendq.put(command)
            return worker.worker_id

    def cancel(self, request_id: str) -> None:
        self._send(request_id, p.Cancel(request_id))

    def add_credit(self, request_id: str, frames: int) -> None:
        self._send(request_id, p.Credit(request_id, frames))

    def _send(self, request_id: str, msg) -> None:
        """To the worker that has `request_id` (nothing if it has ended)."""
        with self._lock:
            worker = self._routes.get(request_id)
            if worker is not None:
                worker.sendq.put(msg)

    # ------------------------------------------------------------------ views
    @property
    def info(self) -> p.WorkerInfo | None:
        with self._lock:
            return next((w.info for w in self._workers if w.info is not None), None)

    def free_slots(self) -> int:
        with self._lock:
            return sum(w.free_slots for w in self._workers)

    def ready_workers(self) -> int:
        with self._lock:
            return sum(w.state == "ready" for w in self._workers)

    def snapshot(self) -> list[dict]:
        """Per worker: state, pid, restarts, in-flight requests and the latest engine stats."""
        with self._lock:
            return [{"worker": w.worker_id, "state": w.state, "pid": w.process.pid if w.process else None,
                     "restarts": w.restarts, "in_flight": len(w.requests), "free_slots": w.free_slots,
                     "stats": w.stats} for w in self._workers]

    # ------------------------------------------------------------------ internals
    def _spawn(self, w: _Worker) -> None:
        inbox_r, inbox_w = self._ctx.Pipe(duplex=False)
        outbox_r, outbox_w = self._ctx.Pipe(duplex=False)
        w.process = self._ctx.Process(target=worker_main, args=(w.worker_id, w.spec, inbox_r, outbox_w),
                                      name=f"qwen3-tts-worker-{w.worker_id}", daemon=True)
        w.process.start()
        inbox_r.close()  # the child's ends: closing ours makes the child's death visible as EOF
        outbox_w.close()
        w.inbox, w.outbox, w.state, w.info, w.stats = inbox_w, outbox_r, "starting", None, None
        w.sendq = queue.SimpleQueue()
        threading.Thread(target=_sender, args=(w.inbox, w.sendq), name=f"worker-{w.worker_id}-send",
                         daemon=True).start()
        w.last_seen = time.monotonic()

    def _io_loop(self) -> None:
        while True:
            with self._lock:
                if self._closing and all(not (w.process and w.process.is_alive()) for w in self._workers):
                    return
                waitables = {}
                for w in self._workers:
                    if w.process is not None and w.state != "stopped":
                        waitables[w.outbox] = w
                        waitables[w.process.sentinel] = w
            ready = wait(list(waitables), timeout=0.1)
            for obj in ready:
                w = waitables[obj]
                if obj is w.outbox:
                    self._drain(w)
                elif w.state != "stopped":
                    self._drain(w)  # messages sent just before exiting still count
                    self._on_exit(w, f"exit code {w.process.exitcode}")
            self._watchdog()

    def _drain(self, w: _Worker) -> None:
        try:
            while w.outbox.poll():
                self._dispatch(w, w.outbox.recv())
        except (EOFError, OSError):
            pass  # the sentinel reports the exit

    def _dispatch(self, w: _Worker, msg) -> None:
        ended, sink = False, None
        with self._lock:
            w.last_seen = time.monotonic()
            match msg:
                case p.Stats():
                    w.stats = msg
                case p.Ready():
                    w.state, w.info, w.ever_ready, w.served, w.failed_loads = "ready", msg.info, True, True, 0
                    self._ready.notify_all()
                    log.info("worker %d ready (pid %d)", w.worker_id, msg.info.pid)
                case p.Fatal():
                    self._fatal = f"worker {w.worker_id} could not start: {msg.message}"
                    self._ready.notify_all()
                case p.VoiceResult():
                    sink = w.voice_ops.pop(msg.request_id, None)
                    self._routes.pop(msg.request_id, None)
                case p.Finished() | p.Failed():
                    sink = w.requests.pop(msg.request_id, None) or w.sessions.pop(msg.request_id, None)
                    self._routes.pop(msg.request_id, None)
                    ended = True
                case _:  # Started, Frame, Parked
                    sink = w.requests.get(msg.request_id) or w.sessions.get(msg.request_id)
        if sink is not None:
            sink(msg)
        if ended or isinstance(msg, (p.Ready, p.Fatal)):
            self._on_change()

    def _on_exit(self, w: _Worker, why: str) -> None:
        with self._lock:
            w.state = "stopped"
            lost = {**w.requests, **w.sessions, **w.voice_ops}
            w.requests, w.sessions, w.voice_ops = {}, {}, {}
            for rid in lost:
                self._routes.pop(rid, None)
            restart = not self._closing and w.served and not self._fatal
            if w.ever_ready and not self._closing:
                log.error("worker %d stopped (%s) with %d requests in flight", w.worker_id, why, len(lost))
            elif restart:
                w.failed_loads += 1
                log.error("worker %d died while loading (%s), %d time(s) in a row", w.worker_id, why,
                          w.failed_loads)
                if w.failed_loads >= MAX_FAILED_LOADS:
                    restart = False
                    self._fatal = f"worker {w.worker_id} died while loading {w.failed_loads} times in a row ({why})"
                    self._ready.notify_all()
        for rid, sink in lost.items():
            sink(p.Failed(rid, FailureKind.WORKER_RESTARTED,
                          f"the worker serving this request stopped ({why}); it is being restarted, retry"))
        if restart:
            with self._lock:
                w.restarts += 1
                w.ever_ready = False
                if w.failed_loads:
                    w.respawn_at = time.monotonic() + RESPAWN_BACKOFF_S * 2 ** (w.failed_loads - 1)
                else:
                    self._spawn(w)
        elif not w.served and not self._closing and not self._fatal:
            with self._lock:
                self._fatal = f"worker {w.worker_id} exited during startup ({why})"
                self._ready.notify_all()
        self._on_change()

    def _watchdog(self) -> None:
        now = time.monotonic()
        with self._lock:
            for w in self._workers:
                if w.respawn_at is not None and now >= w.respawn_at and not self._closing:
                    w.respawn_at = None
                    self._spawn(w)
            stuck = [w for w in self._workers if w.state == "ready" and (w.requests or w.sessions or w.voice_ops)
                     and now - w.last_seen > self._stall_timeout_s]
        for w in stuck:
            log.error("worker %d made no progress for %.0f s: killing it", w.worker_id, now - w.last_seen)
            w.process.kill()
            w.process.join(5)
            self._on_exit(w, f"no progress for {self._stall_timeout_s:g} s")


def _sender(conn: Connection, q: queue.SimpleQueue) -> None:
    while True:
        msg = q.get()
        try:
            conn.send(msg)
        except (BrokenPipeError, OSError):
            return
        if isinstance(msg, p.Shutdown):
            return
