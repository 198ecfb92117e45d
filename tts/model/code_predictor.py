"""The code predictor ("sub-talker"): predicts codebooks 1..15 of a frame from the talker's hidden state.

Per frame it runs 15 forwards with a fresh 16-position cache: a 2-token prefill of [talker hidden, C(code 0)]
followed by 14 one-token steps, all rows of the batch in lock-step. Module names mirror the checkpoint keys
under `talker.code_predictor.`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from tts.checkpoint.config import ModelConfig
from tts.model.layers import DecoderStack


class CodePredictorBackbone(DecoderStack):
    """`talker.code_predictor.model`: decoder stack plus 15 codebook tables of the *talker* width."""

    def __init__(self, config: ModelConfig):
        cp = config.code_predictor
        super().__init__(cp.dims)
        self.codec_embedding = nn.ModuleList(
            nn.Embedding(cp.vocab_size, config.talker.dims.hidden_size) for _ in range(cp.num_code_groups - 1)
        )


class CodePredictor(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        cp, talker_hidden = config.code_predictor, config.talker.dims.hidden_size
        self.num_code_groups = cp.num_code_groups
        self.model = CodePredictorBackbone(config)
        self.lm_head = nn.ModuleList(
            nn.Linear(cp.dims.hidden_size, cp.vocab_size, bias=False) for _ in range(cp.num_code_groups - 1)
        )
        # 1.7B: talker width 2048 -> predictor width 1024; 0.6B: same width, no projection.
        if cp.dims.hidden_size != talker_hidden:
            self.small_to_mtp_projection = nn.Linear(talker_hidden, cp.dims.hidden_size, bias=True)
        else:
            self.small_to_mtp_projection = nn.Identity()

    def allocate(self, rows: int, dtype: torch.dtype, device) -> None:
        self.model.allocate(rows, self.num_code_groups, dtype, device)
        n = self.num_code_groups
        causal = torch.ones(n, n, dtype=torch.bool, device=device).tril()
        self._masks = [causal[:2, :2].view(1, 1, 2, 2)] + [causal[k : k + 1, : k + 1].view(1, 1, 1, k + 1)
                                                           for k in range(2, n)]
        self._positions = [torch.arange(2, device=device).view(1, 2)] + [
            torch.full((1, 1), k, device=device) for k in range(2, n)]

    def forward(
        self,
        hidden: torch.Tensor,  # [rows, talker_hidden] normed talker hidden that produced code 0
        code0_embedding: torch.Tensor,  # [rows, talker_hidden] = C(code 0)
        sample: Callable[[torch.Tensor, int], torch.Tensor],  # (logits [rows, vocab], codebook k) -> [rows]
    ) -> torch.Tensor:
        """Returns codes 1..15 as [rows, 15]."""
        rows = hidden.shape[0]
        row_slice = slice(0, rows)
        tables = self.model.codec_embedding
        x = torch.stack((hidden, code0_embedding), dim=1)
        codes = []
        for k in range(1, self.num_code_groups):
            pos = self._positions[k - 1].expand(rows, -1)
            mask = self._masks[k - 1].expand(rows, -1, -1, -1)
            h = self.model(self.small_to_mtp_projection(x), pos, row_slice, mask)
            code = sample(self.lm_head[k - 1](h[:, -1]).float(), k)
            codes.append(code)
            if k + 1 < self.num_code_groups:
                x = tables[k - 1](code).unsqueeze(1)
        return torch.stack(codes, dim=1)
