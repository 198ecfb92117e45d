"""The codec's pre-transformer (the decoder layer of tts/model/layers.py, with layer scales) and its per-slot
sliding-window KV cache.

Every layer attends to keys in (q - window, q] (window 72 including the query itself), so a stream only ever
needs the rotated keys and values of its last window-1 frames per layer. The cache is a fixed
`[batch, heads, window-1, head_dim]` pair per layer holding the most recent window-1 frames, oldest first.
A step concatenates its T new keys behind the cache, attends, and keeps the last window-1 again.

Positions are absolute and keep counting for the life of a stream (the official whole-utterance forward uses
0..T-1; RoPE makes only differences matter, but rounding of cos/sin does depend on the absolute position, so we
use exactly the positions the whole forward would). Cache entries that would lie before the stream's first
frame (position < 0) are masked out, which is what makes a zeroed slot a fresh stream.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tts.checkpoint.config import DecoderDims
from tts.model.layers import DecoderLayer, RMSNorm, apply_rope, inv_frequencies, rope_angles

Shape = tuple[int, ...]


class Attention(nn.Module):
    def __init__(self, dims: DecoderDims):
        super().__init__()
        if dims.num_heads != dims.num_kv_heads:
            raise ValueError("the codec transformer is multi-head (num_key_value_heads == num_attention_heads)")
        self.heads, self.head_dim = dims.num_heads, dims.head_dim
        width = dims.num_heads * dims.head_dim
        self.q_proj = nn.Linear(dims.hidden_size, width, bias=False)
        self.k_proj = nn.Linear(dims.hidden_size, width, bias=False)
        self.v_proj = nn.Linear(dims.hidden_size, width, bias=False)
        self.o_proj = nn.Linear(width, dims.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask, k_cache: torch.Tensor, v_cache: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        k = torch.cat((k_cache, k), dim=2)  # [B, H, window-1+T, D], oldest first
        v = torch.cat((v_cache, v), dim=2)
        k_cache.copy_(k[:, :, t:])
        v_cache.copy_(v[:, :, t:])
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.head_dim**-0.5)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, self.heads * self.head_dim))


class PreTransformer(nn.Module):
    """`decoder.pre_transformer`: input_proj -> layers -> norm -> output_proj, on channels-last [B, T, latent]."""

    def __init__(self, dims: DecoderDims, latent_dim: int, window: int):
        super().__init__()
        self.dims, self.window = dims, window
        self.input_proj = nn.Linear(latent_dim, dims.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(dims, Attention(dims), layer_scale=True)
                                    for _ in range(dims.num_layers))
        self.norm = RMSNorm(dims.hidden_size, dims.rms_norm_eps)
        self.output_proj = nn.Linear(dims.hidden_size, latent_dim)

    def state_shapes(self, batch: int) -> list[Shape]:
        """A key and a value cache per layer: the window-1 most recent frames."""
        d = self.dims
        return [(batch, d.num_heads, self.window - 1, d.head_dim)] * (2 * d.num_layers)

    def _rope_and_mask(self, pos: torch.Tensor, t: int, dtype: torch.dtype):
        """cos/sin for the T new frames of each slot and the [B, 1, T, window-1+T] attend mask."""
        d = self.dims
        steps = torch.arange(t, device=pos.device)
        q_pos = pos[:, None] + steps  # [B, T] absolute frame positions of the new frames
        # Angles in float32 exactly as HF's default RoPE computes them, so cos/sin match the whole-utterance
        # forward bit for bit.
        angles = rope_angles(q_pos, inv_frequencies(d.head_dim, d.rope_theta, pos.device))
        cos, sin = angles.cos().to(dtype), angles.sin().to(dtype)
        k_pos = pos[:, None] + torch.arange(1 - self.window, t, device=pos.device)  # [B, window-1+T]
        rel = k_pos[:, None, :] - q_pos[:, :, None]  # key position minus query position
        mask = (rel <= 0) & (rel > -self.window) & (k_pos[:, None, :] >= 0)
        return cos, sin, mask.unsqueeze(1)

    def forward(self, x: torch.Tensor, pos: torch.Tensor, state: list[torch.Tensor]) -> torch.Tensor:
        """x: [B, T, latent]; pos: [B] position of each slot's first new frame; state: `state_shapes` tensors."""
        cos, sin, mask = self._rope_and_mask(pos, x.shape[1], x.dtype)
        h = self.input_proj(x)
        for i, layer in enumerate(self.layers):
            h = layer(h, cos, sin, mask, state[2 * i], state[2 * i + 1])
        return self.output_proj(self.norm(h))
