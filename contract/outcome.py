"""How a synthesis ends, in one vocabulary from the engine to the front doors."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FinishReason(enum.Enum):
    EOS = "eos"  # the talker emitted the end-of-speech code
    MAX_FRAMES = "max_frames"  # the request's duration bound or the runaway guard
    CANCELLED = "cancelled"  # the consumer went away, or the server cut the audio at its limit


@dataclass(frozen=True)
class Outcome:
    """How one synthesis ended in the engine (reported by the worker in its Finished message)."""

    reason: FinishReason
    frames: int
    queue_s: float  # submitted -> admitted into a slot
    first_frame_s: float | None  # submitted -> first frame


class FailureKind(enum.Enum):
    """Why a request or a voice operation failed; each front door maps it to its status code in one place."""

    INVALID = "invalid"  # the request's content (violations name the fields)
    NOT_FOUND = "not_found"  # the named voice does not exist
    EXISTS = "exists"  # the name is taken
    UNSUPPORTED = "unsupported"  # the served checkpoint cannot do it (e.g. cloning on CustomVoice)
    WORKER_RESTARTED = "worker_restarted"  # the worker serving it stopped; retry
    VOICE_UNREADABLE = "voice_unreadable"  # the named voice's files are damaged (delete and register it again)
    STORE_FULL = "store_full"  # the voice store's disk (or quota) is full
    INTERNAL = "internal"
