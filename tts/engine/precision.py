"""Precision per component (talker, code predictor, codec), chosen once at load from the flags and the machine.

    plan = choose_precision(dtype="float32", codec_dtype="float32", quantization="auto", device=cpu)
    plan.talker, plan.code_predictor, plan.codec   # "int8" | "bfloat16" | "float32" each
    plan.compile_step                              # auto: the decode step is compiled (the int8 kernel needs it)

`--dtype` is the activation dtype of the talker and code predictor (and of any weight left unquantised); its
default `auto` is float32 on a CPU (the exact reference) and bfloat16 on CUDA (tensor cores; float32 there
would stream twice the bytes for numerics the oracle's own CUDA runs do not have either);
`--quantization int8` stores their linear weights as int8 with per-output-channel scales (tts/model/quantized.py);
`--codec-dtype` is the codec decoder's. `none` with float32 everywhere is the exact reference (bit-identical to
the official code). `auto` chooses every component for the detected machine, from what the quality gate
(`make quality-gate`, docs/benchmarks.md) passed and what the kernel benchmarks (benchmarks/kernels.py) found
faster than float32 there:
- talker and code predictor: int8 weights with float32 activations, and the decode step compiled: the int8
  kernel is inductor's generated GEMV (AVX-512 code over int8, or AVX2 code over packed words, below), which
  streams a quarter of float32's bytes. Uncompiled, int8 weights go through a widening GEMM that is no faster
  than float32, so `auto` always compiles (cold: minutes on 2 cores; inductor's on-disk cache makes later
  starts take seconds).
  Where the CPU has native bf16, the talker also keeps bfloat16 copies of its int8 weights for prompt chunks
  (`prompt_copies`): a prompt then skips widening every layer's weights (0.6B model, the benchmark prompt:
  prefill ~250 -> ~180 ms in A/B runs) for 0.9 GB more memory (the same bits: the copies hold the widening's
  values);
  bfloat16 is not chosen: it streams twice int8's bytes and, without native bf16 (AMX or AVX512-BF16), is
  emulated and slower than float32;
- codec: the convolutions that run as GEMMs (wide ones and the transposed ones) in float16, everything else
  float32, where the CPU has AVX512-FP16: they stream half the bytes; 49.9 dB SNR against float32
  (`CodecDecoder.use_float16_convolutions` says which and why). Elsewhere float32: bfloat16 fails the 40 dB
  gate (26.5 dB whole codec, 31.7 dB with only the convolutions in bf16) and float16 without native units is
  emulated, far slower than float32. The codec's float32 products with few rows (at a few slots: the
  pre-transformer, the upsampling stages, the first decoder block) run through the same compiled GEMV as the
  int8 layers instead of MKL's GEMM, which streams them far below bandwidth on AMD Zen
  (`CodecDecoder.use_compiled_gemv`).
Without AVX-512 (an AVX2-only CPU, or torch capped with `ATEN_CPU_CAPABILITY=avx2`) the int8 weights are also
kept as 32-bit words (tts/model/gemv.py, `pack_words`): inductor's AVX2 code loads int8 (and int32) vectors
through a stack copy, so the plain int8 GEMV streams ~2-3 GB/s there and was slower than float32 (519 vs 482
ms per frame for talker + predictor, under that cap on an EPYC Zen 5), while the words load as whole float
vectors: a 3072 x 1024 product at one row in 0.23-0.36 ms against MKL float32's 0.8-1.2 ms on an AVX2-only
EPYC, the whole frame 2.4-2.8x faster than float32 (docs/benchmarks.md, tenth series). The talker's prompt copies
are float32 there (bf16 is emulated without native units; widening every layer's int8 weights per prompt made
the prefill ~40 % slower than float32's: 0.6B, 919-1271 vs 643-744 ms; with the copies 713 ms), 1.8 GB for the
0.6B model, and the codec stays float32. Without even AVX2, `auto` is the exact float32 reference.
On CUDA, `auto` is bfloat16 everywhere but the codec (float32).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tts.checkpoint.loading import CheckpointError, parse_dtype
from tts.model import cpu_isa

QUANTIZATIONS = ("none", "int8", "auto")
DTYPE_CHOICES = ("auto", "float32", "bfloat16")  # --dtype (talker and code predictor activations)


def default_dtype(dtype: str, device: torch.device) -> str:
    """`auto`: bfloat16 on CUDA, float32 (the exact reference) elsewhere; any other name as given."""
    if dtype != "auto":
        return dtype
    return "bfloat16" if device.type == "cuda" else "float32"


@dataclass(frozen=True)
class Precision:
    talker: str  # "float32" | "bfloat16" | "int8"
    code_predictor: str
    codec: str  # "float32" | "bfloat16" | "float16" (its GEMM convolutions in float16, the rest float32)
    activations: str  # dtype of the talker's and predictor's activations, caches and unquantised weights
    machine: str  # the instruction sets the choice was made for, e.g. "AVX512 + AMX-BF16, ..."
    reason: str  # why: the flags as given, or what `auto` saw
    quantization: str = "none"  # the mode asked for: none | int8 | auto
    compile_step: bool = False  # the loader compiles the decode step (auto on a CPU: the int8 kernel needs it)
    prompt_copies: bool = False  # the int8 talker keeps widened copies of its weights for prompt chunks (auto)

    @property
    def activation_dtype(self) -> torch.dtype:
        return parse_dtype(self.activations)

    @property
    def codec_dtype(self) -> torch.dtype:
        """The codec's activation dtype (its convolutions' is float16 when `codec` says so)."""
        return torch.float32 if self.codec == "float16" else parse_dtype(self.codec)

    @property
    def exact(self) -> bool:
        """The reference numerics (bit-identical to the official float32 code)."""
        return self.talker == self.code_predictor == self.codec == "float32"

    def describe(self) -> str:
        widened = "bfloat16" if cpu_isa.detect().native_bf16 else self.activations
        copies = f", {widened} copies for prompts" if self.prompt_copies else ""
        gemv = " (few-row float32 products as compiled GEMVs)" if self.compile_step else ""
        return (f"talker {self.talker}{copies}, code predictor {self.code_predictor}, codec {self.codec}{gemv} "
                f"(activations {self.activations}; {self.reason}; {self.machine})")


def choose_precision(*, dtype: str = "auto", codec_dtype: str = "float32", quantization: str = "none",
                     device: torch.device | None = None) -> Precision:
    device = device or torch.device("cpu")
    dtype = default_dtype(dtype, device)
    parse_dtype(dtype)  # the same errors as before for a bad name
    if codec_dtype != "float16":
        parse_dtype(codec_dtype)
    if quantization not in QUANTIZATIONS:
        raise CheckpointError(f"unsupported quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}")
    if device.type == "cuda":
        machine = torch.cuda.get_device_name(device)
    else:
        machine = cpu_isa.detect().describe()
    if quantization == "none":
        return Precision(dtype, dtype, codec_dtype, dtype, machine, "as configured", quantization)
    if quantization == "int8":
        return Precision("int8", "int8", codec_dtype, dtype, machine, "int8 weights as configured", quantization)
    if device.type == "cuda":
        return Precision("bfloat16", "bfloat16", "float32", "bfloat16", machine, "auto: CUDA", quantization)
    isa = cpu_isa.detect()
    if isa.vector == "DEFAULT":
        return Precision("float32", "float32", "float32", "float32", machine, "auto: float32 (no AVX2 for the "
                         "int8 GEMV)", quantization)
    if isa.vector == "AVX2":
        return Precision("int8", "int8", "float32", "float32", machine, "auto: int8 GEMV over 32-bit words "
                         "from inductor in the compiled step (AVX2), float32 copies for prompts, float32 codec",
                         quantization, compile_step=True, prompt_copies=True)
    codec, why = ("float16", "float16 codec GEMM convolutions (AVX512-FP16)") if isa.avx512_fp16 else (
        "float32", "float32 codec (no native float16; bf16 fails the 40 dB gate)")
    return Precision("int8", "int8", codec, "float32", machine,
                     f"auto: int8 GEMV from inductor in the compiled step, {why}", quantization, compile_step=True,
                     prompt_copies=isa.native_bf16)
