"""Soak: does the server hold for long? Two phases, each on its own fresh server, sampled every 10 s.

    .venv/bin/python -m benchmarks.reliability.soak [--minutes 10] [--interval 10]     (make soak: ~23 min)

1. single: one Synthesize stream that lasts `--minutes`, read at real-time pace (a live listener), on the tiny
   CustomVoice checkpoint. On a busy machine the model can be slower than real time, so a 15 s calibration stream
   first measures audio seconds per wall second and the stream asks for the audio that fills `--minutes`
   (at most `--minutes` of audio). It must end OK with all its audio.
2. mixed: `--minutes` of 8 concurrent streams on the tiny Base checkpoint (voice cloning): random texts and
   lengths, all three doors (gRPC 1/2, HTTP 1/4, the WebSocket's streaming text in 1/4), read to the end,
   cancelled (a WebSocket barge-in), dropped (the connection closed mid-stream) or read at real-time pace; and a voice registered and deleted every 5 s.

Checked at the end (the exit status says whether all held): RSS, open fds and threads of the server and of every
worker grow < 5 % between the first and the last 3 samples after warm-up (the first 20 %; fds and threads may
also differ by <= 2); no answer is INTERNAL or UNKNOWN; no worker restarted; once the load stops the running,
paused and waiting gauges return to 0 and every decode slot (with its KV-cache rows) is free again.
Results: out/reliability/soak.json and docs/reliability-soak.png.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import sys
import time

import grpc
import httpx2 as httpx

from benchmarks.reliability.common import OUT, Sampler, checkpoint, cpu_model, growth, write_json
from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from tests.e2e import LONG_TEXT, ROOT, ServerProcess, scrape
from tests.reliability.traffic import Outcome, grpc_stream, http_stream, wav, websocket_stream

MAX_BATCH = 8
STREAMS = 8
WORDS = ("the quick brown fox jumps over a lazy dog while streaming speech keeps every listener waiting for "
         "nothing at all because each frame arrives in time").split()
BAD = {"INTERNAL", "UNKNOWN"}


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))).capitalize() + "."


def check_growth(samples, warmup_s: float) -> tuple[dict, list[str]]:
    figures, problems = {}, []
    procs = sorted({p for s in samples for p in s.procs})
    for proc in procs:
        for key in ("rss_kb", "fds", "threads"):
            g = growth(samples, proc, key, warmup_s)
            figures[f"{proc}.{key}"] = g
            if g["growth"] is None:
                problems.append(f"{proc}.{key}: too few samples after warm-up")
            elif g["growth"] >= 0.05 and not (key != "rss_kb" and g["end"] - g["after_warmup"] <= 2):
                problems.append(f"{proc}.{key} grew {g['growth']:.1%} ({g['after_warmup']} -> {g['end']})")
    return figures, problems


async def settle(server: ServerProcess, slots: int, timeout: float = 60) -> tuple[dict, list[str]]:
    """Once the load stops: the gauges back to 0 and every slot free (the stats export runs every second)."""
    deadline = time.monotonic() + timeout
    while True:
        s = await asyncio.to_thread(scrape, server)
        g = {"running": s.get("qwen3tts_requests_running"), "paused": s.get("qwen3tts_requests_paused"),
             "waiting": s.total("qwen3tts_requests_waiting"), "free_slots": s.total("qwen3tts_worker_free_slots"),
             "restarts": s.total("qwen3tts_worker_restarts_total")}
        if (g["running"], g["paused"], g["waiting"], g["free_slots"]) == (0, 0, 0, slots) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    problems = [f"{k} = {g[k]} after the load" for k in ("running", "paused", "waiting") if g[k] != 0]
    if g["free_slots"] != slots:
        problems.append(f"free slots = {g['free_slots']} of {slots} after the load (a slot or its KV rows leaked)")
    if g["restarts"]:
        problems.append(f"{g['restarts']} worker restarts")
    return g, problems


async def single(minutes: float, interval: float) -> dict:
    server = ServerProcess(checkpoint("tiny"), "--max-batch", str(MAX_BATCH), "--max-audio-seconds",
                           str(int(minutes * 60) + 60), "--max-text-chars", "100000")
    server.start()
    try:
        sampler = Sampler(server, interval)
        sampler.phase = "single"
        sampling = asyncio.ensure_future(sampler.run())
        # LONG_TEXT with LONG_SEED runs to its frame cap on the tiny checkpoint; repeated, the text's runaway
        # guard outlasts the duration bound, which ends the stream exactly at `want_s`.
        text = LONG_TEXT * max(3, int(minutes / 3) + 1)
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
            calibration = await grpc_stream(stub, tts_pb2.SynthesizeRequest(text=text, seed=0,
                                                                              max_audio_duration_ms=15_000))
            speed = calibration.audio_s / calibration.wall_s
            want_s = round(minutes * 60 * min(1.0, 0.9 * speed))
            print(f"single: {speed:.2f} audio s per wall s: asking for {want_s} s of audio", flush=True)
            req = tts_pb2.SynthesizeRequest(text=text, seed=0, max_audio_duration_ms=int(want_s * 1000))
            out = await grpc_stream(stub, req, realtime=True, timeout=minutes * 60 * 3 + 300)
        await asyncio.sleep(interval)  # one more sample, idle
        sampling.cancel()
        gauges, problems = await settle(server, MAX_BATCH)
        figures, growth_problems = check_growth(sampler.samples, 0.2 * minutes * 60)
        problems += growth_problems
        if out.code != "OK" or out.audio_s < want_s - 0.1:
            problems.append(f"the stream ended {out.code} after {out.audio_s:.1f} s of audio (wanted {want_s:.0f})")
        return {"stream": out, "audio_per_wall_s": round(speed, 3), "gauges_after": gauges, "growth": figures, "problems": problems,
                "samples": sampler.samples}
    finally:
        server.stop()


async def mixed(minutes: float, interval: float, seed: int) -> dict:
    store = OUT / "soak-voices"
    server = ServerProcess(checkpoint("tiny-base"), "--max-batch", str(MAX_BATCH), "--voice-store", str(store),
                           "--max-queue", "64", http=True)
    import shutil

    shutil.rmtree(store, ignore_errors=True)
    server.start()
    counts: collections.Counter = collections.Counter()
    endings: collections.Counter = collections.Counter()
    voice_ops: collections.Counter = collections.Counter()
    bad: list[str] = []
    try:
        sampler = Sampler(server, interval)
        sampler.phase = "mixed"
        reference = wav(3.0)
        async with grpc.aio.insecure_channel(server.address) as channel, \
                httpx.AsyncClient(base_url=server.http_url, timeout=120) as http:
            stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
            await stub.RegisterVoice(tts_pb2.RegisterVoiceRequest(name="soak", reference_audio=reference,
                                                                  x_vector_only=True), timeout=120)
            sampling = asyncio.ensure_future(sampler.run())
            stop_at = time.monotonic() + minutes * 60

            async def streams(i: int) -> None:
                r = random.Random(seed * 100 + i)
                while time.monotonic() < stop_at:
                    text = " ".join(sentence(r) for _ in range(r.randint(1, 4)))
                    max_ms = r.randint(800, 15000)
                    roll = r.random()
                    cancel_after = r.uniform(0.2, 3.0) if 0.65 <= roll < 0.8 else None
                    door = r.random()
                    if door < 0.25:
                        body = {"input": text, "voice": "soak", "response_format": "pcm", "seed": r.randint(0, 1 << 30),
                                "max_audio_duration_ms": max_ms}
                        out = await http_stream(http, body, cancel_after_s=cancel_after if roll < 0.9 else 0.3)
                    elif door < 0.5:
                        config = {"voice": "soak", "seed": r.randint(0, 1 << 30), "max_audio_duration_ms": max_ms}
                        out = await websocket_stream(server.ws_url + "/v1/audio/speech/stream", config, text,
                                                     cancel_after_s=cancel_after,
                                                     drop_after_s=r.uniform(0.05, 1.5) if 0.8 <= roll < 0.9 else None)
                    else:
                        req = tts_pb2.SynthesizeRequest(text=text, voice="soak", max_audio_duration_ms=max_ms,
                                                        seed=r.randint(0, 1 << 30))
                        if 0.8 <= roll < 0.9:  # a client that drops its connection mid-stream
                            own = grpc.aio.insecure_channel(server.address)
                            task = asyncio.ensure_future(grpc_stream(tts_pb2_grpc.TextToSpeechServiceStub(own), req))
                            await asyncio.sleep(r.uniform(0.05, 1.5))
                            await own.close(grace=None)
                            try:
                                out = await task
                            except asyncio.CancelledError:  # grpc.aio's way to end a call whose channel closed
                                out = Outcome("grpc", "CANCELLED")
                            out.ended_by = "disconnect"
                        else:
                            out = await grpc_stream(stub, req, realtime=roll >= 0.9, cancel_after_s=cancel_after)
                    counts[f"{out.door}:{out.code}"] += 1
                    endings[out.ended_by] += 1
                    if out.code in BAD or out.code.startswith("HTTP_"):
                        bad.append(f"{out.door} {out.code} {out.reason}")

            async def registrations() -> None:
                n = 0
                while time.monotonic() < stop_at:
                    n += 1
                    name = f"tmp-{n}"
                    register = tts_pb2.RegisterVoiceRequest(name=name, reference_audio=reference, x_vector_only=True)
                    for op, method, message in (("register", stub.RegisterVoice, register),
                                                ("delete", stub.DeleteVoice, tts_pb2.DeleteVoiceRequest(name=name))):
                        try:
                            await method(message, timeout=120)
                            voice_ops[f"{op}:OK"] += 1
                        except grpc.aio.AioRpcError as e:
                            voice_ops[f"{op}:{e.code().name}"] += 1
                            if e.code().name in BAD:
                                bad.append(f"{op} {e.code().name}")
                    await asyncio.sleep(5)

            await asyncio.gather(*(streams(i) for i in range(STREAMS)), registrations())
        await asyncio.sleep(interval)
        sampler.take()
        sampling.cancel()
        gauges, problems = await settle(server, MAX_BATCH)
        figures, growth_problems = check_growth(sampler.samples, 0.2 * minutes * 60)
        problems += growth_problems + bad[:20]
        leftovers = sorted(p.name for p in store.iterdir() if p.name != "soak")
        if leftovers:
            problems.append(f"voice store holds more than the one kept voice: {leftovers}")
        return {"answers": dict(counts), "endings": dict(endings), "voice_ops": dict(voice_ops),
                "gauges_after": gauges, "growth": figures, "problems": problems, "samples": sampler.samples}
    finally:
        server.stop()


def plot(results: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    phases = [p for p in ("single", "mixed") if p in results]
    fig, axes = plt.subplots(2, len(phases), figsize=(6.5 * len(phases), 6.5), squeeze=False)
    for col, phase in enumerate(phases):
        samples = results[phase]["samples"]
        procs = sorted({p for s in samples for p in s.procs})
        for proc in procs:
            ts = [s.t / 60 for s in samples if proc in s.procs]
            axes[0][col].plot(ts, [s.procs[proc]["rss_kb"] / 1024 for s in samples if proc in s.procs], label=proc)
            axes[1][col].plot(ts, [s.procs[proc]["fds"] for s in samples if proc in s.procs], label=f"{proc} fds")
            axes[1][col].plot(ts, [s.procs[proc]["threads"] for s in samples if proc in s.procs], "--",
                              label=f"{proc} threads")
        axes[0][col].set_title(f"soak: {phase}")
        axes[0][col].set_ylabel("RSS (MiB)")
        axes[1][col].set_ylabel("count")
        axes[1][col].set_xlabel("minutes")
        axes[0][col].set_ylim(bottom=0)
        axes[1][col].set_ylim(bottom=0)
        axes[0][col].legend(fontsize=7)
        axes[1][col].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


async def main_async(args) -> int:
    results: dict = {"cpu": cpu_model(), "minutes": args.minutes, "interval_s": args.interval,
                     "command": " ".join(sys.argv)}
    t0 = time.monotonic()
    if args.phase in ("all", "single"):
        results["single"] = await single(args.minutes, args.interval)
        print("single:", results["single"]["problems"] or "held", flush=True)
    if args.phase in ("all", "mixed"):
        results["mixed"] = await mixed(args.minutes, args.interval, args.seed)
        print("mixed:", results["mixed"]["answers"], results["mixed"]["problems"] or "held", flush=True)
    results["wall_s"] = round(time.monotonic() - t0)
    write_json("soak.json", results)
    plot(results, ROOT / "docs" / args.plot)
    problems = [f"{p}: {x}" for p in ("single", "mixed") if p in results for x in results[p]["problems"]]
    for p in ("single", "mixed"):
        if p in results:
            for k, g in results[p]["growth"].items():
                print(f"{p:6s} {k:18s} {g}")
    print("SOAK", "FAILED:\n  " + "\n  ".join(problems) if problems else "HELD", f"({results['wall_s']} s)")
    return 1 if problems else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--phase", choices=("all", "single", "mixed"), default="all")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--plot", default="reliability-soak.png")
    sys.exit(asyncio.run(main_async(ap.parse_args())))


if __name__ == "__main__":
    main()
