"""A sequence: one request's progress through the engine, as plain data (no tensors).

A request's text may come in several segments (contract.request.TextSegment), each its own talker generation
in the same slot, one after the other: its own prompt, KV rows from position 0 and random stream, while the
codec's streaming state carries over, so the audio is one seamless stream. An *open* sequence (streaming text
input) gets its segments while it speaks; when it has spoken all it has, it parks: it gives its slot back,
its codec state is kept aside, and it is admitted again (into any free slot) when its next text arrives.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from contract.outcome import FinishReason
from contract.request import SynthesisRequest
from tts.model.sampling import ResolvedSampling


class Status(enum.Enum):
    WAITING = "waiting"  # queued, no slot yet
    PREFILLING = "prefilling"  # owns a slot, prompt partly in the KV cache
    DECODING = "decoding"  # producing one frame per step
    PARKED = "parked"  # open, has spoken every segment it has: no slot until more text arrives
    FINISHED = "finished"


@dataclass(eq=False)  # identity: a sequence is one request's run, never equal to another's
class Sequence:
    seq_id: int
    request: SynthesisRequest
    texts: list[str]  # what each segment speaks (an open sequence gets more as its text arrives)
    sampling: ResolvedSampling
    seed: int  # the request's; segment 0 uses it as is, later ones a stream derived from it (segment_seed)
    max_frames: int  # for the whole request
    prompt_len: int  # of the current segment
    segment_max_frames: int  # the current segment's runaway guard
    status: Status = Status.WAITING
    slot: int | None = None
    prefilled: int = 0  # prompt positions already in the cache
    frames: int = 0  # frames emitted so far
    segment: int = 0  # the segment being generated
    segment_frames: int = 0  # its frames so far
    finish_reason: FinishReason | None = None
    open: bool = False  # more segments may still come (streaming text input)
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

    @property
    def has_next_segment(self) -> bool:
        return self.segment + 1 < len(self.texts)

    @property
    def segment_seed(self) -> int:
        """The current segment's random stream: the request seed for segment 0 (so a one-segment request is
        exactly the plain request), a 63-bit hash of (seed, index) for later segments."""
        if self.segment == 0:
            return self.seed
        digest = hashlib.blake2b(f"{self.seed}:{self.segment}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") >> 1
