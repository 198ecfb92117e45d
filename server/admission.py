"""Admission: a bounded priority queue in front of the workers' slots (the workers batch, at every step).

Requests wait here (interactive before batch, first come first served within a class) until some ready worker
has a free slot, then go to the worker with the most free slots. Admission fails fast with UNAVAILABLE
(+ RetryInfo) when the queue is full, no worker is ready, or the server is draining; a request that waits
longer than the queue timeout gets UNAVAILABLE too. A client that gives up (cancel, deadline) while queued
simply leaves the queue.

Each dispatched request gets a `Ticket`: its worker's messages as an async iterator, and `close()`, which stops
it in its worker at the next step. The worker may run at most CREDIT_FRAMES ahead of what the handler has
consumed (flow control, workers/protocol.py): a client that stops reading pauses its own generation, and nothing
piles up. A client that stops reading for good would keep its slot (and KV-cache rows) paused forever: a
ticket whose messages wait unread for `slow_client_timeout_s` is stopped in its worker (the slot is freed for
others) and its call ends with RESOURCE_EXHAUSTED CLIENT_TOO_SLOW, which the client sees if it ever reads again.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from contract.request import Priority, SynthesisRequest
from server import errors
from server.errors import unavailable
from workers import protocol as p
from workers.pool import NoCapacity, WorkerPool

CREDIT_FRAMES = 25  # 2 s of audio a worker may produce beyond what the client has taken
CREDIT_BATCH = 5  # grant credit back in batches of frames (fewer messages)


class Ticket:
    """A dispatched request: its worker's messages, credit as they are consumed, and the way to stop it."""

    def __init__(self, key: str, pool: WorkerPool, loop: asyncio.AbstractEventLoop):
        self.key, self._pool, self._loop = key, pool, loop
        self._queue: asyncio.Queue = asyncio.Queue()
        self._owed = 0
        self.closed = False
        self.stalled = False  # stopped because its consumer read nothing for too long
        self.ended = False  # its consumer has taken the last message (Finished or Failed)
        self.dispatched_at = time.monotonic()
        self.progress_at = self.dispatched_at  # when the consumer last took a message

    def deliver(self, msg) -> None:
        """Called on the pool's I/O thread."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, msg)

    async def next(self):
        msg = await self._queue.get()
        self.progress_at = time.monotonic()
        if isinstance(msg, (p.Finished, p.Failed)):
            self.ended = True
        return msg

    def unread_since(self, now: float) -> float:
        """Seconds its consumer has left delivered messages unread (0 when it is keeping up or has none)."""
        return now - self.progress_at if self._queue.qsize() and not self.closed else 0.0

    def frame_consumed(self) -> None:
        self.progress_at = time.monotonic()
        self._owed += 1
        if self._owed >= CREDIT_BATCH and not self.closed:
            self._pool.add_credit(self.key, self._owed)
            self._owed = 0

    def close(self) -> None:
        """Stop the request in its worker at the next step (a no-op once it has ended there)."""
        if not self.closed:
            self.closed = True
            self._pool.cancel(self.key)

    def append(self, texts: tuple[str, ...], end: bool = False) -> None:
        """An open request's next segments (streaming text input)."""
        if not self.closed:
            self._pool.append(self.key, texts, end)

    def interrupt(self) -> None:
        """An open request drops its unspoken text and stops speaking at the next step; it stays open."""
        if not self.closed:
            self._pool.interrupt(self.key)


@dataclass(order=True)
class _Entry:
    priority: int
    order: int
    key: str = field(compare=False)
    request: SynthesisRequest = field(compare=False)
    future: asyncio.Future = field(compare=False)
    expires: float = field(compare=False)
    enqueued: float = field(compare=False)


