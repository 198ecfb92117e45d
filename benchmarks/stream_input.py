"""Streaming text input through gRPC or the WebSocket: from a sentence's last token to its first audio, at 1 and 8
concurrent sessions, the real server on the real-0.6B-dimension random checkpoint.

    .venv/bin/python -m benchmarks.stream_input [--sessions 1 8] [--max-batch 8] [--repeats 2] [--door websocket]

Each session writes like an LLM: 4 characters every 30 ms. Its first sentence is complete when the first
character of the next word arrives (the segmenter waits for it, so as not to cut after an abbreviation); the
figure is that moment -> the first audio chunk of the session: segment release, normalization, the prefill of
the segment, one decode step and its codec step, transport. p50/p95 over all sessions of all repeats.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from benchmarks.engine_speed import DEFAULT_CKPT, ensure_checkpoint
from benchmarks.grpc_ttfa import percentile
from qwen3tts.v1 import tts_pb2
from tests.e2e import ServerProcess

FIRST = "The quick brown fox jumps over the lazy dog near the river bank today."
REST = " Then it runs far away into the forest, and nobody sees it again."


def one_session(stub, i: int, out: list[float]) -> None:
    sent = {}
    text = FIRST + REST

    def messages():
        yield tts_pb2.StreamingSynthesizeRequest(config=tts_pb2.SynthesizeRequest(seed=i, max_audio_duration_ms=2000))
        for k in range(0, len(text), 4):
            yield tts_pb2.StreamingSynthesizeRequest(text=text[k:k + 4])
            if "released" not in sent and k + 4 > len(FIRST) + 1:  # the next word's first letter is in
                sent["released"] = time.perf_counter()
            time.sleep(0.03)

    first = None
    for r in stub.StreamingSynthesize(messages(), timeout=600):
        if first is None and r.WhichOneof("event") == "audio":
            first = time.perf_counter()
    out.append(first - sent["released"])


def one_socket(server: ServerProcess, i: int, out: list[float]) -> None:
    """The same session over the WebSocket /v1/audio/speech/stream (pcm, as gRPC's default PCM_S16LE)."""
    text = FIRST + REST
    sent = {}
    with connect(server.ws_url + "/v1/audio/speech/stream", max_size=None, open_timeout=60) as ws:
        ws.send(json.dumps({"type": "session.config", "response_format": "pcm", "seed": i,
                            "max_audio_duration_ms": 2000}))
        assert json.loads(ws.recv(timeout=600))["type"] == "session.started"

        def write() -> None:
            try:
                for k in range(0, len(text), 4):
                    ws.send(json.dumps({"type": "input_text.append", "text": text[k:k + 4]}))
                    if "released" not in sent and k + 4 > len(FIRST) + 1:  # the next word's first letter is in
                        sent["released"] = time.perf_counter()
                    time.sleep(0.03)
                ws.send(json.dumps({"type": "input_text.end"}))
            except ConnectionClosed:  # the session's 2 s of audio ended it first
                pass

        writer = threading.Thread(target=write)
        writer.start()
        first = None
        try:
            for msg in ws:  # to the end: the session closes at its bound (as gRPC's reads to `finished`)
                if first is None and isinstance(msg, bytes):
                    first = time.perf_counter()
        except ConnectionClosed:
            pass
        writer.join()
    out.append(first - sent["released"])


def run(server: ServerProcess, sessions: int, repeats: int, door: str = "grpc") -> list[float]:
    stub = server.stub()
    session = one_session if door == "grpc" else one_socket
    target = stub if door == "grpc" else server
    session(target, 99, [])  # warm the path
    latencies: list[float] = []
    for r in range(repeats):
        threads = [threading.Thread(target=session, args=(target, r * sessions + i, latencies))
                   for i in range(sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--door", choices=["grpc", "websocket"], default="grpc")
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CKPT)
    args = ap.parse_args()
    server = ServerProcess(ensure_checkpoint(args.checkpoint), "--max-batch", str(args.max_batch), metrics=False,
                           http=args.door == "websocket").start(ready_timeout=900)
    try:
        results = {n: run(server, n, args.repeats, args.door) for n in args.sessions}
    finally:
        server.stop()
    print(f"\n{args.checkpoint.name}, streaming input through {args.door}, max-batch {args.max_batch}, "
          f"{args.repeats} repeats")
    print("| concurrent sessions | last token -> first audio p50 (s) | p95 (s) |")
    print("|---|---|---|")
    for n, xs in results.items():
        print(f"| {n} | {percentile(xs, 0.5):.2f} | {percentile(xs, 0.95):.2f} |")
    print(json.dumps({str(n): xs for n, xs in results.items()}))


if __name__ == "__main__":
    main()
