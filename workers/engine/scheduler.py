"""Iteration-level scheduling over a fixed set of slots (sequences and slot numbers only, no tensors).

Every engine step the scheduler:
  1. admits waiting sequences into free slots (first come, first served),
  2. hands out prefill work — chunks of prompt positions — within a per-step token budget, so a long prompt
     joining never freezes the streams already decoding for more than one budget's worth of talker work,
  3. lists the sequences that decode a frame this step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from workers.engine.sequence import FinishReason, Sequence, Status


@dataclass(frozen=True)
class PrefillChunk:
    seq: Sequence
    start: int
    length: int

    @property
    def completes_prompt(self) -> bool:
        return self.start + self.length == self.seq.prompt_len


@dataclass(frozen=True)
class Plan:
    prefill: list[PrefillChunk]
    decode: list[Sequence]

    @property
    def empty(self) -> bool:
        return not self.prefill and not self.decode


class Scheduler:
    def __init__(self, slots: int, prefill_token_budget: int):
        if slots < 1 or prefill_token_budget < 1:
            raise ValueError("slots and prefill_token_budget must be >= 1")
        self.prefill_token_budget = prefill_token_budget
        self.free_slots: list[int] = list(range(slots - 1, -1, -1))
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
            seq.slot = self.free_slots.pop()
            seq.status = Status.PREFILLING
            self.running.append(seq)
        decode = [s for s in self.running if s.status is Status.DECODING]
        prefill, budget = [], self.prefill_token_budget
        for seq in self.running:
            if budget == 0:
                break
            if seq.status is Status.PREFILLING:
                n = min(budget, seq.prompt_len - seq.prefilled)
                prefill.append(PrefillChunk(seq, seq.prefilled, n))
                budget -= n
        return Plan(prefill, decode)

    def prefilled(self, chunk: PrefillChunk) -> None:
        chunk.seq.prefilled += chunk.length
        if chunk.seq.prefilled == chunk.seq.prompt_len:
            chunk.seq.status = Status.DECODING

    def finish(self, seq: Sequence, reason: FinishReason) -> None:
        """Retire a sequence (waiting or running) and free its slot."""
        if seq.finished:
            return
        if seq in self.waiting:
            self.waiting.remove(seq)
        if seq.slot is not None:
            self.running.remove(seq)
            self.free_slots.append(seq.slot)
        seq.status = Status.FINISHED
        seq.finish_reason = reason
