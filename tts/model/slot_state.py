"""Per-slot decode state: every tensor the batched decode step reads or updates, shaped [slots, ...].

Allocated once per engine. The runner writes a slot's row when a sequence is admitted; the decode step updates
rows in place. Inactive rows hold harmless values and their outputs are ignored, so every step has the same
shapes (what torch.compile and CUDA graphs need) and a row's result never depends on the other rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from tts.checkpoint.config import ModelConfig
from tts.model.sampling import SamplingRows


@dataclass
class SlotState:
    position: torch.Tensor  # int64 [S]   next talker cache position (= tokens already in the cache)
    step: torch.Tensor  # int64 [S]       index of the frame the next decode step emits
    hidden: torch.Tensor  # [S, D]        normed talker hidden that produced `code0`
    code0: torch.Tensor  # int64 [S]      codebook-0 token of the frame to emit next
    seen: torch.Tensor  # bool [S, V]     codebook-0 ids generated so far (repetition penalty)
    text: torch.Tensor  # [S, T, D]       trailing text-track vectors added to decode inputs
    text_len: torch.Tensor  # int64 [S]
    seed: torch.Tensor  # int64 [S]
    repetition_penalty: torch.Tensor  # float32 [S]
    talker_sampling: SamplingRows
    predictor_sampling: SamplingRows

    @classmethod
    def allocate(cls, config: ModelConfig, slots: int, max_text: int, dtype, device) -> SlotState:
        d, v = config.talker.dims.hidden_size, config.talker.vocab_size
        zeros_i = lambda: torch.zeros(slots, dtype=torch.int64, device=device)  # noqa: E731
        return cls(
            position=zeros_i(),
            step=zeros_i(),
            hidden=torch.zeros(slots, d, dtype=dtype, device=device),
            code0=zeros_i(),
            seen=torch.zeros(slots, v, dtype=torch.bool, device=device),
            text=torch.zeros(slots, max(max_text, 1), d, dtype=dtype, device=device),
            text_len=zeros_i(),
            seed=zeros_i(),
            repetition_penalty=torch.ones(slots, dtype=torch.float32, device=device),
            talker_sampling=SamplingRows.allocate(slots, device),
            predictor_sampling=SamplingRows.allocate(slots, device),
        )

    def head(self, rows: int) -> SlotState:
        """Views of the first `rows` slots: a decode step over them updates this state in place."""
        kw = {}
        for f in fields(self):
            value = getattr(self, f.name)
            kw[f.name] = value.select(slice(0, rows)) if isinstance(value, SamplingRows) else value[:rows]
        return SlotState(**kw)

    @property
    def slots(self) -> int:
        return self.position.shape[0]

    @property
    def max_text(self) -> int:
        return self.text.shape[1]

    def tensors(self) -> dict[str, torch.Tensor]:
        """Flat name -> tensor view (sampling rows prefixed), e.g. to clear or copy a slot."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, SamplingRows):
                out.update({f"{f.name}.{g.name}": getattr(value, g.name) for g in fields(value)})
            else:
                out[f.name] = value
        return out
