"""The Base models' speaker encoder: ECAPA-TDNN over a log-mel spectrogram -> one x-vector of the talker's width.

Module names are the checkpoint's keys under `speaker_encoder.` (qwen3-tts-architecture.md §1.6, §1.8). Every conv pads
"same" with reflection; a TDNN block is conv -> ReLU (no batch norm). Shapes for one utterance of T mel frames,
c = enc_channels[0]:

    mel [B, 128, T] -> blocks.0 TDNN -> 3 x SE-Res2Net (c) -> mfa TDNN on their concatenation (3c)
        -> attentive statistics pooling [B, 6c] -> fc (1x1) -> x-vector [B, enc_dim]

The mel front end runs in float32 on the CPU (like the official extraction) and is then cast to the module's
dtype and device.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from tts.checkpoint.config import ModelConfig, SpeakerEncoderConfig
from tts.checkpoint.loading import CheckpointError, load_weights
from tts.voices.mel import LogMel

PREFIX = "speaker_encoder."


def _conv(in_ch: int, out_ch: int, kernel: int = 1, dilation: int = 1) -> nn.Conv1d:
    return nn.Conv1d(in_ch, out_ch, kernel, dilation=dilation, padding="same", padding_mode="reflect")


class TDNN(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = _conv(in_ch, out_ch, kernel, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))


class Res2Net(nn.Module):
    """`scale` channel groups; group 0 passes through, group i > 0 is TDNN(group_i + output_{i-1}) (none for i=1)."""

    def __init__(self, channels: int, scale: int, kernel: int, dilation: int):
        super().__init__()
        self.scale = scale
        self.blocks = nn.ModuleList(TDNN(channels // scale, channels // scale, kernel, dilation)
                                    for _ in range(scale - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = torch.chunk(x, self.scale, dim=1)
        out = [groups[0]]
        prev = None
        for block, group in zip(self.blocks, groups[1:], strict=True):
            prev = block(group if prev is None else group + prev)
            out.append(prev)
        return torch.cat(out, dim=1)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.conv1 = _conv(channels, squeeze)
        self.conv2 = _conv(squeeze, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.conv2(torch.relu(self.conv1(x.mean(dim=2, keepdim=True)))))
        return x * gate


class SERes2NetBlock(nn.Module):
    def __init__(self, channels: int, scale: int, squeeze: int, kernel: int, dilation: int):
        super().__init__()
        self.tdnn1 = TDNN(channels, channels)
        self.res2net_block = Res2Net(channels, scale, kernel, dilation)
        self.tdnn2 = TDNN(channels, channels)
        self.se_block = SqueezeExcitation(channels, squeeze)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.se_block(self.tdnn2(self.res2net_block(self.tdnn1(x))))


def _weighted_stats(x: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std over time of x [B, C, T] under weights summing to 1 over T (std floored at 1e-6)."""
    mean = (weights * x).sum(dim=2)
    var = (weights * (x - mean[:, :, None]).pow(2)).sum(dim=2)
    return mean, torch.sqrt(var.clamp(min=1e-12))


class AttentiveStatsPooling(nn.Module):
    """Per-channel attention over time, conditioned on the utterance's global mean and std; returns the
    attention-weighted mean and std concatenated, [B, 2C]."""

    def __init__(self, channels: int, attention_channels: int):
        super().__init__()
        self.tdnn = TDNN(3 * channels, attention_channels)
        self.conv = _conv(attention_channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(x.shape[0], 1, x.shape[2], dtype=x.dtype, device=x.device)
        # The frame count is summed in the model dtype, as the official code does: in bf16 an odd count above
        # 256 rounds to an even one, and the "uniform" weights follow it.
        uniform = ones / ones.sum(dim=2, keepdim=True)
        mean, std = _weighted_stats(x, uniform)
        context = torch.cat([x, mean[:, :, None].expand_as(x), std[:, :, None].expand_as(x)], dim=1)
        attention = torch.softmax(self.conv(torch.tanh(self.tdnn(context))), dim=2)
        mean, std = _weighted_stats(x, attention)
        return torch.cat([mean, std], dim=1)


class SpeakerEncoder(nn.Module):
    def __init__(self, config: SpeakerEncoderConfig):
        super().__init__()
        ch, k, d = config.enc_channels, config.enc_kernel_sizes, config.enc_dilations
        self.config = config
        self.blocks = nn.ModuleList([TDNN(config.mel_dim, ch[0], k[0], d[0])])
        for i in range(1, len(ch) - 1):
            self.blocks.append(SERes2NetBlock(ch[i], config.enc_res2net_scale, config.enc_se_channels, k[i], d[i]))
        self.mfa = TDNN(ch[-1], ch[-1], k[-1], d[-1])
        self.asp = AttentiveStatsPooling(ch[-1], config.enc_attention_channels)
        self.fc = _conv(2 * ch[-1], config.enc_dim)
        self._mel: LogMel | None = None  # CPU tables, built on first use (the module may be built on meta)
        self.requires_grad_(False)

    @classmethod
    def from_checkpoint(cls, model_dir: str | Path, config: ModelConfig, dtype: torch.dtype = torch.float32,
                        device="cpu") -> SpeakerEncoder:
        """The `speaker_encoder.*` tensors of `model_dir/model.safetensors`, strictly key- and shape-checked."""
        if config.speaker_encoder is None:
            raise CheckpointError(
                f"{model_dir}: tts_model_type is {config.model_type!r}; only Base checkpoints have a speaker encoder"
            )
        with torch.device("meta"):  # no init of weights that are overwritten anyway
            model = cls(config.speaker_encoder)
        load_weights(model, Path(model_dir) / "model.safetensors", dtype, torch.device(device), prefix=PREFIX)
        return model.eval()

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, mel_dim, T] -> x-vectors [B, enc_dim]."""
        h = self.blocks[0](mel)
        outs = []
        for block in self.blocks[1:]:
            h = block(h)
            outs.append(h)
        h = self.mfa(torch.cat(outs, dim=1))
        return self.fc(self.asp(h)[:, :, None])[:, :, 0]

    @torch.inference_mode()
    def embed(self, audio_24k: np.ndarray) -> torch.Tensor:
        """float32 mono 24 kHz samples (more than 384 of them) -> x-vector [enc_dim] in the module's dtype/device."""
        audio = torch.from_numpy(np.ascontiguousarray(audio_24k, dtype=np.float32))[None]
        if self._mel is None:
            self._mel = LogMel("cpu")
        mel = self._mel(audio)
        p = self.fc.weight
        return self(mel.to(device=p.device, dtype=p.dtype))[0]
