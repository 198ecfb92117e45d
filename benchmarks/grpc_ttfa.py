"""Time to first audio through gRPC: the real server (worker process included) on the real-0.6B-dimension random
checkpoint, measured by a client on the same machine.

    .venv/bin/python -m benchmarks.grpc_ttfa [--streams 1 8] [--max-batch 8] [--dtype float32] [--repeats 3]
        [--quantization none|int8|auto] [--codec-batching auto|per-stream|all-slots]

TTFA = the client's call -> the first AudioChunk received (what a caller hears as latency): validation,
queueing, prefill, the first decode step (talker + code predictor + codec) and the first chunk's encoding and
transport. For N concurrent streams, N calls start together; p50/p95 over all streams of all repeats. Each
request asks for 2 s of audio (max_audio_duration_ms) so the streams overlap like real traffic. Also reported:
each stream's real-time factor after its first chunk, (last chunk's arrival - first chunk's) / the audio that
came after the first chunk (< 1: it streams faster than it plays); random weights end some streams early, at
EOS, so streams with under 0.5 s of audio after the first chunk are left out of it.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

from benchmarks.engine_speed import DEFAULT_CKPT, cpu_model, ensure_checkpoint
from qwen3tts.v1 import tts_pb2
from tests.e2e import ServerProcess

TEXTS = ["The quick brown fox jumps over the lazy dog.", "Streaming speech should start fast and never click.",
         "Batching many requests shares every decode step.", "A slow reader must never stall the others.",
         "Numbers like 42 and 3.14 are spoken too.", "The worker restarts if it ever gets stuck.",
         "Every request gets its own random stream.", "Latency is what a caller hears first."]


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def one_call(stub, i: int, ttfa: list[float], rtf: list[float]) -> None:
    req = tts_pb2.SynthesizeRequest(text=TEXTS[i % len(TEXTS)], seed=i, max_audio_duration_ms=2000)
    t0 = time.perf_counter()
    first = last = None
    audio_s = 0.0  # after the first chunk
    for r in stub.Synthesize(req, timeout=600):
        if r.WhichOneof("event") == "audio":
            last = time.perf_counter() - t0
            if first is None:
                first = last
            else:
                audio_s += r.audio.duration.ToTimedelta().total_seconds()
    ttfa.append(first)
    if audio_s >= 0.5:
        rtf.append((last - first) / audio_s)


def run(server: ServerProcess, streams: int, repeats: int) -> tuple[list[float], list[float]]:
    ttfa: list[float] = []
    rtf: list[float] = []
    stub = server.stub()
    one_call(stub, 99, [], [])  # warm the path (first-call allocations at this shape)
    for r in range(repeats):
        threads = [threading.Thread(target=one_call, args=(stub, r * streams + i, ttfa, rtf))
                   for i in range(streams)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return ttfa, rtf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--codec-dtype", default=None, choices=["float32", "bfloat16"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quantization", default="none", choices=["none", "int8", "auto"])
    ap.add_argument("--codec-batching", default="auto", choices=["auto", "per-stream", "all-slots"])
    args = ap.parse_args()
    path = ensure_checkpoint(DEFAULT_CKPT)
    server = ServerProcess(path, "--max-batch", str(args.max_batch), "--dtype", args.dtype,
                           "--codec-dtype", args.codec_dtype or args.dtype, "--quantization", args.quantization,
                           "--codec-batching", args.codec_batching, metrics=False).start(ready_timeout=900)
    try:
        results = {n: run(server, n, args.repeats) for n in args.streams}
    finally:
        server.stop()
    print(f"\nreal-0.6B dims through gRPC, max-batch {args.max_batch}, talker {args.dtype}, codec "
          f"{args.codec_dtype or args.dtype}, quantization {args.quantization}, codec batching "
          f"{args.codec_batching}, {args.repeats} repeats; CPU: {cpu_model()}")
    print("| concurrent streams | TTFA p50 (s) | TTFA p95 (s) | real-time factor after the first chunk, p50 |")
    print("|---|---|---|---|")
    for n, (ttfa, rtf) in results.items():
        streamed = f"{percentile(rtf, 0.5):.2f} ({len(rtf)} streams)" if rtf else "n/a (every stream ended early)"
        print(f"| {n} | {percentile(ttfa, 0.5):.2f} | {percentile(ttfa, 0.95):.2f} | {streamed} |")
    base = percentile(results[min(results)][0], 0.5)
    for n, (ttfa, _) in results.items():
        print(f"p95 at {n} streams / p50 at {min(results)}: {percentile(ttfa, 0.95) / base:.2f}x")
    print(json.dumps({str(n): {"ttfa": ttfa, "rtf": rtf} for n, (ttfa, rtf) in results.items()}))


if __name__ == "__main__":
    main()
