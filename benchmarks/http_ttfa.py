"""Time to first audio through the HTTP API vs gRPC, on one server, at 1 and 8 concurrent streams.

    python -m benchmarks.http_ttfa [--streams 1 8] [--repeats 5] [--checkpoint DIR]

One real server (`python -m server`, real worker, the real-0.6B random checkpoint by default, max-batch 8) serves
both doors. Rounds alternate the doors (HTTP, gRPC, HTTP, ...) so that both see the same machine state; a round
starts `streams` requests at once through one door. TTFA is measured by the client, from just before the
request is sent to its first audio: for HTTP the first body bytes of `POST /v1/audio/speech` with
response_format=pcm (a new connection per request, the standard library's http.client: no SDK overhead), for
gRPC the first `audio` message. The same texts and seeds go through both doors. Prints a markdown table (p50,
p95 per door and what HTTP adds at p50) and the raw figures as JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import statistics
import threading
import time
from pathlib import Path

from benchmarks.engine_speed import DEFAULT_CKPT, ensure_checkpoint
from qwen3tts.v1 import tts_pb2
from tests.e2e import ServerProcess

TEXTS = ["The quick brown fox jumps over the lazy dog.", "Streaming speech should start fast and never click.",
         "Batching many requests shares every decode step.", "A slow reader must never stall the others.",
         "Numbers like 42 and 3.14 are spoken too.", "The worker restarts if it ever gets stuck.",
         "Every request gets its own random stream.", "Latency is what a caller hears first."]
VOICE = "ryan"


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def http_call(server: ServerProcess, i: int, audio_ms: int, out: list[float]) -> None:
    body = json.dumps({"model": "tts-1", "input": TEXTS[i % len(TEXTS)], "voice": VOICE, "response_format": "pcm",
                       "seed": i, "max_audio_duration_ms": audio_ms})
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=900)
    conn.request("POST", "/v1/audio/speech", body, {"content-type": "application/json"})
    r = conn.getresponse()
    assert r.status == 200, (r.status, r.read()[:300])
    first = r.read1(65536)
    out.append(time.perf_counter() - t0)
    assert first
    while r.read1(65536):
        pass
    conn.close()


def grpc_call(stub, i: int, audio_ms: int, out: list[float]) -> None:
    req = tts_pb2.SynthesizeRequest(text=TEXTS[i % len(TEXTS)], voice=VOICE, seed=i, max_audio_duration_ms=audio_ms)
    t0 = time.perf_counter()
    first = None
    for r in stub.Synthesize(req, timeout=900):
        if first is None and r.WhichOneof("event") == "audio":
            first = time.perf_counter() - t0
    out.append(first)


def round_of(call, target, streams: int, first_seed: int, audio_ms: int) -> list[float]:
    out: list[float] = []
    threads = [threading.Thread(target=call, args=(target, first_seed + k, audio_ms, out)) for k in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--repeats", type=int, default=5, help="rounds per door and concurrency")
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--audio-ms", type=int, default=800, help="audio per request (TTFA needs little)")
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CKPT)
    args = ap.parse_args()
    path = ensure_checkpoint(args.checkpoint)
    server = ServerProcess(path, "--max-batch", str(args.max_batch), metrics=False, http=True).start(
        ready_timeout=900)
    results: dict[int, dict[str, list[float]]] = {}
    try:
        stub = server.stub()
        http_call(server, 99, args.audio_ms, [])  # warm both paths (first-call allocations at this shape)
        grpc_call(stub, 99, args.audio_ms, [])
        for n in args.streams:
            results[n] = {"http": [], "grpc": []}
            for r in range(args.repeats):
                seed = 1000 * n + r * n  # the same seeds through both doors
                results[n]["http"] += round_of(http_call, server, n, seed, args.audio_ms)
                results[n]["grpc"] += round_of(grpc_call, stub, n, seed, args.audio_ms)
    finally:
        server.stop()
    print(f"\n{cpu_model()}, {len(__import__('os').sched_getaffinity(0))} CPUs; {path.name}, max-batch "
          f"{args.max_batch}, {args.audio_ms} ms of audio per request, {args.repeats} rounds per door")
    print("| concurrent streams | HTTP TTFA p50 (s) | gRPC TTFA p50 (s) | HTTP - gRPC at p50 (ms) "
          "| HTTP p95 (s) | gRPC p95 (s) |")
    print("|---|---|---|---|---|---|")
    for n, by in results.items():
        h, g = by["http"], by["grpc"]
        print(f"| {n} | {statistics.median(h):.3f} | {statistics.median(g):.3f} | "
              f"{(statistics.median(h) - statistics.median(g)) * 1000:+.1f} | {percentile(h, 0.95):.3f} | "
              f"{percentile(g, 0.95):.3f} |")
    print(json.dumps({str(n): by for n, by in results.items()}))


if __name__ == "__main__":
    main()
