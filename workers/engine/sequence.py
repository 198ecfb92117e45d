"""A sequence: one request's progress through the engine, as plain data (no tensors)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

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
    ERROR = "error"  # the engine failed this sequence (see the worker's error message)


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
    # Frames the consumer can still take (None = unlimited). At zero the sequence is paused, not dropped.
    credit: int | None = None
    submitted_at: float = 0.0  # time.monotonic() stamps, for queue time and time to first frame
    admitted_at: float | None = None
    first_frame_at: float | None = None

    @property
    def has_credit(self) -> bool:
        return self.credit is None or self.credit > 0

    @property
    def context_needed(self) -> int:
        """Talker cache positions this sequence can occupy: its prompt plus one token per frame."""
        return self.prompt_len + self.max_frames

    @property
    def finished(self) -> bool:
        return self.status is Status.FINISHED
