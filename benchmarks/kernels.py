"""Per-kernel weight streaming: effective GB/s of each linear kernel against the measured memory bandwidth.

    .venv/bin/python -m benchmarks.kernels [--threads 2] [--rows 1 2 4] [--gigabytes 1.0]

One batch-1 decode step multiplies one or two activation rows by every weight matrix once, so each kernel's
speed is the rate at which it streams weights from memory. Each kernel runs over enough distinct copies of the
talker's MLP shape (1024 -> 3072 and back; ~1 GB of weights in the kernel's storage dtype) that nothing stays
in cache, and effective GB/s = weight bytes / time. Kernels:
- float32 `F.linear` (MKL sgemm/sgemv), bfloat16 `F.linear` (oneDNN; AMX where present);
- int8 `torch._weight_int8pack_mm` (PyTorch's own weight-only int8 kernel; bf16 activations);
- int8 inductor GEMV: `tts.model.quantized.Int8Linear` inside `torch.compile` (the kernel `auto` uses), over
  int8 and over packed 32-bit words (tts/model/gemv.py); `*` marks the form this machine does not use.

`--layers` adds whole compiled int8 decoder layers of the 0.6B shape (one token, as a decode step runs them,
with the options `compile_regions` uses; ~1 GB of distinct layers, so the weights come from memory), at 1
and 4 rows, once per `GEMV_ACCUMULATORS` setting (`--accumulators`; by default 1, 4 and this CPU's own): what
the independent accumulators buy inside a real layer. Under `ATEN_CPU_CAPABILITY=avx2` inductor writes AVX2
code (16 vector registers), which is how the AVX2 setting is measured on an AVX-512 machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch._dynamo
import torch.nn.functional as F

from benchmarks.engine_speed import cpu_model, measure_bandwidth
from tts.checkpoint.config import DecoderDims
from tts.engine.runner import REGION_OPTIONS
from tts.model import gemv
from tts.model.layers import DecoderLayer, KVCache, rope_table
from tts.model.quantized import Int8Linear, fuse_projections, quantize_linears, quantize_per_channel

SHAPES = [(3072, 1024), (1024, 3072)]  # (out, in): the MLP's up/gate and down projections


def _time(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _weights(gigabytes: float, bytes_per: int, convert=lambda w: w) -> list:
    """~`gigabytes` of MLP-shaped weights, each converted as it is made (no float32 copy of them all)."""
    per_pair = sum(o * i for o, i in SHAPES) * bytes_per
    n = max(1, int(gigabytes * 1e9 / per_pair))
    return [convert(torch.randn(o, i) * 0.02) for _ in range(n) for o, i in SHAPES]


def kernels(rows: int, gigabytes: float) -> list[dict]:
    out = []

    def record(name: str, weights: list, nbytes: int, fn) -> None:
        t = _time(fn)
        out.append({"kernel": name, "rows": rows, "ms_per_matrix": t / len(weights) * 1e3, "gb_s": nbytes / t / 1e9})

    x32 = {i: torch.randn(rows, i) for _, i in SHAPES}
    xbf = {i: v.bfloat16() for i, v in x32.items()}

    w32 = _weights(gigabytes, 4)
    record("float32 F.linear (MKL)", w32, sum(w.numel() * 4 for w in w32),
           lambda: [F.linear(x32[w.shape[1]], w) for w in w32])
    w32 = None
    wbf = _weights(gigabytes, 2, torch.Tensor.bfloat16)
    record("bfloat16 F.linear (oneDNN)", wbf, sum(w.numel() * 2 for w in wbf),
           lambda: [F.linear(xbf[w.shape[1]], w) for w in wbf])
    wbf = None
    qs = [(q, s.bfloat16()) for q, s in _weights(gigabytes, 1, quantize_per_channel)]
    record("int8 _weight_int8pack_mm (bf16 act.)", qs, sum(q.numel() for q, _ in qs),
           lambda: [torch._weight_int8pack_mm(xbf[q.shape[1]], q, s) for q, s in qs])
    mods = [Int8Linear(q, s.float(), None) for q, s in qs]
    qs = None

    for m in mods:  # one compiled graph per weight shape, shared by every copy (as the decoder layers do)
        m.compile(fullgraph=True)
    # both forms of the GEMV: over int8 (what AVX-512 machines run) and over packed words (AVX2 machines)
    machine_packs = mods[0].packed is not None
    for packed in (machine_packs, not machine_packs):
        for m in mods:
            m.use_words(packed)
        torch._dynamo.reset()
        name = "over packed 32-bit words" if packed else "over int8"
        record(f"int8 inductor GEMV {name} (compiled Int8Linear, fp32 act.){'' if packed == machine_packs else ' *'}",
               mods, sum(m.weight.numel() for m in mods), lambda: [m(x32[m.in_features]) for m in mods])
    return out


def decoder_layers(gigabytes: float, accumulators: int, rows: int) -> dict:
    """ms per compiled int8 decoder layer (0.6B shape, `rows` rows of 1 token, 16 cached positions, q/k/v and
    gate/up fused as the engine loads them) with `accumulators`."""
    dims = DecoderDims(1024, 3072, 1, 16, 8, 128, 1e-6, 1e6)
    layers = []
    with torch.inference_mode():
        while sum(quantized_bytes(m) for m in layers) < gigabytes * 1e9:
            layer = DecoderLayer(dims)
            for p in layer.parameters():
                p.data.normal_(0, 0.02)
            quantize_linears(layer, torch.float32)
            fuse_projections(layer)
            layer.compile(fullgraph=True, options=REGION_OPTIONS)
            layers.append(layer)
    caches = [KVCache(rows, dims.num_kv_heads, 16, dims.head_dim, torch.float32, "cpu") for _ in layers]
    cos, sin = (t[5].view(1, 1, -1).expand(rows, 1, -1) for t in rope_table(dims.head_dim, dims.rope_theta, 16))
    pos, mask = torch.full((rows, 1), 5), torch.ones(rows, 1, 1, 16, dtype=torch.bool)
    x = torch.randn(rows, 1, dims.hidden_size)

    def run() -> None:
        with torch.inference_mode():
            for layer, cache in zip(layers, caches, strict=True):
                layer(x, cos, sin, cache, slice(0, rows), pos, mask)

    default, gemv.GEMV_ACCUMULATORS = gemv.GEMV_ACCUMULATORS, accumulators
    torch._dynamo.reset()  # the layers trace at their first call: with this setting
    try:
        t = _time(run)
    finally:
        gemv.GEMV_ACCUMULATORS = default
    nbytes = sum(quantized_bytes(m) for m in layers)
    return {"kernel": f"int8 decoder layer (fused projections), compiled, GEMV_ACCUMULATORS={accumulators}",
            "rows": rows, "ms_per_layer": t / len(layers) * 1e3, "gb_s": nbytes / t / 1e9}


def quantized_bytes(module: torch.nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, Int8Linear))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--gigabytes", type=float, default=1.0, help="weights per kernel run (beyond any cache)")
    ap.add_argument("--layers", action="store_true", help="also whole int8 decoder layers at 1 and 4 rows")
    ap.add_argument("--accumulators", type=int, nargs="+", help="GEMV_ACCUMULATORS settings for --layers "
                    "(default: 1, 4 and this CPU's)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch._dynamo.config.cache_size_limit = 64  # every Int8Linear copy shares the one code object
    bandwidth = measure_bandwidth()
    rows = [r for n in args.rows for r in kernels(n, args.gigabytes)]
    print(f"\nCPU: {cpu_model()}; {args.threads} threads; measured bandwidth {bandwidth:.1f} GB/s (1 GB float32 sum)")
    print("| kernel | rows | ms per 1024x3072 matrix | effective GB/s | of bandwidth |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['kernel']} | {r['rows']} | {r['ms_per_matrix']:.3f} | {r['gb_s']:.1f} | {r['gb_s'] / bandwidth:.0%} |")
    settings = sorted(set(args.accumulators or (1, 4, gemv.GEMV_ACCUMULATORS)))
    layers = [decoder_layers(args.gigabytes, c, n) for n in (1, 4) for c in settings] if args.layers else []
    if layers:
        print("\n| whole layer | rows | ms per layer (15.7 MB int8) | effective GB/s | of bandwidth |\n|---|---|---|---|---|")
    for r in layers:
        print(f"| {r['kernel']} | {r['rows']} | {r['ms_per_layer']:.3f} | {r['gb_s']:.1f} | {r['gb_s'] / bandwidth:.0%} |")
    print(json.dumps({"bandwidth_gb_s": bandwidth, "kernels": rows, "layers": layers}))


if __name__ == "__main__":
    main()
