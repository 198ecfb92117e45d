"""A sequence: one request's progress through the engine, as plain data (no tensors)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from contract.outcome import FinishReason
from tts.model.sampling import ResolvedSampling


class Status(enum.Enum):
    WAITING = "waiting"  # queued, no slot yet
    PREFILLING = "prefilling"  # owns a slot, prompt partly in the KV cache
    DECODING = "decoding"  # producing one frame per step
    FINISHED = "finished"


@dataclass(eq=False)  # identity: a sequence is one request's run, never equal to another's
class Sequence:
    seq_id: int
    sampling: ResolvedSampling
    seed: int
    max_frames: int
    prompt_len: int
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
    def finished(self) -> bool:
        return self.status is Status.FINISHED
