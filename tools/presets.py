"""The named checkpoint shapes the maker can build.

Preset names are a contract: tests, fixtures and benchmarks refer to them. Tiny presets shrink every width and
depth but keep what the generation algorithm hard-codes or tests depend on (text vocabulary 151936 with the
special ids at 151643+, codec vocabulary 3072, codebook 2048, 16 code groups, 24 kHz, 1920 samples per frame,
sliding window 72, the speaker encoder's 128 mel bins). `real-0.6b-cv` and `real-0.6b-base` have exactly the
released 0.6B dimensions, for benchmarks.

Base presets (voice cloning) carry a speaker encoder (ECAPA-TDNN); its x-vector width is the talker width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from tts.checkpoint.config import DecoderDims

# A Qwen3-style decoder stack is the loader's own DecoderDims. The talker and code predictor of the released
# checkpoints use eps 1e-6 and RoPE theta 1e6, the codec pre-transformer 1e-5 and 1e4.
LmStack = partial(DecoderDims, rms_norm_eps=1e-06, rope_theta=1000000.0)
CodecStack = partial(DecoderDims, rms_norm_eps=1e-05, rope_theta=10000.0)


@dataclass(frozen=True)
class MimiEncoderDims:
    """The HF Mimi encoder inside the codec (used only to encode voice-clone references)."""

    hidden_size: int
    num_filters: int
    num_layers: int
    num_heads: int
    head_dim: int
    intermediate_size: int
    codebook_dim: int


@dataclass(frozen=True)
class SpeakerEncoderDims:
    """The Base models' ECAPA-TDNN. The official module needs enc_channels = [c, c, c, c, 3c] (the residual
    SE-Res2Net blocks keep the width; the aggregation concatenates three of them), c divisible by the Res2Net
    scale; mel_dim 128 and 24 kHz are hard-coded in the official extraction path, so they are not dims."""

    channels: int
    attention_channels: int
    se_channels: int
    res2net_scale: int = 8

    @property
    def enc_channels(self) -> tuple[int, ...]:
        return (self.channels,) * 4 + (3 * self.channels,)


# The released models' speaker encoder (the official config class's defaults; the released config.json files
# write only enc_dim and sample_rate).
REAL_SPEAKER_ENCODER = SpeakerEncoderDims(channels=512, attention_channels=128, se_channels=128)
SPEAKER_ENCODER_KERNEL_SIZES = (5, 3, 3, 3, 1)
SPEAKER_ENCODER_DILATIONS = (1, 2, 3, 4, 1)
SPEAKER_ENCODER_MEL_DIM = 128


@dataclass(frozen=True)
class CodecDims:
    """The 12 Hz codec: decoder widths (frame rate, codebooks, upsampling are fixed) and its Mimi encoder."""

    codebook_dim: int  # the per-codebook vector is codebook_dim // 2
    latent_dim: int
    decoder_dim: int  # halves through the four decoder blocks, so it must divide by 16
    transformer: DecoderDims
    encoder: MimiEncoderDims


@dataclass(frozen=True)
class Preset:
    name: str
    model_type: str  # custom_voice | voice_design | base
    model_size: str  # "0b6" | "1b7"; the official code drops `instruct` when this is a substring of "0b6"
    talker: DecoderDims
    mrope_section: tuple[int, int, int]  # must sum to talker head_dim / 2
    text_hidden_size: int
    code_predictor: DecoderDims
    codec: CodecDims
    summary: str
    speaker_encoder: SpeakerEncoderDims | None = None  # Base models only

    def __post_init__(self) -> None:
        if (self.model_type == "base") != (self.speaker_encoder is not None):
            raise ValueError(f"{self.name}: a speaker encoder is required for, and only for, Base presets")
        se = self.speaker_encoder
        if se is not None and se.channels % se.res2net_scale:
            raise ValueError(f"{self.name}: speaker encoder channels must divide by the Res2Net scale")

    @property
    def has_mtp_projection(self) -> bool:
        """The 1.7B layout: the code predictor is narrower than the talker and projects its inputs down."""
        return self.talker.hidden_size != self.code_predictor.hidden_size


# In every tiny stack the q width (heads x head_dim) differs from the hidden size on purpose, as in the released
# models (2048 vs 1024), so code that derives head_dim from hidden_size / heads fails on tiny checkpoints too.
_TINY_CODEC = CodecDims(
    codebook_dim=64,
    latent_dim=64,
    decoder_dim=96,
    transformer=CodecStack(hidden_size=32, intermediate_size=64, num_layers=2, num_heads=4, num_kv_heads=4,
                             head_dim=16),
    encoder=MimiEncoderDims(hidden_size=32, num_filters=4, num_layers=2, num_heads=2, head_dim=16,
                            intermediate_size=64, codebook_dim=16),
)
_TINY_CODE_PREDICTOR = LmStack(hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4,
                                    num_kv_heads=2, head_dim=32)
_TINY_TALKER_0B6 = LmStack(hidden_size=64, intermediate_size=128, num_layers=3, num_heads=4,
                                num_kv_heads=2, head_dim=32)
_TINY_TALKER_1B7 = LmStack(hidden_size=96, intermediate_size=192, num_layers=3, num_heads=4,
                                num_kv_heads=2, head_dim=32)
_TINY_MROPE = (6, 5, 5)  # the real [24, 20, 20] scaled to head_dim 32
_TINY_SPEAKER_ENCODER = SpeakerEncoderDims(channels=32, attention_channels=16, se_channels=16)

_REAL_TALKER_0B6 = LmStack(hidden_size=1024, intermediate_size=3072, num_layers=28, num_heads=16,
                                num_kv_heads=8, head_dim=128)
_REAL_CODE_PREDICTOR = LmStack(hidden_size=1024, intermediate_size=3072, num_layers=5, num_heads=16,
                                    num_kv_heads=8, head_dim=128)

_REAL_CODEC = CodecDims(
    codebook_dim=512,
    latent_dim=1024,
    decoder_dim=1536,
    transformer=CodecStack(hidden_size=512, intermediate_size=1024, num_layers=8, num_heads=16,
                             num_kv_heads=16, head_dim=64),
    encoder=MimiEncoderDims(hidden_size=512, num_filters=64, num_layers=8, num_heads=8, head_dim=64,
                            intermediate_size=2048, codebook_dim=256),
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="tiny",
            model_type="custom_voice",
            model_size="0b6",
            talker=_TINY_TALKER_0B6,
            mrope_section=_TINY_MROPE,
            text_hidden_size=32,
            code_predictor=_TINY_CODE_PREDICTOR,
            codec=_TINY_CODEC,
            summary="tiny CustomVoice, 0.6B layout (no small_to_mtp_projection, instruct ignored)",
        ),
        Preset(
            name="tiny-1.7b",
            model_type="custom_voice",
            model_size="1b7",
            talker=_TINY_TALKER_1B7,
            mrope_section=_TINY_MROPE,
            text_hidden_size=32,
            code_predictor=_TINY_CODE_PREDICTOR,
            codec=_TINY_CODEC,
            summary="tiny CustomVoice, 1.7B layout (small_to_mtp_projection, instruct supported)",
        ),
        Preset(
            name="tiny-voice-design",
            model_type="voice_design",
            model_size="1b7",
            talker=_TINY_TALKER_1B7,
            mrope_section=_TINY_MROPE,
            text_hidden_size=32,
            code_predictor=_TINY_CODE_PREDICTOR,
            codec=_TINY_CODEC,
            summary="tiny VoiceDesign, 1.7B layout (no speakers, no dialects)",
        ),
        Preset(
            name="real-0.6b-cv",
            model_type="custom_voice",
            model_size="0b6",
            talker=_REAL_TALKER_0B6,
            mrope_section=(24, 20, 20),
            text_hidden_size=2048,
            code_predictor=_REAL_CODE_PREDICTOR,
            codec=_REAL_CODEC,
            summary="released 0.6B-CustomVoice and codec dimensions, random weights (benchmarks only)",
        ),
        Preset(
            name="tiny-base",
            model_type="base",
            model_size="0b6",
            talker=_TINY_TALKER_0B6,
            mrope_section=_TINY_MROPE,
            text_hidden_size=32,
            code_predictor=_TINY_CODE_PREDICTOR,
            codec=_TINY_CODEC,
            speaker_encoder=_TINY_SPEAKER_ENCODER,
            summary="tiny Base (voice cloning), 0.6B layout (no small_to_mtp_projection), small ECAPA-TDNN",
        ),
        Preset(
            name="tiny-base-1.7b",
            model_type="base",
            model_size="1b7",
            talker=_TINY_TALKER_1B7,
            mrope_section=_TINY_MROPE,
            text_hidden_size=32,
            code_predictor=_TINY_CODE_PREDICTOR,
            codec=_TINY_CODEC,
            speaker_encoder=_TINY_SPEAKER_ENCODER,
            summary="tiny Base (voice cloning), 1.7B layout (small_to_mtp_projection), small ECAPA-TDNN",
        ),
        Preset(
            name="real-0.6b-base",
            model_type="base",
            model_size="0b6",
            talker=_REAL_TALKER_0B6,
            mrope_section=(24, 20, 20),
            text_hidden_size=2048,
            code_predictor=_REAL_CODE_PREDICTOR,
            codec=_REAL_CODEC,
            speaker_encoder=REAL_SPEAKER_ENCODER,
            summary="released 0.6B-Base, speaker encoder and codec dimensions, random weights (benchmarks only)",
        ),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
