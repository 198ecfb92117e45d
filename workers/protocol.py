"""The messages between a parent process and its worker processes (pickled over multiprocessing pipes).

Parent -> worker                                Worker -> parent
  Submit(request_id, request, credit, open)       Ready(worker_id, info)        model loaded and warmed up
  Append(request_id, texts, end)                  Started(request_id, ...)      accepted; seed and limits
  Interrupt(request_id)                           Frame(request_id, index, codes, pcm, segment)
  Cancel(request_id)                              Parked(request_id, segments)  spoke all it has; no slot
  Credit(request_id, frames)                      Finished(request_id, outcome, total_s)
  VoiceCommand(request_id, op, ...)               Failed(request_id, kind, message, violations)
  Shutdown()                                      VoiceResult(request_id, voices | error)
                                                  Stats(worker_id, ...)         after steps, and every
                                                                                heartbeat interval when idle
                                                  Fatal(worker_id, message)     cannot start; exiting

Voice commands (register / delete / list, Base checkpoints) run between engine steps and are answered with one
VoiceResult. Ordering: for one request the worker sends Started, then Frames in index order, then exactly one Finished or
Failed. A request the parent cancels ends with a Finished whose outcome is CANCELLED unless it already ended. An
*open* request (streaming text input) gets its segments by Append; each time it has spoken every segment it
has (or is interrupted: its unspoken text dropped, the current segment stopped) it sends Parked and holds no
slot until more text comes; Append with `end` lets it finish after its last segment. Credit is
flow control: a request submitted with a credit emits at most that many frames until the parent adds more; it
is paused, keeping its slot, at zero. Every message from a worker counts as progress for the parent's watchdog.

Every field is plain data or an enum (contract/outcome.py: Outcome, FinishReason, FailureKind; VoiceOp here): nothing
is compared as a string. This module must not import torch: the server process uses it and never loads torch.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from contract.capabilities import Capabilities
from contract.outcome import FailureKind, Outcome
from contract.request import SynthesisRequest
from contract.rules import Violation


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs to start (picklable)."""

    model: str  # checkpoint directory or hub id
    device: str = "cpu"
    dtype: str = "float32"
    codec_dtype: str = "float32"
    quantization: str = "none"  # none | int8 | auto (tts/engine/precision.py)
    slots: int = 4
    max_context: int | None = None  # None: derived from free memory
    prefill_chunk: int = 64
    prefill_budget: int = 64
    threads: int | None = None  # torch CPU threads
    compile: bool = False
    cuda_graphs: bool = True  # on a CUDA device: capture the decode step as CUDA graphs at start-up
    codec_batching: str = "auto"  # auto | per-stream | all-slots (ModelRunner.set_codec_batching)
    voice_store: str | None = None  # directory shared by all workers (registered voices)
    heartbeat_s: float = 0.5
    log_level: str = "WARNING"


# ------------------------------------------------------------------ parent -> worker
@dataclass(frozen=True)
class Submit:
    request_id: str
    request: SynthesisRequest
    credit: int | None = None
    open: bool = False  # streaming text input: more segments come by Append


@dataclass(frozen=True)
class Append:
    request_id: str
    texts: tuple[str, ...]  # the next segments, as spoken
    end: bool = False  # no more text will come


@dataclass(frozen=True)
class Interrupt:
    request_id: str


@dataclass(frozen=True)
class Cancel:
    request_id: str


@dataclass(frozen=True)
class Credit:
    request_id: str
    frames: int


class VoiceOp(enum.Enum):
    REGISTER = "register"
    DELETE = "delete"
    LIST = "list"


@dataclass(frozen=True)
class VoiceCommand:
    request_id: str
    op: VoiceOp
    name: str = ""
    audio: bytes | tuple[np.ndarray, int] | None = None  # an encoded file, or (samples, sample rate)
    ref_text: str | None = None
    x_vector_only: bool = False
    description: str = ""
    languages: tuple[str, ...] = ()  # what the voice is meant for; empty = any


@dataclass(frozen=True)
class Shutdown:
    pass


# ------------------------------------------------------------------ worker -> parent
@dataclass(frozen=True)
class PrecisionInfo:
    """What each component runs in, as the worker chose it at load (tts.engine.precision.Precision, no torch)."""

    talker: str = "float32"  # "float32" | "bfloat16" | "int8"
    code_predictor: str = "float32"
    codec: str = "float32"  # "float32" | "bfloat16"
    quantization: str = "none"  # the mode asked for
    machine: str = ""  # the instruction sets (CPU) or device name (GPU) it was chosen for


@dataclass(frozen=True)
class WorkerInfo:
    capabilities: Capabilities  # what the loaded model can do (limits at their defaults)
    slots: int
    max_context: int
    device: str
    dtype: str
    pid: int
    precision: PrecisionInfo = PrecisionInfo()


@dataclass(frozen=True)
class Ready:
    worker_id: int
    info: WorkerInfo


@dataclass(frozen=True)
class Started:
    request_id: str
    seed: int
    max_frames: int
    prompt_tokens: int


@dataclass(frozen=True)
class Frame:
    request_id: str
    index: int
    codes: np.ndarray  # int64 [16]
    pcm: np.ndarray  # float32 [samples_per_frame]
    segment: int = 0  # the request's text segment this frame speaks


@dataclass(frozen=True)
class Parked:
    request_id: str
    segments: int  # segments spoken (or dropped) so far: the next Append's first text gets this index


@dataclass(frozen=True)
class Finished:
    request_id: str
    outcome: Outcome
    total_s: float  # Submit received -> this message


@dataclass(frozen=True)
class Failed:
    request_id: str
    kind: FailureKind  # INVALID, WORKER_RESTARTED or INTERNAL
    message: str
    violations: list[Violation] = field(default_factory=list)  # for INVALID: the fields, in the API's names


@dataclass(frozen=True)
class VoiceResult:
    request_id: str
    voices: list[dict] = field(default_factory=list)  # the registered voice, or every voice (list)
    error_kind: FailureKind | None = None  # INVALID, NOT_FOUND, EXISTS, UNSUPPORTED or INTERNAL
    error_field: str | None = None  # the RegisterVoice field at fault, in the API's names
    error: str | None = None


@dataclass(frozen=True)
class Stats:
    worker_id: int
    steps: int
    running: int
    waiting: int
    free_slots: int
    paused: int
    seconds: dict[str, float]


@dataclass(frozen=True)
class Fatal:
    worker_id: int
    message: str
