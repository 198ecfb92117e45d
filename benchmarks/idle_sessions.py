"""Idle streaming sessions next to an active one: its time to first audio without and with 200 idle sessions open.

    OMP_WAIT_POLICY=PASSIVE python -m benchmarks.idle_sessions [--idle 200] [--rounds 6] [--per-round 5]
        [--checkpoint DIR]

One real server (`python -m server`, one worker, the real-0.6B random checkpoint by default, `--max-batch 8`,
`--max-sessions` above the idle count, no idle timeout), every session a WebSocket `/v1/audio/speech/stream`. An
idle session sent its session.config, got session.started (it is routed to the worker: a parked sequence, its
codec state set aside) and then sends nothing. Rounds alternate without / with the idle sessions (opened before
the round, closed after it), so that both see the same machine; in each round `per-round` active sessions speak
one after the other: a sentence in one `input_text.append`, then `input_text.end`; the figure is `input_text.end`
sent -> the turn's first audio frame (segment release, normalization, the prefill, one decode step and its codec
step, the socket). 400 ms of audio each (the session's bound). Also counted: decode steps taken while only the
idle sessions were open (the server's `batch_size` histogram count over 3 s), which must be 0.

The issue's target: the idle sessions raise the active session's time to first audio by at most 10 % (p50).
Prints a markdown table and the raw figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from pathlib import Path

import websockets

from benchmarks.engine_speed import DEFAULT_CKPT, ensure_checkpoint
from benchmarks.grpc_ttfa import percentile
from benchmarks.http_ttfa import cpu_model
from tests.e2e import ServerProcess, scrape

TEXT = "The quick brown fox jumps over the lazy dog near the river bank today."
BOUND_MS = 400


def url(server: ServerProcess) -> str:
    return server.ws_url + "/v1/audio/speech/stream"


async def open_session(server: ServerProcess, seed: int):
    ws = await websockets.connect(url(server), max_size=None, open_timeout=60)
    await ws.send(json.dumps({"type": "session.config", "response_format": "pcm", "seed": seed,
                              "max_audio_duration_ms": BOUND_MS}))
    started = json.loads(await ws.recv())
    assert started["type"] == "session.started", started
    return ws


async def active_ttfa(server: ServerProcess, seed: int) -> float:
    """One active session: the sentence, its end, then the time to the turn's first audio frame."""
    ws = await open_session(server, seed)
    try:
        await ws.send(json.dumps({"type": "input_text.append", "text": TEXT}))
        t0 = time.perf_counter()
        await ws.send(json.dumps({"type": "input_text.end"}))
        async for msg in ws:
            if isinstance(msg, bytes):
                return time.perf_counter() - t0
            if json.loads(msg)["type"] in ("error", "turn.done"):
                raise RuntimeError(f"no audio: {msg}")
        raise RuntimeError("closed before any audio")
    finally:
        await ws.close()


async def idle_steps(server: ServerProcess, seconds: float = 3.0) -> float:
    """Decode steps the worker took during `seconds` (its stats reach the metrics every second)."""
    await asyncio.sleep(1.5)  # the last active session's steps are reported
    before = scrape(server).get("qwen3tts_batch_size_count")
    await asyncio.sleep(seconds)
    return scrape(server).get("qwen3tts_batch_size_count") - before


async def run(server: ServerProcess, idle: int, rounds: int, per_round: int) -> dict:
    await active_ttfa(server, 10_000)  # warm the path
    out: dict = {"without": [], "with": [], "idle_steps": []}
    seed = 0
    for r in range(rounds):
        with_idle = r % 2 == 1
        sockets = []
        if with_idle:
            sockets = [await open_session(server, 20_000 + i) for i in range(idle)]
            out["idle_steps"].append(await idle_steps(server))
        for _ in range(per_round):
            seed += 1
            out["with" if with_idle else "without"].append(await active_ttfa(server, seed))
        await asyncio.gather(*(ws.close() for ws in sockets))
        await asyncio.sleep(1.0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--idle", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=6, help="alternating without / with the idle sessions")
    ap.add_argument("--per-round", type=int, default=5)
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CKPT)
    args = ap.parse_args()
    path = ensure_checkpoint(args.checkpoint)
    server = ServerProcess(path, "--max-batch", str(args.max_batch), "--max-sessions", str(args.idle + 16),
                           "--session-idle-timeout", "0", http=True).start(ready_timeout=900)
    try:
        res = asyncio.run(run(server, args.idle, args.rounds, args.per_round))
    finally:
        server.stop()
    p50 = {k: statistics.median(res[k]) for k in ("without", "with")}
    print(f"\n{cpu_model()}, {len(os.sched_getaffinity(0))} CPUs; checkpoint {path.name}, max-batch {args.max_batch}; "
          f"{args.rounds} alternating rounds of {args.per_round} active sessions; WebSocket, pcm, {BOUND_MS} ms each")
    print("| idle sessions open | active TTFA p50 (s) | p95 (s) | n |")
    print("|---|---|---|---|")
    for k, n in (("without", 0), ("with", args.idle)):
        print(f"| {n} | {p50[k]:.3f} | {percentile(res[k], 0.95):.3f} | {len(res[k])} |")
    print(f"\np50 with / without: {p50['with'] / p50['without']:.3f} (target <= 1.10); decode steps while only the "
          f"idle sessions were open (3 s each time): {res['idle_steps']}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
