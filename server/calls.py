"""One synthesis from admission to its last message: the object that owns a request in the server.

    call = SynthesisCall(request, capabilities, admission, metrics, received_at, door="grpc")  # resolved
    async for event in call.events():       # Started, Audio..., Finished  (server/responses.py)
        send(to_wire(event))
    call.close()                             # on any early exit: the one place a generation is stopped

It waits for a slot (admission), feeds the worker's messages through the response pipeline, grants the worker
credit as the door consumes audio, stops the generation when the pipeline cuts at the duration bound, and
records the request's metrics and its `request.finished` log line. Transport-free: every door uses it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import replace

from contract.capabilities import Capabilities, Limits
from contract.outcome import FinishReason
from contract.request import SynthesisRequest
from contract.rules import InvalidRequest, resolve
from server import errors
from server.admission import Admission, Ticket
from server.log import get_logger
from server.metrics import Metrics
from server.responses import Audio, Finished, ResponseEvent, ResponsePipeline
from server.text.plan import plan
from workers import protocol as p
from workers.pool import WorkerPool

log = get_logger("server.calls")
PRIORITY_NAMES = {1: "interactive", 2: "batch"}  # metric label values by contract.request.Priority
_keys = itertools.count(1)


def prepare(request: SynthesisRequest, caps: Capabilities) -> SynthesisRequest:
    """A door's parsed request, resolved by the rulebook and cut into its spoken segments (the text front
    end); raises ServiceError(INVALID_ARGUMENT) naming every field at fault."""
    try:
        return plan(resolve(request, caps))
    except InvalidRequest as e:
        raise errors.invalid(e.violations) from None


def prepare_session(config: SynthesisRequest, caps: Capabilities) -> SynthesisRequest:
    """A streaming session's configuration (no text yet), resolved; it always announces its segments."""
    try:
        return replace(resolve(config, caps, streaming=True), segment_events=True)
    except InvalidRequest as e:
        raise errors.invalid(e.violations) from None


def capabilities(pool: WorkerPool, limits: Limits) -> Capabilities:
    """What the served model can do under this server's limits; UNAVAILABLE until a worker has loaded it."""
    info = pool.info
    if info is None:
        raise errors.unavailable("the model is still loading", "NOT_READY", retry_after_s=5.0)
    return info.capabilities.with_limits(limits)


class SynthesisCall:
    def __init__(self, request: SynthesisRequest, caps: Capabilities, admission: Admission, metrics: Metrics,
                 received_at: float, *, door: str):
        self.request, self.admission, self.metrics = request, admission, metrics
        self.door = door  # metric label: the front door it came through (server/metrics.py DOORS)
        # The pool's key of this call. Not the request id: that one comes from the client and may repeat
        # (retries, fan-out); as a key, two concurrent calls with one id would collide in the pool.
        self.key = f"synthesize-{next(_keys)}"
        self.pipeline = ResponsePipeline(request, caps, received_at)
        self.received_at = received_at
        self._ticket: Ticket | None = None
        self._closed = False
        self._priority = PRIORITY_NAMES[request.priority]

    def close(self) -> None:
        """Stop the generation (idempotent; a no-op once it has ended in the worker)."""
        self._closed = True
        if self._ticket is not None:
            self._ticket.close()

    async def events(self) -> AsyncIterator[ResponseEvent]:
        """Raises ServiceError for a refusal or a failure (before or after audio was sent)."""
        if self.request.dry_run:
            for event in self._dry_run():
                yield event
            return
        ticket = self._ticket = await self.admission.admit(self.key, self.request)
        if self._closed:  # the door gave up while the request was being admitted
            ticket.close()
            return
        queue_s = ticket.dispatched_at - self.received_at
        self.metrics.queue_wait.labels(priority=self._priority).observe(queue_s)
        last_chunk = None
        while True:
            msg = await ticket.next()
            if ticket.stalled:
                raise self.admission.too_slow()
            match msg:
                case p.Started():
                    yield self.pipeline.started(msg.seed)
                    continue
                case p.Failed():
                    raise errors.from_failure(msg.kind, msg.message, msg.violations)
                case p.Frame():
                    out = self.pipeline.frame(msg.pcm, msg.segment)
                    if self.pipeline.cut:  # the duration bound: stop the worker, the audio ends here
                        self.close()
                        out += self.pipeline.finished(FinishReason.CANCELLED, queue_s)
                case p.Finished():
                    out = self.pipeline.finished(msg.outcome.reason, queue_s)
            for event in out:
                if isinstance(event, Audio):
                    now = time.monotonic()
                    if last_chunk is None:
                        self.metrics.time_to_first_audio.labels(door=self.door, priority=self._priority).observe(
                            now - self.received_at)
                    else:
                        self.metrics.chunk_interval.observe(now - last_chunk)
                    last_chunk = now
                    self.metrics.audio_chunks.labels(encoding=self.request.audio_format.encoding.name).inc()
                elif isinstance(event, Finished):
                    self._account(event)
                yield event
            if isinstance(msg, p.Frame):
                ticket.frame_consumed()
            if any(isinstance(e, Finished) for e in out):
                return

    def _dry_run(self) -> list[ResponseEvent]:
        """The segments as they would be spoken, without synthesis (no slot, no audio)."""
        log.info("request.dry_run", segments=len(self.request.segments))
        return self.pipeline.dry_run()

    def _account(self, finished: Finished) -> None:
        u, enc = finished.usage, self.request.audio_format.encoding.name
        self.metrics.audio_seconds.labels(encoding=enc).inc(u.audio_s)
        self.metrics.generated_frames.inc(u.generated_frames)
        self.metrics.input_characters.inc(u.input_characters)
        if u.audio_s > 0:
            self.metrics.real_time_factor.observe(u.processing_s / u.audio_s)
        log.info("request.finished", frames=u.generated_frames, audio_seconds=round(u.audio_s, 3),
                 queue_s=round(u.queue_s, 4), time_to_first_audio_s=round(u.time_to_first_audio_s, 4),
                 total_s=round(u.processing_s, 3), finish_reason=f"FINISH_REASON_{finished.ending.name}")


def count_rejection(metrics: Metrics, err: errors.ServiceError, door: str) -> None:
    """requests_rejected_total for a request refused before any audio (label values: server/metrics.py)."""
    reason = {"QUEUE_FULL": "queue_full", "QUEUE_TIMEOUT": "queue_timeout", "NOT_READY": "not_ready",
              "SHUTTING_DOWN": "shutting_down"}.get(err.reason or "")
    if err.status is errors.Status.INVALID_ARGUMENT:
        reason = "invalid_argument"
    if reason:
        metrics.requests_rejected.labels(door=door, reason=reason).inc()
