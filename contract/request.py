"""A synthesis request as plain data, in the gRPC API's field names (docs/api.md).

Every front door turns its wire format into this one type; `contract.rules.resolve` checks it against the
model's capabilities and fills the defaults. The engine receives the resolved request and trusts it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from contract.formats import AudioFormat, Encoding


class TextNormalization(enum.IntEnum):
    """Spelling out numbers, dates, money, units and abbreviations before synthesis (server/text/normalize);
    values equal `qwen3tts.v1.TextNormalization`. AUTO (the default): for English and Russian texts (detected
    when the language is `auto`); ON: also for an `auto` text whose script is mixed; OFF: the text as given."""

    UNSPECIFIED = 0
    AUTO = 1
    ON = 2
    OFF = 3


class Priority(enum.IntEnum):
    """Scheduling class; values equal `qwen3tts.v1.Priority` (0 = unset = interactive)."""

    UNSPECIFIED = 0
    INTERACTIVE = 1
    BATCH = 2


@dataclass(frozen=True)
class Sampling:
    """Sampling overrides; None keeps the checkpoint's generation_config.json value.

    temperature, top_k and top_p apply to both stages (codebook 0 and codebooks 1-15), the repetition penalty
    to codebook 0, as the API documents. `greedy=True` is the official do_sample=False mode of both stages.
    """

    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float | None = None
    greedy: bool | None = None


GREEDY = Sampling(greedy=True)


@dataclass(frozen=True)
class TextSegment:
    """One piece of the text, spoken as its own talker generation (the text front end cuts a request's text
    into sentences grouped up to a budget; server/text/plan.py)."""

    index: int
    start: int  # source range in the request's text, in code points: text[start:end]
    end: int
    text: str  # as it will be spoken (normalized)


@dataclass(frozen=True)
class SynthesisRequest:
    text: str
    voice: str = ""  # a built-in speaker (CustomVoice) or a registered voice (Base); "" for VoiceDesign
    language: str = "auto"  # "" or "auto": detected automatically
    instructions: str = ""  # style (CustomVoice 1.7B) or the voice description (VoiceDesign)
    audio_format: AudioFormat = AudioFormat(Encoding.UNSPECIFIED, 0)
    chunk_duration_ms: int = 0  # 0 = the server's default
    seed: int | None = None  # None: the engine draws one and reports it
    sampling: Sampling = field(default_factory=Sampling)
    max_audio_duration_ms: int = 0  # 0 = no bound of the client's (the server's limit still applies)
    priority: Priority = Priority.UNSPECIFIED
    text_normalization: TextNormalization = TextNormalization.UNSPECIFIED
    segment_events: bool = False  # the stream tells the client as each segment starts
    dry_run: bool = False  # segments only: no audio, no decode slot
    request_id: str = ""
    # Playback speed of the audio sent (0.25-4.0), pitch kept: applied by the response pipeline to the model's
    # audio (server/audio/tempo.py), so the model and its sampling never see it. 1.0 leaves every bit as is.
    speed: float = 1.0
    # Filled at the edge from `text` (server/text/plan.py); empty: the whole text is one segment, as given.
    segments: tuple[TextSegment, ...] = ()
    # Text layout, not part of the API: True puts the whole text in the prompt (the official default for
    # CustomVoice/VoiceDesign), False feeds it one token per frame. None = the official default for the mode.
    non_streaming: bool | None = None
