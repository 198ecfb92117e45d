"""Iteration-level scheduling over a fixed set of slots (sequences and slot numbers only, no tensors).

Every engine step the scheduler:
  1. admits waiting sequences into free slots, first come first served;
  2. hands out prefill work in whole chunks of `prefill_chunk` prompt tokens, at most `prefill_budget` tokens per
     step while some stream is decoding (always at least one chunk), so a long prompt joining never freezes
     running streams for more than one budget's worth of talker work; with nothing decoding there is no one
     to delay, and up to `idle_prefill_budget` tokens go in one step (many requests arriving together all
     reach their first frame sooner). A prompt's chunk boundaries are fixed multiples of `prefill_chunk`,
     never a function of what else is prefilling: its numerics are the same alone or under load;
  3. lists the decoding sequences that may emit a frame: those whose consumer has credit left. A sequence
     without credit is paused; it keeps its slot and resumes exactly where it stopped.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

from workers.engine.sequence import FinishReason, Sequence, Status


@dataclass(frozen=True)
class PrefillChunk:
    seq: Sequence
    start: int
    length: int


@dataclass(frozen=True)
class Plan:
    prefill: list[PrefillChunk]
    decode: list[Sequence]
    paused: list[Sequence]  # decoding sequences skipped for lack of credit


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

    @property
    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

    def add(self, seq: Sequence) -> None:
        self.waiting.append(seq)

    def schedule(self) -> Plan:
        while self.waiting and self.free_slots:
            seq = self.waiting.popleft()
            seq.slot = heapq.heappop(self.free_slots)
            seq.status = Status.PREFILLING
            self.running.append(seq)
        decoding = [s for s in self.running if s.status is Status.DECODING]
        prefill = []
        budget = self.prefill_budget if any(s.has_credit for s in decoding) else self.idle_prefill_budget
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
        return Plan(prefill, [s for s in decoding if s.has_credit], [s for s in decoding if not s.has_credit])

    def prefilled(self, chunk: PrefillChunk) -> None:
        chunk.seq.prefilled += chunk.length
        if chunk.seq.prefilled == chunk.seq.prompt_len:
            chunk.seq.status = Status.DECODING

    def finish(self, seq: Sequence, reason: FinishReason) -> None:
        """Retire a sequence (waiting or running) and free its slot for the next step."""
        if seq.finished:
            return
        if seq.slot is None:
            self.waiting.remove(seq)
        else:
            self.running.remove(seq)
            heapq.heappush(self.free_slots, seq.slot)
        seq.status = Status.FINISHED
        seq.finish_reason = reason
