"""Time to first audio through the HTTP API vs gRPC, on one server, at 1 and 8 concurrent streams.

    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.http_ttfa [--streams 1 8] [--repeats 5] [--checkpoint DIR]

One real server (`python -m server`, a real worker, the real-0.6B random checkpoint by default, max-batch 8)
serves both doors. Rounds alternate the doors (HTTP, gRPC, HTTP, ...) so that both see the same machine state; a
round starts `streams` requests at once through one door, with the same texts and seeds for both doors.

Two figures per request:
- TTFA as the client sees it: from just before the request is sent to its first audio. HTTP: the first body
  bytes of `POST /v1/audio/speech` with response_format=pcm, a new connection per request, the standard
  library's http.client (no SDK overhead); gRPC: the first `audio` message.
- the door's own cost: that TTFA minus the server's TTFA of the same request (its `request.finished` log line,
  matched by x-request-id: request received -> first chunk encoded, the engine's part). What is left is the
  door: connection, parsing, headers, writing, and the client library. Engine noise (scheduling, prefill order,
  other processes on the CPU) is in both terms and cancels out, so this isolates what HTTP adds.
Prints a markdown table and the raw figures as JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
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


def http_call(server: ServerProcess, i: int, audio_ms: int, request_id: str) -> float:
    body = json.dumps({"model": "tts-1", "input": TEXTS[i % len(TEXTS)], "voice": VOICE, "response_format": "pcm",
                       "seed": i, "max_audio_duration_ms": audio_ms})
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=900)
    conn.request("POST", "/v1/audio/speech", body, {"content-type": "application/json", "x-request-id": request_id})
    r = conn.getresponse()
    assert r.status == 200, (r.status, r.read()[:300])
    first = r.read1(65536)
    ttfa = time.perf_counter() - t0
    assert first
    while r.read1(65536):
        pass
    conn.close()
    return ttfa


def grpc_call(stub, i: int, audio_ms: int, request_id: str) -> float:
    req = tts_pb2.SynthesizeRequest(text=TEXTS[i % len(TEXTS)], voice=VOICE, seed=i, max_audio_duration_ms=audio_ms)
    t0 = time.perf_counter()
    first = None
    for r in stub.Synthesize(req, timeout=900, metadata=(("x-request-id", request_id),)):
        if first is None and r.WhichOneof("event") == "audio":
            first = time.perf_counter() - t0
    assert first is not None
    return first


def round_of(call, target, door: str, streams: int, first_seed: int, audio_ms: int, out: dict[str, float],
             failures: list[str]) -> None:
    """`streams` calls at once; their client TTFAs into `out` by request id."""

    def one(seed: int) -> None:
        request_id = f"bench-{door}-{streams}-{seed}"
        try:
            out[request_id] = call(target, seed, audio_ms, request_id)
        except Exception as e:  # noqa: BLE001 - a failed call is reported, not a crash of the benchmark
            failures.append(f"{door}: {str(e)[:200]}")

    threads = [threading.Thread(target=one, args=(first_seed + k,)) for k in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


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
    ap.add_argument("--audio-ms", type=int, default=400, help="audio per request (TTFA needs little)")
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CKPT)
    args = ap.parse_args()
    path = ensure_checkpoint(args.checkpoint)
    # Passive OpenMP waiting: with the default spin-wait, torch's threads stall each other on a shared 2-core
    # machine (tests/conftest.py has the story); an explicit setting is respected.
    env = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    server = ServerProcess(path, "--max-batch", str(args.max_batch), metrics=False, http=True, env=env).start(
        ready_timeout=900)
    client: dict[int, dict[str, dict[str, float]]] = {}  # streams -> door -> request id -> client TTFA
    failures: list[str] = []
    try:
        stub = server.stub()
        http_call(server, 99, args.audio_ms, "warm-http")  # first-call allocations at this shape, both paths
        grpc_call(stub, 99, args.audio_ms, "warm-grpc")
        for n in args.streams:
            client[n] = {"http": {}, "grpc": {}}
            for r in range(args.repeats):
                seed = 1000 * n + r * n  # the same seeds through both doors
                round_of(http_call, server, "http", n, seed, args.audio_ms, client[n]["http"], failures)
                round_of(grpc_call, stub, "grpc", n, seed, args.audio_ms, client[n]["grpc"], failures)
        time.sleep(1.0)  # the last request.finished lines
    finally:
        server.stop()
    server_ttfa = {e["request_id"]: e["time_to_first_audio_s"] for e in server.events("request.finished")}
    print(f"\n{cpu_model()}, {len(os.sched_getaffinity(0))} CPUs (shared); checkpoint {path.name}, max-batch "
          f"{args.max_batch}, {args.audio_ms} ms of audio per request, {args.repeats} rounds per door")
    print("| streams | door | client TTFA p50 (s) | p95 (s) | the door's own cost p50 (ms) | p95 (ms) |")
    print("|---|---|---|---|---|---|")
    raw: dict[str, dict] = {}
    for n, doors in client.items():
        cost_p50 = {}
        for door, by_id in doors.items():
            ttfa = list(by_id.values())
            cost = [(t - server_ttfa[i]) * 1000 for i, t in by_id.items() if i in server_ttfa]
            raw[f"{n}-{door}"] = {"ttfa_s": ttfa, "door_ms": cost}
            if not ttfa or not cost:
                print(f"| {n} | {door} | n/a | | | |")
                continue
            cost_p50[door] = statistics.median(cost)
            print(f"| {n} | {door} | {statistics.median(ttfa):.3f} | {percentile(ttfa, 0.95):.3f} | "
                  f"{cost_p50[door]:.1f} | {percentile(cost, 0.95):.1f} |")
        if len(cost_p50) == 2:
            print(f"| {n} | HTTP - gRPC | {statistics.median(doors['http'].values()) - statistics.median(doors['grpc'].values()):+.3f} "
                  f"| | {cost_p50['http'] - cost_p50['grpc']:+.1f} | |")
    if failures:
        print(f"{len(failures)} calls failed (left out of the figures), e.g. {failures[0]}")
    print(json.dumps(raw))


if __name__ == "__main__":
    main()
