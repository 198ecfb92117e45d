"""A sequence: one request's progress through the engine, as plain data (no tensors)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from workers.request import Sampling, SynthesisRequest


class Status(enum.Enum):
    WAITING = "waiting"  # queued, no slot yet
    PREFILLING = "prefilling"  # owns a slot, prompt partly in the KV cache
    DECODING = "decoding"  # producing one frame per step
    FINISHED = "finished"


class FinishReason(enum.Enum):
    EOS = "eos"  # the talker emitted the end-of-speech code
    MAX_FRAMES = "max_frames"
    CANCELLED = "cancelled"


@dataclass
class Sequence:
    seq_id: int
    request: SynthesisRequest
    sampling: Sampling  # fully resolved against the checkpoint defaults
    seed: int
    max_frames: int
    prompt_len: int
    text_len: int  # trailing text-track vectors
    status: Status = Status.WAITING
    slot: int | None = None
    prefilled: int = 0  # prompt positions already in the cache
    frames: int = 0  # frames emitted so far
    finish_reason: FinishReason | None = None
    stats: dict = field(default_factory=dict)

    @property
    def context_needed(self) -> int:
        """Talker cache positions this sequence can occupy: its prompt plus one token per frame."""
        return self.prompt_len + self.max_frames

    @property
    def finished(self) -> bool:
        return self.status is Status.FINISHED
