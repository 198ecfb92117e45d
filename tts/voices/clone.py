"""What a voice is made of, extracted from a checked reference (workers/reference_audio.py) on a Base checkpoint.

x-vector: the speaker encoder's embedding, which the talker puts in its codec track in place of a speaker id.
Reference codes: the codec encoder's 16 codes per 80 ms frame, needed only for in-context (ICL) cloning, where
the model continues the reference transcript + reference speech.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tts.checkpoint.config import ModelConfig
from tts.voices.codec_encoder import CodecEncoder
from tts.voices.reference_audio import TARGET_SAMPLE_RATE
from tts.voices.speaker_encoder import SpeakerEncoder


@dataclass(frozen=True)
class VoiceFeatures:
    x_vector: torch.Tensor  # [talker hidden], the speaker encoder's dtype and device
    ref_codes: torch.Tensor | None  # [frames, 16] int64 on the CPU; None when not asked for
    num_samples: int  # length of the 24 kHz reference the features came from

    @property
    def duration_s(self) -> float:
        return self.num_samples / TARGET_SAMPLE_RATE


@dataclass(frozen=True)
class VoiceEncoders:
    """The two encoders of a Base checkpoint, loaded together."""

    speaker: SpeakerEncoder
    codec: CodecEncoder

    @classmethod
    def from_checkpoint(cls, model_dir: str | Path, config: ModelConfig, dtype: torch.dtype = torch.float32,
                        device="cpu") -> VoiceEncoders:
        root = Path(model_dir)
        return cls(
            speaker=SpeakerEncoder.from_checkpoint(root, config, dtype, device),
            codec=CodecEncoder.from_checkpoint(root / "speech_tokenizer", config.codec, dtype, device),
        )

    def extract(self, reference_24k: np.ndarray, *, with_codes: bool) -> VoiceFeatures:
        return extract_voice(reference_24k, self.speaker, self.codec, with_codes=with_codes)


def extract_voice(reference_24k: np.ndarray, speaker_encoder: SpeakerEncoder, codec_encoder: CodecEncoder | None,
                  *, with_codes: bool) -> VoiceFeatures:
    """float32 mono 24 kHz samples (use `reference_audio.load_reference` to get them) -> x-vector and, if
    `with_codes`, the reference codes. Unlike the official wrapper, no codes are computed when not needed."""
    samples = np.asarray(reference_24k, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples [N], got shape {list(samples.shape)}")
    if with_codes and codec_encoder is None:
        raise ValueError("reference codes were asked for but no codec encoder was given")
    codes = codec_encoder.encode(samples) if with_codes else None
    return VoiceFeatures(x_vector=speaker_encoder.embed(samples), ref_codes=codes, num_samples=samples.size)
