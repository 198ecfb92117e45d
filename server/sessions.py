"""A streaming-input session: speak a text while it is being written (an LLM's answer), turn after turn.

    session = StreamingSession(config, caps, admission, metrics, settings)  # config resolved (streaming=True)
    session.start()                    # routed to a worker: it holds no slot until text arrives
    session.feed("Hel"); session.feed("lo there. How")                       # deltas, down to single characters
    session.flush()                    # speak what is buffered now, even mid-sentence
    session.end_turn(last=True)        # the turn's text is complete (last: and the session's)
    async for event in session.events():    # Started, then per turn SegmentStarted / Audio ..., Finished
        ...
    session.end_turn()                 # ... or end only this turn: the next turn's text is taken after its Finished
    session.interrupt()                # barge-in: drop the buffered text, stop the audio at the next step
    session.close()                    # the one place a session's generation is stopped early

Text goes through the incremental segmenter (server/text/segment.py): a segment is released when it is surely
complete, on `flush`, after `idle_flush_s` without new text, or when the turn ends; each released segment is
normalized like a whole text's (server/text/plan.py `spoken`) and sent to the worker, which speaks it after the
previous one in one seamless codec stream. So text that arrives faster than the idle flush gives the segments,
and (same seed) the audio, of the same whole text through Synthesize. While the session has nothing to say its
worker sequence is parked: no slot, no decode step. Each turn has its own response pipeline (its own encoded
stream and usage) and ends with a `Finished` event; segment indices run on across turns. A turn that was ended
takes no more text: the next turn opens when its Finished has been yielded (or at once after `interrupt`).

A session that sends nothing and has nothing left to say for `settings.idle_timeout_s` fails with
DEADLINE_EXCEEDED (SESSION_IDLE_TIMEOUT): an abandoned session must not hold its place on a worker for ever.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from contract.capabilities import Capabilities
from contract.outcome import FinishReason
from contract.request import SynthesisRequest, TextSegment
from contract.rules import Violation
from server import errors
from server.admission import Admission, Ticket
from server.config import SessionSettings
from server.log import get_logger
from server.metrics import Metrics
from server.responses import Audio, Ending, Finished, ResponseEvent, ResponsePipeline
from server.text.plan import spoken
from server.text.segment import IncrementalSegmenter, SegmenterOverflow
from workers import protocol as p

log = get_logger("server.sessions")
_keys = itertools.count(1)


@dataclass
class _Turn:
    pipeline: ResponsePipeline
    first: int  # global index of its first segment
    released: int = 0  # segments released so far
    characters: int = 0
    input_ended: bool = False
    cancelled: bool = False

    @property
    def end(self) -> int:
        return self.first + self.released


class StreamingSession:
    def __init__(self, config: SynthesisRequest, caps: Capabilities, admission: Admission, metrics: Metrics,
                 settings: SessionSettings, received_at: float | None = None):
        self.config, self.caps, self.admission, self.metrics, self.settings = config, caps, admission, metrics, settings
        self.key = f"session-{next(_keys)}"
        self.received_at = received_at if received_at is not None else time.monotonic()
        self.segments: list[TextSegment] = []  # every released segment, by global index
        self._turns: deque[_Turn] = deque([self._new_turn(0)])
        self._segmenter = self._new_segmenter()
        self._ticket: Ticket | None = None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._idle: asyncio.TimerHandle | None = None  # the idle flush
        self._expiry: asyncio.TimerHandle | None = None  # the idle-session timeout
        self._spoken = 0  # segments the worker has spoken (or dropped), as of its last Parked
        self._parked = True
        self._closed = False
        self._finished = False  # the last turn was ended: no more text

    # ------------------------------------------------------------------ input
    def start(self) -> None:
        """Route the session to a worker (UNAVAILABLE when none can take it). Its Started comes at once."""
        self._ticket = self.admission.open_session(self.key, self.config, self.settings.max_sessions)
        self._touch()

    @property
    def quiet(self) -> bool:
        """Nothing to say: no text waits for release, the worker is parked, and no ended turn waits for its end."""
        return self._parked and self._idle is None and not any(t.input_ended for t in self._turns)

    def feed(self, delta: str) -> None:
        turn = self._input_turn()
        self._touch()
        try:
            segments = self._segmenter.feed(delta)
        except SegmenterOverflow as e:
            raise errors.ServiceError(errors.Status.RESOURCE_EXHAUSTED, str(e), [Violation("text", str(e))],
                                      reason="TEXT_BUFFER_FULL") from None
        turn.characters += len(delta)
        if turn.characters > self.caps.limits.max_text_characters:
            raise errors.ServiceError(errors.Status.RESOURCE_EXHAUSTED,
                                      f"the turn's text exceeds {self.caps.limits.max_text_characters} characters",
                                      [Violation("text", "too long for one turn")], reason="TEXT_LIMIT")
        self._release(turn, segments)
        self._arm_idle_flush()

    def flush(self) -> None:
        """Speak what is buffered now (also what the idle timer does)."""
        self._touch()
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if not self._closed and not self._finished and not self._turns[-1].input_ended:
            self._release(self._turns[-1], self._segmenter.flush())

    def end_turn(self, last: bool = False) -> None:
        """The turn's text is complete: speak the rest; `last`: no more turns (the session ends after it). The
        next turn's text is taken once this turn's Finished has been yielded."""
        turn = self._input_turn()
        self._touch()
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        self._release(turn, self._segmenter.end(), end=last)
        turn.input_ended = True
        self._finished = last
        self._segmenter = self._new_segmenter()
        self._queue.put_nowait(_Check())

    def interrupt(self) -> None:
        """Barge-in: drop the buffered text and stop the audio; the next text starts a new turn at once. Each turn
        cut ends with Finished(CANCELLED); a turn that had no input yet is dropped without one."""
        if self._closed or self._finished or self._ticket is None:
            return
        self._touch()
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        self._segmenter = self._new_segmenter()
        last = self._turns[-1]
        if not last.input_ended and last.characters == 0:  # nothing was said in it: nothing to cancel
            self._turns.pop()
        for turn in self._turns:
            turn.cancelled = turn.input_ended = True
        cut = bool(self._turns)
        self._turns.append(self._new_turn(len(self.segments)))
        if cut:
            self._ticket.interrupt()  # its Parked ends the cancelled turns (at once if it was parked already)
            self._queue.put_nowait(_Check())

    def fail(self, error: errors.ServiceError) -> None:
        """End the session with this error (raised by events()), e.g. a bad message on the input stream."""
        self._queue.put_nowait(error)
        self.close()

    def close(self) -> None:
        self._closed = True
        for timer in (self._idle, self._expiry):
            if timer is not None:
                timer.cancel()
        if self._ticket is not None:
            self._ticket.close()

    # ------------------------------------------------------------------ output
    async def events(self) -> AsyncIterator[ResponseEvent]:
        """Raises ServiceError for a failure (before or after audio was sent)."""
        assert self._ticket is not None, "start() first"
        worker = asyncio.ensure_future(self._ticket.next())
        own = asyncio.ensure_future(self._queue.get())
        encoding = self.config.audio_format.encoding.name
        try:
            while True:
                done, _ = await asyncio.wait({worker, own}, return_when=asyncio.FIRST_COMPLETED)
                messages = []
                if worker in done:
                    if self._ticket.stalled:
                        raise self.admission.too_slow()
                    messages.append(worker.result())
                    worker = asyncio.ensure_future(self._ticket.next())
                if own in done:
                    messages.append(own.result())
                    own = asyncio.ensure_future(self._queue.get())
                for msg in messages:
                    for event in self._on(msg):
                        if isinstance(event, Audio):
                            self.metrics.audio_chunks.labels(encoding=encoding).inc()
                        yield event
                        if isinstance(event, Finished) and self._finished and not self._turns:
                            return
        finally:
            worker.cancel()
            own.cancel()

    def _on(self, msg) -> list[ResponseEvent]:
        out: list[ResponseEvent] = []
        match msg:
            case errors.ServiceError():
                raise msg
            case p.Started():
                out.append(self._turns[0].pipeline.started(msg.seed))
            case p.Failed():
                raise errors.from_failure(msg.kind, msg.message, msg.violations)
            case p.Frame():
                out += self._turns_done(frame_segment=msg.segment)
                turn = self._turns[0] if self._turns else None
                # (frames of dropped text still on their way after a barge-in belong to no live turn)
                if turn is not None and not turn.cancelled and msg.segment >= turn.first:
                    out += turn.pipeline.frame(msg.pcm, msg.segment)
                    if turn.pipeline.cut:  # the session's duration bound: it ends here, whatever is left
                        self.close()
                        self._finished = True
                        out += self._finish(turn, FinishReason.CANCELLED)
                        self._turns.clear()
                self._ticket.frame_consumed()
            case p.Parked():
                self._spoken, self._parked = msg.segments, True
            case p.Finished():
                self._spoken, self._parked = len(self.segments), True
                out += self._turns_done(worker_finished=True)
        out += self._turns_done()
        return out

    def _turns_done(self, frame_segment: int = -1, worker_finished: bool = False) -> list[ResponseEvent]:
        """Finish the turns at the head of the line that are over: their text ended and every one of their
        segments was spoken (the worker parked past them, finished, or already speaks a later turn's)."""
        out: list[ResponseEvent] = []
        while self._turns:
            turn = self._turns[0]
            spoken_all = (self._parked and self._spoken >= turn.end) or frame_segment >= turn.end
            if turn.cancelled and self._parked:
                out += self._finish(turn, None)
            elif turn.input_ended and (spoken_all or worker_finished):
                out += self._finish(turn, FinishReason.EOS)
            else:
                break
        return out

    def _finish(self, turn: _Turn, reason: FinishReason | None) -> list[ResponseEvent]:
        """The turn's last events (`reason` None: it was interrupted); the next turn opens if none is open."""
        self._turns.popleft()
        if not self._turns and not self._finished and not self._closed:
            self._turns.append(self._new_turn(len(self.segments)))
        self._touch()
        events = turn.pipeline.finished(reason or FinishReason.CANCELLED, 0.0)
        # the pipeline counts the request's text, which a session does not have: the turn's characters instead
        usage = replace(events[-1].usage, input_characters=turn.characters)
        events[-1] = Finished(Ending.CANCELLED if reason is None else events[-1].ending, usage)
        log.info("session.turn_done", segments=turn.released, characters=turn.characters,
                 ending=events[-1].ending.name, audio_seconds=round(events[-1].usage.audio_s, 3))
        return events

    # ------------------------------------------------------------------ internals
    def _input_turn(self) -> _Turn:
        if self._closed:
            raise errors.ServiceError(errors.Status.FAILED_PRECONDITION, "the session is closed")
        if self._finished:
            raise errors.invalid([Violation("text", "comes after the end of the input")])
        turn = self._turns[-1]
        if turn.input_ended:
            raise errors.invalid([Violation("text", "the turn was ended: send the next turn's text after it is done")])
        return turn

    def _release(self, turn: _Turn, segments, end: bool = False) -> None:
        released = spoken(self.config, segments, first_index=turn.first)
        turn.released += len(released)
        self.segments += released
        if released or end:
            self._parked = self._parked and not released
            self._ticket.append(tuple(s.text for s in released), end)

    def _touch(self) -> None:
        """Input came or a turn ended: the idle-session timeout counts from now."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self.settings.idle_timeout_s > 0 and not self._closed:
            self._expiry = asyncio.get_running_loop().call_later(self.settings.idle_timeout_s, self._expire)

    def _expire(self) -> None:
        self._expiry = None
        if self._closed:
            return
        if not self.quiet:  # still speaking: the idle time counts from the end of its turn
            self._touch()
            return
        t = self.settings.idle_timeout_s
        log.info("session.idle_timeout", idle_s=t)
        self.fail(errors.ServiceError(errors.Status.DEADLINE_EXCEEDED,
                                      f"the session sent no input for {t:g} s (the server's session_idle_timeout)",
                                      reason="SESSION_IDLE_TIMEOUT"))

    def _arm_idle_flush(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(self.settings.idle_flush_s, self.flush)

    def _new_segmenter(self) -> IncrementalSegmenter:
        return IncrementalSegmenter(self.config.language, max_buffer=self.settings.max_buffer_chars)

    def _new_turn(self, first: int) -> _Turn:
        pipeline = ResponsePipeline(self.config, self.caps, time.monotonic())
        pipeline.segments = self.segments  # the session's list: indices run on across turns
        return _Turn(pipeline, first)


class _Check:
    """Wakes the events() loop to look at the turns again (a turn may be over without a worker message)."""
