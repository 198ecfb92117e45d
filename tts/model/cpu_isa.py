"""What the CPU can do, read once: the instruction sets that decide which low-precision kernels pay off.

PyTorch reports the vector width its kernels were dispatched for (`get_cpu_capability`: DEFAULT, AVX2, AVX512);
the matrix and bfloat16 extensions come from the kernel's CPU flags (`/proc/cpuinfo`, Linux). Kernels are chosen
from them at load (tts/engine/precision.py).

The AVX-512 extensions (AVX512-BF16, AVX512-FP16, AVX512-VNNI, AMX) count only while torch dispatches AVX-512:
`ATEN_CPU_CAPABILITY=avx2` (PyTorch's own switch, which inductor's code generation follows too) then makes the
whole choice the one an AVX2-only CPU gets. With `ONEDNN_MAX_CPU_ISA=AVX2` and `MKL_ENABLE_INSTRUCTIONS=AVX2`
beside it, oneDNN and MKL follow as well: that is how the AVX2 path is measured on an AVX-512 machine
(docs/benchmarks.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from tts import cpuinfo


@dataclass(frozen=True)
class CpuIsa:
    vector: str  # "AVX512" | "AVX2" | "DEFAULT" (torch's dispatch level)
    avx512_bf16: bool  # native bf16 dot products (vdpbf16ps)
    amx_bf16: bool  # AMX tiles with bf16 (oneDNN uses them for bf16 GEMMs)
    amx_int8: bool
    vnni: bool  # avx512_vnni or avx_vnni: int8 dot products
    avx512_fp16: bool  # native float16 arithmetic (oneDNN's f16 convolutions and GEMMs)

    @property
    def native_bf16(self) -> bool:
        """bf16 GEMMs/convolutions run on hardware bf16 units; without them oneDNN emulates bf16 and is slower
        than float32 (the codec's convolutions ~100x on an AVX2-only machine)."""
        return self.amx_bf16 or self.avx512_bf16

    def describe(self) -> str:
        extras = [name for name, on in (("AMX-BF16", self.amx_bf16), ("AMX-INT8", self.amx_int8),
                                        ("AVX512-BF16", self.avx512_bf16), ("AVX512-FP16", self.avx512_fp16),
                                        ("VNNI", self.vnni)) if on]
        return self.vector + (" + " + ", ".join(extras) if extras else "")


def from_flags(vector: str, flags: set[str]) -> CpuIsa:
    """The instruction sets usable at torch's dispatch level `vector`, given the CPU's flags."""
    wide = vector == "AVX512"
    return CpuIsa(
        vector=vector,
        avx512_bf16=wide and "avx512_bf16" in flags,
        amx_bf16=wide and "amx_bf16" in flags,
        amx_int8=wide and "amx_int8" in flags,
        vnni="avx_vnni" in flags or (wide and "avx512_vnni" in flags),
        avx512_fp16=wide and "avx512_fp16" in flags,
    )


@functools.cache
def detect() -> CpuIsa:
    return from_flags(torch.backends.cpu.get_cpu_capability(), set(cpuinfo.field("flags").split()))
