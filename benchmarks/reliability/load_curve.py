"""Load curve: a bounded closed-loop generator ramps concurrency until the admission queue overflows.

    .venv/bin/python -m benchmarks.reliability.load_curve [--levels 1 2 4 8 16 32 64] [--seconds 30]
                                                                                    (make load: ~5 min)

The server (tiny CustomVoice checkpoint, --max-batch 4 --max-queue 8 --queue-timeout 3) is the SLO's shape:
a request waits at most 3 s for a slot, then gets UNAVAILABLE QUEUE_TIMEOUT; beyond 8 waiting, UNAVAILABLE
QUEUE_FULL at once. So an admitted request's time to first audio stays bounded (queue_timeout + the engine's own
TTFA) however many clients push, and overload is shed with RetryInfo instead of queued. Each of N clients sends
requests back to back (2 s of audio each, read to the end); a refused client waits 0.25 s and tries again.

Per level: TTFA p50/p95 of the admitted, frames/s delivered, refusals by reason (every one must carry
RetryInfo), server and worker RSS. Checked: p95 TTFA <= queue_timeout + 3 s at every level, no answer but OK and
UNAVAILABLE, the top level refuses some, RSS of every process within 10 % of the first level's.
Results: out/reliability/load.json and docs/reliability-load.png.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import time

import grpc

from benchmarks.reliability.common import checkpoint, cpu_model, percentile, write_json
from qwen3tts.v1 import tts_pb2, tts_pb2_grpc
from tests.e2e import ROOT, ServerProcess
from tests.reliability import procstat
from tests.reliability.traffic import grpc_stream

MAX_BATCH, MAX_QUEUE, QUEUE_TIMEOUT = 4, 8, 3.0
AUDIO_MS = 2000
TTFA_SLACK_S = 3.0  # the engine's own time to first audio on a busy 2-core machine, on top of the queue bound
TEXTS = ["The quick brown fox jumps over the lazy dog.", "Streaming speech should start fast.",
         "A slow reader must never stall the others.", "Latency is what a caller hears first."]


async def level(stub, clients: int, seconds: float, seed: int) -> dict:
    outcomes = []
    stop_at = time.monotonic() + seconds

    async def client(i: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            req = tts_pb2.SynthesizeRequest(text=TEXTS[(i + n) % len(TEXTS)], seed=seed + i * 1000 + n,
                                            max_audio_duration_ms=AUDIO_MS)
            out = await grpc_stream(stub, req, timeout=120)
            outcomes.append(out)
            if out.code != "OK":
                await asyncio.sleep(0.25)

    t0 = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.monotonic() - t0
    ok = [o for o in outcomes if o.code == "OK"]
    ttfa = [o.ttfa_s for o in ok if o.ttfa_s is not None]
    refused = collections.Counter(f"{o.code}:{o.reason}" for o in outcomes if o.code != "OK")
    return {"clients": clients, "requests": len(outcomes), "ok": len(ok),
            "ttfa_p50_s": percentile(ttfa, 0.5), "ttfa_p95_s": percentile(ttfa, 0.95),
            "frames_per_s": round(sum(o.audio_s for o in ok) / 0.08 / wall, 1), "refused": dict(refused),
            "refused_without_retry_info": sum(1 for o in outcomes if o.code == "UNAVAILABLE" and o.retry_after_s is None),
            "wall_s": round(wall, 1)}


async def main_async(args) -> int:
    server = ServerProcess(checkpoint("tiny"), "--max-batch", str(MAX_BATCH), "--max-queue", str(MAX_QUEUE),
                           "--queue-timeout", str(QUEUE_TIMEOUT))
    server.start()
    rows, problems = [], []
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
            await grpc_stream(stub, tts_pb2.SynthesizeRequest(text="Warm up.", max_audio_duration_ms=800))
            for n in args.levels:
                row = await level(stub, n, args.seconds, seed=n)
                procs = {"server": procstat.usage(server.proc.pid).rss_kb}
                for i, pid in enumerate(procstat.workers(server.proc.pid)):
                    procs[f"worker{i}"] = procstat.usage(pid).rss_kb
                row["rss_kb"] = procs
                rows.append(row)
                print(row, flush=True)
    finally:
        server.stop()
    bound = QUEUE_TIMEOUT + TTFA_SLACK_S
    for r in rows:
        if r["ttfa_p95_s"] is not None and r["ttfa_p95_s"] > bound:
            problems.append(f"{r['clients']} clients: admitted p95 TTFA {r['ttfa_p95_s']:.2f} s > {bound} s")
        other = [k for k in r["refused"] if not k.startswith("UNAVAILABLE")]
        if other:
            problems.append(f"{r['clients']} clients: answers other than OK/UNAVAILABLE: {other}")
        if r["refused_without_retry_info"]:
            problems.append(f"{r['clients']} clients: {r['refused_without_retry_info']} refusals without RetryInfo")
        for proc, kb in r["rss_kb"].items():
            first = rows[0]["rss_kb"].get(proc)
            if first and abs(kb - first) / first > 0.10:
                problems.append(f"{r['clients']} clients: {proc} RSS {kb} kB vs {first} kB at the first level")
    if not rows[-1]["refused"]:
        problems.append("the top level was never refused: the queue did not fill (raise --levels)")
    write_json("load.json", {"cpu": cpu_model(), "command": " ".join(sys.argv), "max_batch": MAX_BATCH,
                             "max_queue": MAX_QUEUE, "queue_timeout_s": QUEUE_TIMEOUT, "audio_ms": AUDIO_MS,
                             "levels": rows, "problems": problems})
    plot(rows, ROOT / "docs" / "reliability-load.png")
    print("LOAD", "FAILED:\n  " + "\n  ".join(problems) if problems else "HELD")
    return 1 if problems else 0


def plot(rows: list[dict], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["clients"] for r in rows]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 4))
    a.plot(x, [r["ttfa_p50_s"] for r in rows], "o-", label="p50")
    a.plot(x, [r["ttfa_p95_s"] for r in rows], "s-", label="p95")
    a.axhline(QUEUE_TIMEOUT + TTFA_SLACK_S, color="red", ls=":", label="bound")
    a.set(xscale="log", xlabel="concurrent clients", ylabel="TTFA of admitted (s)", title="time to first audio")
    a.legend()
    b.plot(x, [r["frames_per_s"] for r in rows], "o-")
    b.set(xscale="log", xlabel="concurrent clients", ylabel="frames/s delivered", title="throughput")
    c.plot(x, [r["ok"] for r in rows], "o-", label="admitted")
    c.plot(x, [sum(r["refused"].values()) for r in rows], "s-", label="refused (UNAVAILABLE)")
    c.set(xscale="log", xlabel="concurrent clients", ylabel="requests per level", title="admitted vs shed")
    c.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    ap.add_argument("--seconds", type=float, default=30.0)
    sys.exit(asyncio.run(main_async(ap.parse_args())))


if __name__ == "__main__":
    main()
