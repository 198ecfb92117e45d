"""Name -> shape/init table of the Base models' speaker encoder (`speaker_encoder.*` in the root checkpoint).

ECAPA-TDNN as the official module tree names it (qwen3-tts-architecture.md §1.6, §1.8): every conv is a Conv1d with a
bias; a real 0.6B/1.7B encoder has 76 tensors and 8.85 M / 12.00 M parameters. Init rules are in `init_rules`.
"""

from __future__ import annotations

from tools import init_rules as ir
from tools.presets import (
    SPEAKER_ENCODER_KERNEL_SIZES,
    SPEAKER_ENCODER_MEL_DIM,
    Preset,
)
from tools.tensor_spec import TensorSpec


def _conv(name: str, out_ch: int, in_ch: int, k: int, gain: float = 1.0) -> list[TensorSpec]:
    weight, bias = ir.speaker_encoder_conv(in_ch * k, gain)
    return [TensorSpec(f"{name}.weight", (out_ch, in_ch, k), weight), TensorSpec(f"{name}.bias", (out_ch,), bias)]


def speaker_encoder_tensors(p: Preset) -> list[TensorSpec]:
    se = p.speaker_encoder
    if se is None:
        return []
    c, wide, s = se.channels, 3 * se.channels, se.res2net_scale
    k = SPEAKER_ENCODER_KERNEL_SIZES
    pre = "speaker_encoder"
    specs = _conv(f"{pre}.blocks.0.conv", c, SPEAKER_ENCODER_MEL_DIM, k[0])
    for i in (1, 2, 3):
        b = f"{pre}.blocks.{i}"
        specs += _conv(f"{b}.tdnn1.conv", c, c, 1)
        for j in range(s - 1):  # the first of the `s` channel groups passes through unchanged
            specs += _conv(f"{b}.res2net_block.blocks.{j}.conv", c // s, c // s, k[i])
        specs += _conv(f"{b}.tdnn2.conv", c, c, 1)
        specs += _conv(f"{b}.se_block.conv1", se.se_channels, c, 1)
        specs += _conv(f"{b}.se_block.conv2", c, se.se_channels, 1)
    specs += _conv(f"{pre}.mfa.conv", wide, wide, k[4])
    specs += _conv(f"{pre}.asp.tdnn.conv", se.attention_channels, 3 * wide, 1)
    specs += _conv(f"{pre}.asp.conv", wide, se.attention_channels, 1)
    specs += _conv(f"{pre}.fc", p.talker.hidden_size, 2 * wide, 1, gain=ir.SPEAKER_ENCODER_FC_GAIN)
    return specs
