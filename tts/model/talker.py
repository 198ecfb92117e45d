"""The talker: a Qwen3 decoder over dual-track (text + codec) embeddings that predicts codebook 0.

Module names mirror the checkpoint keys under `talker.` so weights load with a strict state-dict load.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tts.checkpoint.config import ModelConfig
from tts.model.code_predictor import CodePredictor
from tts.model.layers import DecoderStack


class TalkerBackbone(DecoderStack):
    """`talker.model`: the decoder stack plus the text and codec embedding tables."""

    def __init__(self, config: ModelConfig):
        t = config.talker
        super().__init__(t.dims)
        self.text_embedding = nn.Embedding(t.text_vocab_size, t.text_hidden_size)
        self.codec_embedding = nn.Embedding(t.vocab_size, t.dims.hidden_size)


class TextProjection(nn.Module):
    """text_hidden -> talker hidden: fc2(silu(fc1(x))), both with bias."""

    def __init__(self, text_hidden: int, hidden: int):
        super().__init__()
        self.linear_fc1 = nn.Linear(text_hidden, text_hidden, bias=True)
        self.linear_fc2 = nn.Linear(text_hidden, hidden, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_fc2(F.silu(self.linear_fc1(x)))


class Talker(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        t = config.talker
        self.model = TalkerBackbone(config)
        self.text_projection = TextProjection(t.text_hidden_size, t.dims.hidden_size)
        self.codec_head = nn.Linear(t.dims.hidden_size, t.vocab_size, bias=False)
        self.code_predictor = CodePredictor(config)

    def text(self, ids: torch.Tensor) -> torch.Tensor:
        """T(ids): the text track, [.., text ids] -> [.., hidden]."""
        return self.text_projection(self.model.text_embedding(ids))

    def codec(self, ids: torch.Tensor) -> torch.Tensor:
        """C(ids): the codec track."""
        return self.model.codec_embedding(ids)

    def frame_embedding(self, codes: torch.Tensor) -> torch.Tensor:
        """F(frame): sum of the 16 codebook embeddings of each frame; codes [..., 16] -> [..., hidden].

        One reduction over a stacked tensor, as the official code does, so float rounding matches.
        """
        tables = self.code_predictor.model.codec_embedding
        parts = [self.codec(codes[..., 0])] + [tables[k - 1](codes[..., k]) for k in range(1, codes.shape[-1])]
        return torch.stack(parts, dim=-2).sum(-2)
