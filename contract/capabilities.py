"""What the loaded model can do, and the limits requests are held to: the input of `contract.rules.resolve`.

A worker builds it from the checkpoint's configuration (`tts.checkpoint.config.ModelConfig.capabilities`) and
sends it in its Ready message; the server sets the limits to its own settings (`with_limits`). In-process
synthesis builds it from the configuration directly. No torch, no protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

MAX_INSTRUCTIONS_CHARACTERS = 2_000
MODEL_TYPES = ("custom_voice", "voice_design", "base")


@dataclass(frozen=True)
class Limits:
    max_text_characters: int = 100_000
    max_instructions_characters: int = MAX_INSTRUCTIONS_CHARACTERS
    max_audio_duration_ms: int = 3_600_000
    default_chunk_duration_ms: int = 80


@dataclass(frozen=True)
class Capabilities:
    model: str  # checkpoint id or directory, as the operator named it
    model_type: str  # one of MODEL_TYPES
    model_size: str  # "0b6" | "1b7"
    speakers: tuple[str, ...]  # built-in speakers (CustomVoice), in the checkpoint's order; the first is the default
    languages: tuple[str, ...]  # accepted `language` values, "auto" included
    accepts_instructions: bool
    sample_rate: int  # the codec's output rate (24000)
    samples_per_frame: int  # one codec frame (1920 = 80 ms)
    limits: Limits = field(default_factory=Limits)

    @property
    def frame_ms(self) -> int:
        return self.samples_per_frame * 1000 // self.sample_rate

    @property
    def clones_voices(self) -> bool:
        return self.model_type == "base"

    def with_limits(self, limits: Limits) -> Capabilities:
        return replace(self, limits=limits)