class Admission:
    def __init__(self, pool: WorkerPool, *, max_queue: int, queue_timeout_s: float,
                 on_queue_change: Callable[[dict[Priority, int]], None] = lambda waiting: None,
                 slow_client_timeout_s: float = 0.0):
        self.pool = pool
        self.slow_client_timeout_s = slow_client_timeout_s  # 0: never
        self._live: set[Ticket] = set()
        self.max_queue, self.queue_timeout_s = max_queue, queue_timeout_s
        self._on_queue_change = on_queue_change
        self._heap: list[_Entry] = []
        self._order = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.Task | None = None
        self.draining = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._timer = self._loop.create_task(self._expire_loop())

    async def stop(self) -> None:
        self.draining = True
        for entry in self._heap:
            if not entry.future.done():
                entry.future.set_exception(unavailable("the server is shutting down", "SHUTTING_DOWN"))
        self._heap.clear()
        if self._timer:
            self._timer.cancel()

    # ------------------------------------------------------------------ called by handlers
    async def admit(self, key: str, request: SynthesisRequest) -> Ticket:
        """Wait for a slot (`request` resolved: its priority set); raises ServiceError(UNAVAILABLE) when refused
        or timed out. `key` identifies the request to the pool (unique among those in flight)."""
        if self.draining:
            raise unavailable("the server is shutting down; retry on another replica", "SHUTTING_DOWN")
        if self.pool.ready_workers() == 0:
            raise unavailable("no worker is ready yet (starting or restarting)", "NOT_READY", retry_after_s=5.0)
        if len(self._heap) >= self.max_queue:
            raise unavailable(f"the queue is full ({self.max_queue} waiting)", "QUEUE_FULL", retry_after_s=1.0)
        now = time.monotonic()
        entry = _Entry(request.priority, next(self._order), key, request, self._loop.create_future(),
                       now + self.queue_timeout_s, now)
        heapq.heappush(self._heap, entry)
        self._changed()
        self.dispatch()
        try:
            return await entry.future
        except asyncio.CancelledError:
            self._remove(entry)
            if entry.future.done() and not entry.future.cancelled() and entry.future.exception() is None:
                entry.future.result().close()  # dispatched in the same instant the client left
            raise

    def open_session(self, key: str, request: SynthesisRequest, max_sessions: int) -> Ticket:
        """A streaming-input session takes no slot while it waits for text (its worker schedules its speech):
        it is routed at once to the worker with the fewest sessions, or refused with UNAVAILABLE."""
        if self.draining:
            raise unavailable("the server is shutting down; retry on another replica", "SHUTTING_DOWN")
        ticket = Ticket(key, self.pool, self._loop)
        try:
            self.pool.submit(key, request, ticket.deliver, credit=CREDIT_FRAMES, open=True, max_sessions=max_sessions)
        except NoCapacity as e:
            raise unavailable(f"no worker can take another streaming session ({e})", "SESSIONS_FULL",
                              retry_after_s=2.0) from e
        self._live.add(ticket)
        return ticket

    def waiting(self) -> dict[Priority, int]:
        counts: dict[Priority, int] = {}
        for e in self._heap:
            counts[e.priority] = counts.get(e.priority, 0) + 1
        return counts

    # ------------------------------------------------------------------ dispatch
    def dispatch(self) -> None:
        """Hand queued requests to free slots, best priority first. Runs on the event loop."""
        while self._heap and not self.draining:
            entry = self._heap[0]
            if entry.future.done():
                heapq.heappop(self._heap)
                continue
            ticket = Ticket(entry.key, self.pool, self._loop)
            try:
                self.pool.submit(entry.key, entry.request, ticket.deliver, credit=CREDIT_FRAMES)
            except NoCapacity:
                break
            heapq.heappop(self._heap)
            self._live.add(ticket)
            entry.future.set_result(ticket)
        self._changed()

    def wake(self) -> None:
        """Thread-safe: a slot may have freed up (called from the pool's I/O thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.dispatch)

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            self._stop_stalled(now)
            expired = [e for e in self._heap if e.expires <= now and not e.future.done()]
            for e in expired:
                e.future.set_exception(unavailable(
                    f"no slot became free within the queue timeout ({self.queue_timeout_s:g} s)", "QUEUE_TIMEOUT",
                    retry_after_s=2.0))
                self._remove(e)
            if expired:
                self._changed()

    def _stop_stalled(self, now: float) -> None:
        for ticket in list(self._live):
            if ticket.closed or ticket.ended:  # (forgotten at once: a finished call's ticket is never closed)
                self._live.discard(ticket)
            elif self.slow_client_timeout_s and ticket.unread_since(now) > self.slow_client_timeout_s:
                ticket.stalled = True
                ticket.close()  # the worker drops it at its next step: the slot and its KV rows are free
                self._live.discard(ticket)

    def too_slow(self) -> errors.ServiceError:
        """The error of a call whose ticket was stopped because its client read nothing."""
        return errors.ServiceError(
            errors.Status.RESOURCE_EXHAUSTED, f"the client read no audio for {self.slow_client_timeout_s:g} s; "
            "the stream was stopped to free its slot", reason="CLIENT_TOO_SLOW")

    def _remove(self, entry: _Entry) -> None:
        if entry in self._heap:
            self._heap.remove(entry)
            heapq.heapify(self._heap)
            self._changed()

    def _changed(self) -> None:
        self._on_queue_change(self.waiting())
