"""Dequantisation of the 16 codebooks: codes -> the 512-wide latent the decoder starts from.

A codebook vector is `embedding_sum / max(cluster_usage, 1e-5)` (EMA-trained VQ). The reference recomputes the
whole 2048-row table on every call; we gather the needed rows first and divide those. Division is elementwise
and correctly rounded, so the values are identical to the full-table version (in any dtype), with no per-call
table work and no derived buffer that could go stale.

Codebook 0 (semantic) has its own 1x1 output projection; codebooks 1..15 are summed in order (0 + c1 + c2 + ...,
the reference's accumulation order) and projected once by theirs; the two projections are added.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Codebook(nn.Module):
    def __init__(self, size: int, dim: int):
        super().__init__()
        self.embedding_sum = nn.Parameter(torch.zeros(size, dim))
        self.cluster_usage = nn.Parameter(torch.ones(size))

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """codes: [...] integer -> [..., dim]."""
        return self.embedding_sum[codes] / self.cluster_usage[codes].clamp(min=1e-5)[..., None]


class _VQ(nn.Module):
    def __init__(self, size: int, dim: int):
        super().__init__()
        self._codebook = Codebook(size, dim)


class _VQStack(nn.Module):
    def __init__(self, n: int, size: int, dim: int):
        super().__init__()
        self.layers = nn.ModuleList(_VQ(size, dim) for _ in range(n))


class ResidualVQ(nn.Module):
    """`rvq_first` / `rvq_rest`: sum of per-codebook vectors, then a bias-free 1x1 projection."""

    def __init__(self, n: int, size: int, dim: int, out_dim: int):
        super().__init__()
        self.vq = _VQStack(n, size, dim)
        self.output_proj = nn.Conv1d(dim, out_dim, 1, bias=False)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """codes: [B, T, n] -> [B, T, out_dim] (channels-last)."""
        q = None
        for i, vq in enumerate(self.vq.layers):
            e = vq._codebook.lookup(codes[..., i])
            q = e if q is None else q + e
        return F.linear(q, self.output_proj.weight[:, :, 0])


class SplitRVQ(nn.Module):
    """`decoder.quantizer`: codebook 0 through `rvq_first`, codebooks 1.. through `rvq_rest`."""

    def __init__(self, num_quantizers: int, codebook_size: int, codebook_dim: int):
        super().__init__()
        vq_dim = codebook_dim // 2  # per-codebook vector size (256); the projections map it to codebook_dim
        self.rvq_first = ResidualVQ(1, codebook_size, vq_dim, codebook_dim)
        self.rvq_rest = ResidualVQ(num_quantizers - 1, codebook_size, vq_dim, codebook_dim)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """codes: [B, T, Q] -> latent [B, T, codebook_dim]."""
        return self.rvq_first(codes[..., :1]) + self.rvq_rest(codes[..., 1:])
