"""Building blocks of the Qwen3-style decoder stacks (talker and code predictor).

Numerics follow the official implementation exactly where it matters for parity:
- RMSNorm normalises in float32, casts back to the input dtype, then multiplies by the weight.
- Per-head QK-norm comes before RoPE; RoPE is NeoX half-rotation with cos/sin computed in float32 and cast
  to the activation dtype. The talker's interleaved MRoPE sees three identical position streams, which makes it
  plain 1-D RoPE, so one table serves both stacks.

The KV cache is static: `[slots, kv_heads, max_context, head_dim]` per layer, allocated once. A forward pass
writes its new keys/values at explicit positions and attends over the first `kv_len` cache positions with a
mask, so shapes depend only on (rows, tokens, kv_len) and never on tensor values.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tts.checkpoint.config import DecoderDims


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


def inv_frequencies(head_dim: int, theta: float, device=None) -> torch.Tensor:
    """RoPE inverse frequencies in float32, computed the way HF's default RoPE does."""
    return 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64, device=device).float() / head_dim))


def rope_angles(positions: torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    """[..., head_dim] float32 angles: the outer product of float positions and inv_freq, duplicated (NeoX)."""
    freqs = positions.float().unsqueeze(-1) * inv_freq
    return torch.cat((freqs, freqs), dim=-1)


def rope_table(head_dim: int, theta: float, max_positions: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin for positions [0, max_positions) in float32."""
    emb = rope_angles(torch.arange(max_positions, device=device), inv_frequencies(head_dim, theta, device))
    return emb.cos(), emb.sin()


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: [rows, heads, tokens, head_dim]; cos/sin: [rows, tokens, head_dim] in x's dtype."""
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return (x * cos) + (_rotate_half(x) * sin)


class KVCache(nn.Module):
    """Static per-layer cache. Rows are slots; a slot's positions are its own token indices."""

    def __init__(self, rows: int, kv_heads: int, max_context: int, head_dim: int, dtype, device):
        super().__init__()
        shape = (rows, kv_heads, max_context, head_dim)
        self.register_buffer("k", torch.zeros(shape, dtype=dtype, device=device), persistent=False)
        self.register_buffer("v", torch.zeros(shape, dtype=dtype, device=device), persistent=False)


class Attention(nn.Module):
    def __init__(self, dims: DecoderDims, hidden_size: int | None = None):
        super().__init__()
        d = hidden_size or dims.hidden_size
        self.num_heads, self.num_kv_heads, self.head_dim = dims.num_heads, dims.num_kv_heads, dims.head_dim
        self.q_proj = nn.Linear(d, dims.num_heads * dims.head_dim, bias=False)
        self.k_proj = nn.Linear(d, dims.num_kv_heads * dims.head_dim, bias=False)
        self.v_proj = nn.Linear(d, dims.num_kv_heads * dims.head_dim, bias=False)
        self.o_proj = nn.Linear(dims.num_heads * dims.head_dim, d, bias=False)
        # q, k and v as one product over the same input, where the weights allow it (int8: `fuse_projections`
        # in tts/model/quantized.py); the three then become None.
        self.qkv_proj: nn.Module | None = None
        self.qkv_widths = (dims.num_heads * dims.head_dim, dims.num_kv_heads * dims.head_dim,
                           dims.num_kv_heads * dims.head_dim)
        self.q_norm = RMSNorm(dims.head_dim, dims.rms_norm_eps)
        self.k_norm = RMSNorm(dims.head_dim, dims.rms_norm_eps)

    def forward(
        self,
        x: torch.Tensor,  # [rows, tokens, hidden]
        cos: torch.Tensor,
        sin: torch.Tensor,
        cache: KVCache,
        rows: slice,  # which cache rows these inputs belong to
        write_pos: torch.Tensor,  # [rows, tokens] cache positions to write
        mask: torch.Tensor,  # [rows, 1, tokens, kv_len] bool, True = attend
    ) -> torch.Tensor:
        b, s, _ = x.shape
        q, k, v = self.project(x)
        q = self.q_norm(q.view(b, s, self.num_heads, self.head_dim)).transpose(1, 2)
        k = self.k_norm(k.view(b, s, self.num_kv_heads, self.head_dim)).transpose(1, 2)
        v = v.view(b, s, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        # Written into the cache itself, not through a view of its rows: compiled, a write through a view of a
        # graph input becomes a scatter into a copy of those rows' cache at every position, which made
        # a compiled int8 step on 8 slots x 4096 positions ~2.5x slower than on 512 (docs/benchmarks.md).
        row_idx = torch.arange(rows.start, rows.start + b, device=x.device).unsqueeze(1)
        # Advanced indices on dims 0 and 2 put [rows, tokens] first: write [rows, tokens, kv_heads, head_dim].
        cache.k[row_idx, :, write_pos] = k.transpose(1, 2)
        cache.v[row_idx, :, write_pos] = v.transpose(1, 2)
        kv_len = mask.shape[-1]
        out = F.scaled_dot_product_attention(
            q, cache.k[rows, :, :kv_len], cache.v[rows, :, :kv_len], attn_mask=mask,
            enable_gqa=self.num_heads != self.num_kv_heads,
        )
        return self.o_proj(out.transpose(1, 2).reshape(b, s, self.num_heads * self.head_dim))

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.qkv_proj is None:
            return self.q_proj(x), self.k_proj(x), self.v_proj(x)
        q, k, v = self.qkv_proj(x).split(self.qkv_widths, dim=-1)
        return q, k, v


class MLP(nn.Module):
    def __init__(self, hidden_size: int, intermediate_size: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=False)
        self.gate_up_proj: nn.Module | None = None  # gate and up as one product, like Attention.qkv_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate_up_proj is None:
            gate, up = self.gate_proj(x), self.up_proj(x)
        else:
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class LayerScale(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x


class DecoderLayer(nn.Module):
    """Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x)). The talker and code predictor use it
    with the static-cache `Attention`; the codec's pre-transformer with its own sliding-window attention and
    per-channel layer scales on both branches. `attn_args` are whatever the attention module takes."""

    def __init__(self, dims: DecoderDims, attention: nn.Module | None = None, layer_scale: bool = False):
        super().__init__()
        self.self_attn = attention if attention is not None else Attention(dims)
        self.mlp = MLP(dims.hidden_size, dims.intermediate_size)
        self.input_layernorm = RMSNorm(dims.hidden_size, dims.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(dims.hidden_size, dims.rms_norm_eps)
        self.self_attn_layer_scale = LayerScale(dims.hidden_size) if layer_scale else nn.Identity()
        self.mlp_layer_scale = LayerScale(dims.hidden_size) if layer_scale else nn.Identity()

    def forward(self, x: torch.Tensor, *attn_args) -> torch.Tensor:
        x = x + self.self_attn_layer_scale(self.self_attn(self.input_layernorm(x), *attn_args))
        return x + self.mlp_layer_scale(self.mlp(self.post_attention_layernorm(x)))


class DecoderStack(nn.Module):
    """Layers + final norm over a static KV cache; returns the normed last hidden states."""

    def __init__(self, dims: DecoderDims):
        super().__init__()
        self.dims = dims
        self.layers = nn.ModuleList(DecoderLayer(dims) for _ in range(dims.num_layers))
        self.norm = RMSNorm(dims.hidden_size, dims.rms_norm_eps)
        self.caches: list[KVCache] = []
        self.rope_cos = self.rope_sin = None

    def allocate(self, rows: int, max_context: int, dtype: torch.dtype, device) -> None:
        """(Re)allocate the static KV cache and the RoPE table for `rows` slots of `max_context` positions."""
        d = self.dims
        self.caches = [KVCache(rows, d.num_kv_heads, max_context, d.head_dim, dtype, device) for _ in self.layers]
        cos, sin = rope_table(d.head_dim, d.rope_theta, max_context, device)
        self.rope_cos, self.rope_sin = cos.to(dtype), sin.to(dtype)

    @property
    def max_context(self) -> int:
        return self.caches[0].k.shape[2] if self.caches else 0

    def forward(self, x: torch.Tensor, positions: torch.Tensor, rows: slice, mask: torch.Tensor) -> torch.Tensor:
        """x: [rows, tokens, hidden]; positions: [rows, tokens] (RoPE position = cache slot)."""
        cos, sin = self.rope_cos[positions], self.rope_sin[positions]
        for layer, cache in zip(self.layers, self.caches, strict=True):
            x = layer(x, cos, sin, cache, rows, positions, mask)
        return self.norm(x)


def store_linear_weights_transposed(module: nn.Module) -> int:
    """Re-lay every nn.Linear weight of `module` in memory as its contiguous transpose ([in, out] row-major),
    keeping the same values, shape and parameter names; returns how many were changed.

    Why: on CPU, MKL's float32 GEMMs with a few rows (a batched decode step: M = rows or 2 x rows) are faster
    on the transpose than on the [out, in] layout checkpoints use (this project's 2-core benchmark machine,
    1024x3072 with weights streamed from memory at M=8: 1.28 ms -> 0.96 ms; at M=1 both take 0.50 ms), and
    with it a row's result has the same bits for every M from 2 to 32 (checked for all weight shapes of both
    model sizes), which the row-bucketed decode step relies on. Results differ from the stored layout's in the
    last bits (another kernel), so the choice must be the same for runs compared bit for bit."""
    changed = 0
    for m in module.modules():
        if isinstance(m, nn.Linear) and m.weight.is_contiguous():
            m.weight = nn.Parameter(m.weight.detach().t().contiguous().t(), requires_grad=False)
            changed += 1
    return changed
