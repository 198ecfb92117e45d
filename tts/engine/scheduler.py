"""Iteration-level scheduling over a fixed set of slots (sequences and slot numbers only, no tensors).

Each engine step has three beats: the scheduler plans (`schedule`), the runner turns the plan into tensors and
runs the model, the scheduler folds the results back (`postprocess`). Planning:
  1. admit waiting sequences into free slots, first come first served, lowest free slot first;
  2. hand out prefill work in whole chunks of `prefill_chunk` prompt tokens, at most `prefill_budget` tokens per
     step while some stream is decoding (always at least one chunk), so a long prompt joining never freezes
     running streams for more than one budget's worth of talker work; with nothing decoding there is no one
     to delay, and up to `idle_prefill_budget` tokens go in one step (many requests arriving together all
     reach their first frame sooner). A prompt's chunk boundaries are fixed multiples of `prefill_chunk`,
     never a function of what else is prefilling: its numerics are the same alone or under load;
  3. list the decoding sequences that may emit a frame: those whose consumer has credit left. A sequence
     without credit is paused; it keeps its slot and resumes exactly where it stopped.
Folding back: prefill progress, frames and credit, first-frame time, the end of a segment (end of speech or
its runaway guard: the next segment starts in the same slot, prefilled from position 0 like an admission) and
the end of a sequence (its last segment's end, its frame bound, or a cancel) with its slot freed. An open
sequence that has spoken all its segments parks instead of ending (its slot freed; `resume` queues it again).
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from dataclasses import dataclass

from contract.outcome import FinishReason
from tts.engine.sequence import Sequence, Status


@dataclass(frozen=True)
class PrefillChunk:
    seq: Sequence
    start: int
    length: int


@dataclass(frozen=True)
class Plan:
    admitted: list[Sequence]  # took a slot, or start their next segment in it: the runner writes their parameters
    prefill: list[PrefillChunk]
    decode: list[Sequence]  # emit one frame each
    hold: list[Sequence]  # other occupied slots (prefilling or paused): their state must not move


@dataclass(frozen=True)
class Emitted:
    seq: Sequence
    index: int  # frame number within the request
    segment: int  # the segment this frame belongs to
    reason: FinishReason | None  # set when this frame is the sequence's last
    segment_ended: bool = False  # this frame ended a segment and the next one starts (give it its prompt)
    runaway: bool = False  # ... by the segment's runaway guard, not by end of speech
    parked: bool = False  # this frame ended the last segment an open sequence has: it gave its slot back


class Scheduler:
    def __init__(self, slots: int, prefill_chunk: int, prefill_budget: int, idle_prefill_budget: int | None = None):
        if slots < 1 or prefill_chunk < 1 or prefill_budget < 1:
            raise ValueError("slots, prefill_chunk and prefill_budget must be >= 1")
        self.slots = slots
        self.prefill_chunk, self.prefill_budget = prefill_chunk, prefill_budget
        self.idle_prefill_budget = max(prefill_budget, idle_prefill_budget or prefill_budget)
        # A min-heap: the lowest free slot is taken first, so occupied slots stay packed at the front and the
        # decode step can cover only the leading slots (see ModelRunner.decode_rows).
        self.free_slots: list[int] = list(range(slots))
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []  # prefilling or decoding, in admission order
        self._next_segments: list[Sequence] = []  # start their next segment: admitted again by the next plan

    @property
    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

    def add(self, seq: Sequence, parked: bool = False) -> None:
        """A new sequence waits for a slot (or, open and without text yet, is parked until text arrives)."""
        seq.submitted_at = time.monotonic()
        if parked:
            seq.status = Status.PARKED
        else:
            self.waiting.append(seq)

    def schedule(self) -> Plan:
        admitted, self._next_segments = self._next_segments, []
        now = time.monotonic()
        while self.waiting and self.free_slots:
            seq = self.waiting.popleft()
            seq.slot, seq.status, seq.admitted_at = heapq.heappop(self.free_slots), Status.PREFILLING, now
            self.running.append(seq)
            admitted.append(seq)
        decode = [s for s in self.running if s.status is Status.DECODING and s.has_credit]
        prefill = []
        budget = self.prefill_budget if decode else self.idle_prefill_budget
        for seq in (s for s in self.running if s.status is Status.PREFILLING):
            start = seq.prefilled
            while start < seq.prompt_len:
                n = min(self.prefill_chunk, seq.prompt_len - start)
                if prefill and n > budget:
                    break
                prefill.append(PrefillChunk(seq, start, n))
                budget -= n
                start += n
            if budget <= 0:
                break
        hold = [s for s in self.running if not (s.status is Status.DECODING and s.has_credit)]
        return Plan(admitted, prefill, decode, hold)

    def postprocess(self, plan: Plan, eos: list[bool]) -> list[Emitted]:
        """Fold a step's results back: `eos[i]` is True when plan.decode[i]'s next code is end-of-speech."""
        for chunk in plan.prefill:
            chunk.seq.prefilled += chunk.length
            if chunk.seq.prefilled == chunk.seq.prompt_len:
                chunk.seq.status = Status.DECODING
        now = time.monotonic()
        out = []
        for seq, ended in zip(plan.decode, eos, strict=True):
            index, segment = seq.frames, seq.segment
            seq.frames += 1
            seq.segment_frames += 1
            if seq.credit is not None:
                seq.credit -= 1
            if seq.first_frame_at is None:
                seq.first_frame_at = now
            runaway = not ended and seq.segment_frames >= seq.segment_max_frames
            last = not seq.has_next_segment and not seq.open
            reason = None
            if seq.frames >= seq.max_frames:
                reason = FinishReason.EOS if ended and last else FinishReason.MAX_FRAMES
            elif (ended or runaway) and last:
                reason = FinishReason.EOS if ended else FinishReason.MAX_FRAMES
            if reason is not None:
                self.finish(seq, reason)
                out.append(Emitted(seq, index, segment, reason))
            elif (ended or runaway) and seq.has_next_segment:
                seq.segment, seq.segment_frames, seq.prefilled = seq.segment + 1, 0, 0
                seq.status = Status.PREFILLING
                self._next_segments.append(seq)
                out.append(Emitted(seq, index, segment, None, segment_ended=True, runaway=runaway))
            elif ended or runaway:
                self.park(seq)
                out.append(Emitted(seq, index, segment, None, runaway=runaway, parked=True))
            else:
                out.append(Emitted(seq, index, segment, None))
        return out

    def park(self, seq: Sequence) -> None:
        """An open sequence with nothing left to say (or interrupted) gives its slot back; `seq.slot` keeps the
        number of the slot it left until the runner has set its codec state aside."""
        if seq.status is Status.WAITING:
            self.waiting.remove(seq)
        elif seq.status is not Status.PARKED:
            self.running.remove(seq)
            if seq in self._next_segments:
                self._next_segments.remove(seq)
            heapq.heappush(self.free_slots, seq.slot)
        seq.status = Status.PARKED
        seq.segment, seq.segment_frames, seq.prefilled = seq.segment + 1, 0, 0

    def resume(self, seq: Sequence) -> None:
        """A parked sequence's next segment has its prompt: wait for a slot again."""
        seq.status, seq.slot = Status.WAITING, None
        self.waiting.append(seq)

    def segment_prompt(self, seq: Sequence, prompt_len: int, max_frames: int) -> None:
        """The length and runaway guard of the segment a sequence starts next (its prompt is built by now)."""
        seq.prompt_len, seq.segment_max_frames = prompt_len, max_frames

    def add_credit(self, seq: Sequence, frames: int) -> None:
        if seq.credit is not None:
            seq.credit += frames

    def finish(self, seq: Sequence, reason: FinishReason) -> bool:
        """Retire a sequence (waiting or running) and free its slot for the next step; False if it had ended."""
        if seq.finished:
            return False
        if seq.status is Status.PARKED:
            pass
        elif seq.slot is None:
            self.waiting.remove(seq)
        else:
            self.running.remove(seq)
            if seq in self._next_segments:
                self._next_segments.remove(seq)
            heapq.heappush(self.free_slots, seq.slot)
        seq.status = Status.FINISHED
        seq.finish_reason = reason
        return True
