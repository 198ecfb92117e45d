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
# accumulators and their operands; AVX2's 16 would spill, so it keeps 4 (the packed-word GEMV below, 3072 x
# 1024 on 2 AVX2 cores: 0.30 / 0.23 / 0.26 / 0.30 ms at one row with 1 / 2 / 4 / 8, ~0.5 ms at 4 rows for all).
# Each output's own sum is unchanged, so a row gets the same bits whatever the blocks or the row count.
GEMV_ACCUMULATORS = 8 if cpu_isa.detect().vector == "AVX512" else 4
# Float weights: up to this many rows the GEMV beats MKL's GEMM (a 1536 x 12288 weight on Zen 5 at 8 rows: 5.3
# vs 6.4 ms with MKL_CBWR=AUTO,STRICT); beyond it the GEMM's reuse of each loaded weight across rows wins (16
# rows: 9.1 vs 8.5 ms).
FLOAT_GEMV_MAX_ROWS = 8


def _channel_blocks(out: int, rows: int) -> list[slice]:
    """The output channels cut into equal blocks, one sum each (see GEMV_ACCUMULATORS)."""
    chunks = max(1, GEMV_ACCUMULATORS // rows)
    chunks = chunks if out % chunks == 0 else 1
    part = out // chunks
    return [slice(c * part, (c + 1) * part) for c in range(chunks)]


def gemv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x [rows, in] @ weight [out, in]^T in float32 (weight widened to x's dtype), written for inductor: one
    multiply-and-sum over `in` per row and channel block (see GEMV_ACCUMULATORS)."""
    w = weight.to(x.dtype)
    blocks = _channel_blocks(weight.shape[0], x.shape[0])
    return torch.stack([torch.cat([(x[r] * w[b]).sum(-1, dtype=torch.float32) for b in blocks])
                        for r in range(x.shape[0])])


# int8 weights as 32-bit words, for AVX2. ATen's AVX2 `Vectorized<int8_t>` and `Vectorized<int32_t>` load a
# partial or counted vector through a zeroed stack buffer and memcpy, and inductor always passes the count: the
# plain int8 GEMV streams ~2 GB/s there, slower than float32's MKL. Its `Vectorized<float>` load takes the
# plain `_mm256_loadu_ps` when the count is a whole vector. So the AVX2 GEMV reads four int8 weights per 32-bit
# word from a float32 tensor (the words' bits; no float arithmetic touches them), reinterprets them as int32 in
# registers and takes each byte out with two shifts (left to the top, arithmetic right: the sign comes with
# it). Word j of a channel holds the weights at j, j + in/4, j + in/2 and j + 3in/4 (bytes 0..3), so the four
# bytes multiply four contiguous quarters of the activations, each loaded whole too. 3072 x 1024 at one row on
# 2 cores of an AVX2-only AMD EPYC: 0.26 ms (12 GB/s) against MKL's float32 0.99 ms and the plain int8 GEMV's
# 1.9 ms (benchmarks/kernels.py, docs/benchmarks.md).
WORD_BYTES = 4


def pack_words(weight: torch.Tensor) -> torch.Tensor:
    """int8 [out, in] (in divisible by 4) -> the packed words as float32 [out, in/4] (see above)."""
    out, k = weight.shape
    if k % WORD_BYTES:
        raise ValueError(f"packing needs an input size divisible by {WORD_BYTES}, got {k}")
    quarters = weight.view(out, WORD_BYTES, k // WORD_BYTES).to(torch.int32) & 0xFF
    words = quarters[:, 0] | (quarters[:, 1] << 8) | (quarters[:, 2] << 16) | (quarters[:, 3] << 24)
    return words.contiguous().view(torch.float32)


def unpack_words(packed: torch.Tensor) -> list[torch.Tensor]:
    """The four int8 quarters of the packed weights, each [out, in/4], as int32 (traced: shifts in registers)."""
    words = packed.view(torch.int32)
    return [(words << (24 - 8 * b)) >> 24 for b in range(WORD_BYTES)]


def packed_gemv(x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
    """`gemv` over weights packed by `pack_words`: x [rows, in] @ weight^T in float32."""
    rows = x.shape[0]
    quarters = [q.to(x.dtype) for q in unpack_words(packed)]
    xq = x.view(rows, WORD_BYTES, packed.shape[1])
    blocks = _channel_blocks(packed.shape[0], rows)

    def block_sum(r: int, b: slice) -> torch.Tensor:
        terms = [xq[r, i] * quarters[i][b] for i in range(WORD_BYTES)]
        return (terms[0] + terms[1] + terms[2] + terms[3]).sum(-1, dtype=torch.float32)

    return torch.stack([torch.cat([block_sum(r, b) for b in blocks]) for r in range(rows)])


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
