"""The weight product of a decode step's few rows, written for inductor: a GEMV that reads each weight once.

A decode step multiplies one or a few activation rows by each weight matrix, so its speed is the rate at which
the weights stream from memory. `gemv` writes that product as an elementwise multiply and a sum over the input
dimension; compiled (`torch.compile`, inductor's CPU code generation) it becomes one vectorised loop over the
output channels that loads 16 (AVX-512) or 8 (AVX2) weights at a time, widens them to the activations' dtype
and accumulates in float32: nothing is materialised. Each output is written as its own sum over K whatever the
number of rows, so a row's result should not depend on its neighbours (the batching guarantee). Inductor does
not promise it: a float32 7168 x 1536 product gave a row other bits among 16 rows than among 4 (2 cores of a
Zen 5); the int8 talker and predictor shapes gave the same bits at 1, 2 and 8 rows (real 0.6B, 12 frames), so did
the fused q/k/v and gate/up int8 shapes of both sizes at 1, 2, 4 and 8 rows (4096 and 6144 x 1024, 4096 and
12288 x 2048; 2 cores of a Sapphire Rapids, ad-hoc script), and tests/tts/test_precision.py checks the int8 step on
the tiny model. Two users:
- int8 weights inside the compiled talker and code-predictor regions (tts/model/quantized.py);
- the codec's float32 products with few rows under `auto` (`FewRowLinear` here, `CodecDecoder.use_compiled_gemv`):
  MKL's float32 GEMM at 1-8 rows streams far below the memory's bandwidth on AMD Zen (a 1536 x 12288 weight at
  4 rows on 2 cores of an EPYC Zen 5: 7.9 ms with MKL's defaults, 4.6 ms with the MKL_CBWR that tts sets on
  AMD (tts/mkl_reproducibility.py), 2.2 ms as this GEMV; docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from tts.model import cpu_isa

# Independent float accumulators each step of the GEMV loop should feed. Inductor fuses sums of one shape into
# one loop, so rows already give one accumulator each; with fewer rows than this the output channels are also
# cut into equal blocks written as separate sums. Each accumulator's chain of adds waits on the previous add's
# latency, so too few of them leave the loop bound by latency, not by memory or instructions: a compiled int8
# 0.6B decoder layer on 2 AVX-512 cores took 1.56 / 1.26 / 0.99 ms with one / four / eight at 1 row, and
# 2.75 / 2.83 / 1.68 ms at 4 rows, where four meant one per row (benchmarks/kernels.py --layers,
# docs/benchmarks.md "Kernels"; sixteen was no better than eight). AVX-512 has 32 vector registers for 8
# accumulators and their operands; AVX2's 16 would spill, so it keeps 4 (AVX2 code measured under
# ATEN_CPU_CAPABILITY=avx2 is bound by its int8 loads instead: 1 / 4 / 8 within 15 % of each other, and `auto`
# uses no int8 there, tts/engine/precision.py).
# Each output's own sum is unchanged, so a row gets the same bits whatever the blocks or the row count.
GEMV_ACCUMULATORS = 8 if cpu_isa.detect().vector == "AVX512" else 4
# Float weights: up to this many rows the GEMV beats MKL's GEMM (a 1536 x 12288 weight on Zen 5 at 8 rows: 5.3
# vs 6.4 ms with MKL_CBWR=AUTO,STRICT); beyond it the GEMM's reuse of each loaded weight across rows wins (16
# rows: 9.1 vs 8.5 ms).
FLOAT_GEMV_MAX_ROWS = 8


def gemv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x [rows, in] @ weight [out, in]^T in float32 (weight widened to x's dtype), written for inductor: one
    multiply-and-sum over `in` per row and channel block (see GEMV_ACCUMULATORS)."""
    w = weight.to(x.dtype)
    out, rows = weight.shape[0], x.shape[0]
    chunks = max(1, GEMV_ACCUMULATORS // rows)
    chunks = chunks if out % chunks == 0 else 1
    part = out // chunks
    return torch.stack([torch.cat([(x[r] * w[c * part:(c + 1) * part]).sum(-1, dtype=torch.float32)
                                   for c in range(chunks)]) for r in range(rows)])


Product = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def few_row_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                   product: Product | None) -> torch.Tensor:
    """F.linear, except that with a compiled `product` (gemv) and at most FLOAT_GEMV_MAX_ROWS rows the product
    runs through it and the bias is added after (rounds once more than addmm: only outside the exact mode)."""
    rows = x.numel() // x.shape[-1]
    if product is None or rows > FLOAT_GEMV_MAX_ROWS:
        return F.linear(x, weight, bias)
    y = product(x.reshape(rows, x.shape[-1]), weight).view(*x.shape[:-1], weight.shape[0]).to(x.dtype)
    return y if bias is None else y + bias


class FewRowLinear(nn.Module):
    """`nn.Linear` (same parameters, same state-dict keys) whose few-row products run through a compiled GEMV."""

    def __init__(self, linear: nn.Linear, product: Product):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight, self.bias = linear.weight, linear.bias
        self.product = product

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return few_row_linear(x, self.weight, self.bias, self.product)


def use_few_row_linears(module: nn.Module, product: Product) -> int:
    """Replace every float32 `nn.Linear` under `module` by a `FewRowLinear`; returns how many."""
    targets = [(name, m) for name, m in module.named_modules()
               if type(m) is nn.Linear and m.weight.dtype == torch.float32]
    for name, linear in targets:
        parent_name, _, child = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, child, FewRowLinear(linear, product))
    return len(targets)
