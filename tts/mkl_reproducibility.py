"""MKL's strict conditional numerical reproducibility on AMD CPUs, set before MKL's first call.

On an AMD EPYC Zen 5 MKL's float32 GEMMs round differently depending on their operands' memory alignment, and
so on which OpenMP thread (with its own scratch buffer) computes a row: PyTorch's CPU attention kernel gave the
same query row different bits in the first and the second half of a batch, which breaks the engine's promise
that a request's audio is the same bits alone or in a batch. `MKL_CBWR=AUTO,STRICT` (MKL's own switch: the best
code path for the CPU, results independent of alignment and thread count) removes that, and on that CPU it is
also faster for few-row products (3072 x 1024 weight at 4 rows: 0.65 vs 1.26 ms; docs/benchmarks.md). On the
Intel Sapphire Rapids the batching tests were bit-exact without it (its speed there is unmeasured), so it is left
to MKL's default on other vendors. MKL reads the variable
at its first call, so this runs when `tts` is imported; an operator's own MKL_CBWR wins.
"""

from __future__ import annotations

import os

from tts import cpuinfo

AMD = cpuinfo.field("vendor_id") == "AuthenticAMD"
if AMD:
    os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
