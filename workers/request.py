"""A synthesis request as plain data, and its validation against what a checkpoint can do.

This is the one place that decides whether a request is acceptable for a model; the offline CLI prints the
violations, the server maps them to INVALID_ARGUMENT with the field named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workers.config import GenerationDefaults, ModelConfig

MAX_TEXT_CHARS = 10_000
MAX_INSTRUCT_CHARS = 2_000


@dataclass(frozen=True)
class Sampling:
    """Sampling overrides; None means the checkpoint's generation_config.json value."""

    do_sample: bool | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float | None = None
    subtalker_do_sample: bool | None = None
    subtalker_temperature: float | None = None
    subtalker_top_k: int | None = None
    subtalker_top_p: float | None = None

    def resolve(self, defaults: GenerationDefaults) -> Sampling:
        """Every field filled: an explicit value wins, then the checkpoint default."""
        pick = lambda mine, theirs: theirs if mine is None else mine  # noqa: E731
        return Sampling(
            do_sample=pick(self.do_sample, defaults.do_sample),
            temperature=pick(self.temperature, defaults.temperature),
            top_k=pick(self.top_k, defaults.top_k),
            top_p=pick(self.top_p, defaults.top_p),
            repetition_penalty=pick(self.repetition_penalty, defaults.repetition_penalty),
            subtalker_do_sample=pick(self.subtalker_do_sample, defaults.subtalker_do_sample),
            subtalker_temperature=pick(self.subtalker_temperature, defaults.subtalker_temperature),
            subtalker_top_k=pick(self.subtalker_top_k, defaults.subtalker_top_k),
            subtalker_top_p=pick(self.subtalker_top_p, defaults.subtalker_top_p),
        )

    @classmethod
    def greedy(cls) -> Sampling:
        """The official greedy mode: do_sample=False, subtalker_dosample=False (the penalty still applies)."""
        return cls(do_sample=False, subtalker_do_sample=False)


@dataclass(frozen=True)
class SynthesisRequest:
    text: str
    language: str = "auto"
    speaker: str | None = None  # a built-in speaker of a CustomVoice checkpoint
    voice: str | None = None  # a registered (cloned) voice of a Base checkpoint
    instruct: str | None = None  # style instruction (CustomVoice 1.7B) or voice description (VoiceDesign)
    sampling: Sampling = field(default_factory=Sampling)
    seed: int | None = None  # None: the engine draws one and reports it
    max_frames: int | None = None  # None: the checkpoint's max_new_tokens - 1
    # Text layout: True puts the whole text in the prompt (the official default for CustomVoice/VoiceDesign),
    # False feeds it one token per frame ("streaming text"). None = the official default for the mode.
    non_streaming: bool | None = None
    request_id: str = ""


@dataclass(frozen=True)
class Violation:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def validate(req: SynthesisRequest, config: ModelConfig, special_token: str | None = None) -> list[Violation]:
    """All problems with `req` for this checkpoint (empty list = acceptable).

    `special_token`: a control-token string found in the text by the tokenizer, if any.
    """
    out: list[Violation] = []
    bad = lambda f, m: out.append(Violation(f, m))  # noqa: E731
    if not req.text or not req.text.strip():
        bad("text", "must not be empty")
    elif len(req.text) > MAX_TEXT_CHARS:
        bad("text", f"is {len(req.text)} characters; the limit is {MAX_TEXT_CHARS}")
    elif special_token is not None:
        bad("text", f"contains the control token {special_token!r}")
    if req.language.lower() not in config.languages:
        bad("language", f"{req.language!r} is not supported; choose one of {', '.join(config.languages)}")
    if config.model_type == "custom_voice":
        if not req.speaker:
            bad("speaker", f"is required for this CustomVoice checkpoint; choose one of {', '.join(config.speakers)}")
        elif req.speaker.lower() not in config.talker.speakers:
            bad("speaker", f"{req.speaker!r} is unknown; choose one of {', '.join(config.speakers)}")
    elif req.speaker:
        bad("speaker", f"this {config.model_type} checkpoint has no built-in speakers")
    if config.model_type == "base":
        if not req.voice:
            bad("voice", "is required for a Base checkpoint: register a voice from reference audio first")
    elif req.voice:
        bad("voice", f"this {config.model_type} checkpoint cannot clone voices (use a Base checkpoint)")
    if req.instruct:
        if not config.accepts_instruct:
            bad("instruct", f"this {config.model_type} {config.model_size} checkpoint ignores instructions")
        elif len(req.instruct) > MAX_INSTRUCT_CHARS:
            bad("instruct", f"is {len(req.instruct)} characters; the limit is {MAX_INSTRUCT_CHARS}")
    elif config.model_type == "voice_design":
        bad("instruct", "is required for a VoiceDesign checkpoint (it describes the voice)")
    if req.max_frames is not None and req.max_frames < 1:
        bad("max_frames", "must be at least 1")
    if req.seed is not None and not 0 <= req.seed < 2**63:
        bad("seed", "must be in [0, 2**63)")
    out.extend(_validate_sampling(req.sampling))
    return out


def _validate_sampling(s: Sampling) -> list[Violation]:
    out = []
    for prefix, temp, k, p in (("", s.temperature, s.top_k, s.top_p),
                               ("subtalker_", s.subtalker_temperature, s.subtalker_top_k, s.subtalker_top_p)):
        if temp is not None and not 0 < temp <= 100:
            out.append(Violation(f"sampling.{prefix}temperature", "must be in (0, 100]"))
        if k is not None and k < 0:
            out.append(Violation(f"sampling.{prefix}top_k", "must be >= 0 (0 = off)"))
        if p is not None and not 0 < p <= 1:
            out.append(Violation(f"sampling.{prefix}top_p", "must be in (0, 1]"))
    if s.repetition_penalty is not None and not 0 < s.repetition_penalty <= 10:
        out.append(Violation("sampling.repetition_penalty", "must be in (0, 10]"))
    return out
