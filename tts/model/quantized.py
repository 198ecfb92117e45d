"""Weight-only int8 linear layers: int8 weights with one float32 scale per output channel, made at load.

A batch-1 decode step on a CPU is bound by the bytes of weights it streams (qwen3-tts-architecture.md §5):
float32 moves 6.6 GB per frame for the 0.6B model, int8 a quarter of it. Activations stay in the model's dtype;
only the stored weights shrink. Quantisation is symmetric per output row: scale = max|w_row| / 127 and
q = round(w / scale) in [-127, 127], so y = (x @ q^T) * scale (+ bias).

Two kernels, chosen by where the layer runs:
- inside a compiled decode step (`torch.compile`, inductor's CPU codegen) the product is tts/model/gemv.py's
  GEMV: the int8 bytes are read once, widened in registers, nothing is materialised, and a row's result does
  not depend on its neighbours (the batching guarantee). On CPUs without AVX-512 it reads the same weights
  packed four to a 32-bit word (`pack_words`), the form inductor's AVX2 code loads at full speed. PyTorch's own
  `_weight_int8pack_mm` is not used: with float32 activations it is scalar (~2.7 GB/s), and it is fast only
  with bfloat16 activations, which rounds every layer's input (benchmarks/kernels.py measures it).
- eagerly the weight is widened and multiplied with a GEMM, then scaled. Prompt chunks (more than two
  tokens per row: compute-bound) widen to bfloat16 where the CPU has native bf16 (AMX/AVX512-BF16: oneDNN's
  bf16 GEMM, ~4x the float32 GEMM at 32 rows on this project's Xeon; int8 values are exact in bf16, only the
  activations round); otherwise, and always for decode rows, to the activation dtype (decode rows through a
  transposed copy, for MKL's row invariance). An uncompiled int8 step is therefore no faster than float32 for
  one row; the fast path is the compiled step.
  Widening a layer's weights costs over a quarter of a prompt chunk's time (61 tokens through one 0.6B layer:
  2.7 of 9.6 ms, eager; a whole prompt through the 0.6B talker: ~250 ms, ~180 ms from kept copies;
  docs/benchmarks.md), so a layer can keep its widened copy (`keep_prompt_copy`: bfloat16, twice the int8
  bytes more memory; float32 on CPUs without native bf16, four times). The copy holds the same values the
  widening makes, so prompts give the same bits either way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tts.model import cpu_isa
from tts.model.gemv import WORD_BYTES, gemv, pack_words, packed_gemv
from tts.model.layers import MLP, Attention

# The multiply-and-sum form is unrolled per row (static Python loop in the traced graph), so it is meant for the
# few rows of a decode step (slots x at most 2 tokens); prompt chunks always take the GEMM.
REDUCTION_MAX_ROWS = 64


def has_int8(module: nn.Module) -> bool:
    return any(isinstance(m, Int8Linear) for m in module.modules())


def decodes_int8_only(model: nn.Module) -> bool:
    """Every weight product of a decode step is int8: no float `nn.Linear` in the talker or its code predictor
    but the text projection, which runs on prompts only (decode reads its outputs from the slot state)."""
    talker = model.talker
    return has_int8(talker) and not any(type(m) is nn.Linear for name, m in talker.named_modules()
                                        if not name.startswith("text_projection"))


def quantize_per_channel(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """float [out, in] -> (int8 [out, in], float32 scales [out]), symmetric, computed in float32."""
    w = weight.detach().float()
    scale = w.abs().amax(dim=1).clamp(min=1e-12) / 127.0
    q = torch.round(w / scale[:, None]).clamp_(-127, 127).to(torch.int8)
    return q.contiguous(), scale


class Int8Linear(nn.Module):
    """Drop-in for `nn.Linear` (no autograd): `weight` int8 [out, in], `scale` float32 [out], optional bias."""

    def __init__(self, weight: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]
        self.register_buffer("weight", weight)
        self.register_buffer("scale", scale)
        self.register_buffer("bias", bias)
        self.register_buffer("prompt_weight", None, persistent=False)  # see keep_prompt_copy
        self.register_buffer("packed", None, persistent=False)  # see use_words
        on_cpu = weight.device.type == "cpu"
        on_bf16_units = weight.device.type == "cuda" or (on_cpu and cpu_isa.detect().native_bf16)
        self.prompt_gemm_dtype = torch.bfloat16 if on_bf16_units else None
        if on_cpu and cpu_isa.detect().vector != "AVX512":
            self.use_words()

    @classmethod
    def from_linear(cls, linear: nn.Linear, dtype: torch.dtype) -> Int8Linear:
        """Quantise `linear`'s weight; the bias is kept in `dtype` (the activations' dtype)."""
        q, scale = quantize_per_channel(linear.weight)
        bias = linear.bias.detach().to(dtype) if linear.bias is not None else None
        return cls(q, scale, bias)

    def keep_prompt_copy(self, activations: torch.dtype) -> torch.Tensor:
        """Keep the weight widened to the prompt GEMM's dtype (bf16 where native, else the activations'), so
        prompt chunks skip the widening; returns the copy."""
        self.prompt_weight = self.weight.to(self.prompt_gemm_dtype or activations)
        return self.prompt_weight

    def use_words(self, on: bool = True) -> bool:
        """Give the compiled GEMV the weights as 32-bit words (tts/model/gemv.py, `pack_words`: the AVX2 kernel;
        on at construction on CPUs without AVX-512), or take them away (`on=False`: the int8 GEMV); returns
        whether the words are in use (the input size must allow them). The int8 `weight` stays for the eager
        products, so the words cost the int8 bytes again."""
        self.packed = pack_words(self.weight) if on and self.in_features % WORD_BYTES == 0 else None
        return self.packed is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.numel() // x.shape[-1]
        # Decode steps carry at most 2 tokens per row (the predictor's first pass); prompt chunks carry more.
        prompt = x.dim() > 2 and x.shape[-2] > 2
        if torch.compiler.is_compiling() and not prompt and rows <= REDUCTION_MAX_ROWS:
            x2 = x.reshape(rows, x.shape[-1])
            y = gemv(x2, self.weight) if self.packed is None else packed_gemv(x2, self.packed)
            y = y.view(*x.shape[:-1], self.out_features)
        elif prompt:
            # A chunk's row count follows from its prompt alone (chunk boundaries are fixed), so a prompt needs no
            # layout that keeps a row's bits across row counts: the weight widens as stored, without the
            # transposed copy below (a 3072 x 1024 weight at 61 rows on 2 AVX2 cores: ~6-7 vs ~10-14 ms).
            gemm = self.prompt_gemm_dtype or x.dtype
            kept = self.prompt_weight is not None and self.prompt_weight.dtype == gemm
            w = self.prompt_weight if kept else self.weight.to(gemm)
            y = F.linear(x.to(gemm), w).float()
        else:
            # Widened into the [in, out] row-major layout: with it MKL rounds a row the same way for any row
            # count from 2 to 32 (see store_linear_weights_transposed), which the row-bucketed step relies on.
            y = torch.matmul(x, self.weight.t().contiguous().to(x.dtype)).float()
        y = (y * self.scale).to(x.dtype)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per-channel"


def quantize_linears(module: nn.Module, dtype: torch.dtype, *, skip: tuple[str, ...] = ()) -> int:
    """Replace every `nn.Linear` under `module` (except names starting with one of `skip`) by an `Int8Linear`;
    returns how many. The float weights are dropped, so peak memory is the float model plus one layer."""
    targets = [(name, m) for name, m in module.named_modules()
               if isinstance(m, nn.Linear) and not name.startswith(skip)]
    for name, linear in targets:
        parent_name, _, child = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        replacement = Int8Linear.from_linear(linear, dtype)
        if isinstance(parent, nn.ModuleList):
            parent[int(child)] = replacement
        else:
            setattr(parent, child, replacement)
    return len(targets)


def concatenate(linears: list[Int8Linear]) -> Int8Linear:
    """One layer whose outputs are `linears`' outputs side by side, for products over the same input.

    Each output channel keeps its own int8 row, scale and sum, so its bits are those of the layer it came from
    (a GEMV output is its own sum over the input; checked for the compiled GEMV and the prompt GEMM by
    tests/tts/test_precision.py); one product instead of three streams the same bytes with fewer loops and
    calls: q, k, v and gate, up of a 0.6B layer at one row, compiled on 2 cores of a Sapphire Rapids: 0.79-0.81
    vs 0.93-0.94 ms (docs/benchmarks.md)."""
    if any(m.bias is not None for m in linears):
        raise ValueError("concatenate takes layers without bias")  # the talker's and predictor's have none
    fused = Int8Linear(torch.cat([m.weight for m in linears]), torch.cat([m.scale for m in linears]), None)
    # the kernel its parts had (the machine's choice, or a test's): packing is per output row, so the parts'
    # words side by side are the fused layer's
    packed = all(m.packed is not None for m in linears)
    fused.packed = torch.cat([m.packed for m in linears]) if packed else None
    return fused


def fuse_projections(module: nn.Module) -> int:
    """Give every attention under `module` whose q, k, v are int8 one `qkv_proj`, and every MLP one
    `gate_up_proj` (the separate layers are dropped); returns how many products were fused."""
    fused = 0
    for m in list(module.modules()):  # listed first: the loop replaces children
        if isinstance(m, Attention) and all(isinstance(p, Int8Linear) for p in (m.q_proj, m.k_proj, m.v_proj)):
            m.qkv_proj = concatenate([m.q_proj, m.k_proj, m.v_proj])
            m.q_proj = m.k_proj = m.v_proj = None
            fused += 1
        elif isinstance(m, MLP) and all(isinstance(p, Int8Linear) for p in (m.gate_proj, m.up_proj)):
            m.gate_up_proj = concatenate([m.gate_proj, m.up_proj])
            m.gate_proj = m.up_proj = None
            fused += 1
    return fused
