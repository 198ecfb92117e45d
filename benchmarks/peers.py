"""Our precision modes side by side with the vox CPU engine (`make bench-peers`), one engine at a time.

    .venv/bin/python -m benchmarks.peers [--modes none int8 auto] [--peer-python .cache/peers-venv/bin/python]

Each engine runs in its own process under `taskset -c 0,1` with 2 threads, on the same real-0.6B random
checkpoint and the same text (../shared/reference/cpu-peers.md's method): ours through benchmarks/engine_speed.py
(talker + predictor per frame, codec per frame, first audio and its split) and benchmarks/concurrency.py (4
concurrent streams against 1), vox through benchmarks/vox_peer.py in the benchmark-only venv (never imported
here). Prints a markdown table with the CPU and the bandwidth measured in the same run. OpenMP threads wait
as the server's workers let them (`--omp-wait-policy default`) unless `passive` is asked for.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.engine_speed import DEFAULT_CKPT, cpu_model, ensure_checkpoint, measure_bandwidth

PINNED = ["taskset", "-c", "0,1"]
ENV = dict(os.environ)


def _last_json(cmd: list[str]) -> dict:
    print("+", " ".join(cmd), flush=True)
    out = subprocess.run(PINNED + cmd, env=ENV, check=True, capture_output=True, text=True).stdout
    print(out, flush=True)
    return json.loads(next(line for line in reversed(out.splitlines()) if line.startswith("{")))


def ours(mode: str, frames: int, threads: int) -> dict:
    """none: the exact float32 reference, eager (its whole-step compile takes minutes and gains ~15 %); int8:
    int8 weights, compiled regions, float32 codec; auto: what auto picks here (compiled)."""
    extra = ["--compile"] if mode == "int8" else []
    return _last_json([sys.executable, "-m", "benchmarks.engine_speed", "--no-oracle", "--frames", str(frames),
                       "--threads", str(threads), "--quantization", mode, *extra])["ours"]


def ours_streams(streams: int, frames: int, threads: int) -> dict:
    got = _last_json([sys.executable, "-m", "benchmarks.concurrency", "--no-oracle", "--sizes", "1", str(streams),
                      "--frames", str(frames), "--threads", str(threads), "--quantization", "auto"])["ours"]
    return {"single": got["1"]["frames_per_s"], "aggregate": got[str(streams)]["frames_per_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=DEFAULT_CKPT)
    ap.add_argument("--modes", nargs="+", default=["none", "auto"], choices=["none", "int8", "auto"])
    ap.add_argument("--peer-python", type=Path, default=Path(".cache/peers-venv/bin/python"))
    ap.add_argument("--tmod", type=Path, default=Path(".cache/peers/real-0.6b-cv-q8.tmod"))
    ap.add_argument("--frames", type=int, default=25)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--omp-wait-policy", choices=["default", "passive"], default="default",
                    help="default: OpenMP threads spin briefly between parallel regions, as the server's workers "
                         "run; passive: they sleep at once (what the test suite sets)")
    args = ap.parse_args()
    ENV.pop("OMP_WAIT_POLICY", None)
    if args.omp_wait_policy == "passive":
        ENV["OMP_WAIT_POLICY"] = "PASSIVE"
    path = ensure_checkpoint(args.checkpoint)
    bandwidth = measure_bandwidth()
    rows = {}
    for mode in args.modes:
        rows[f"ours {mode}"] = ours(mode, args.frames, args.threads)
    streams = ours_streams(args.streams, 16, args.threads)
    peer = None
    if args.peer_python.is_file():
        args.tmod.parent.mkdir(parents=True, exist_ok=True)
        peer = _last_json([str(args.peer_python), "benchmarks/vox_peer.py", "--checkpoint", str(path), "--tmod",
                           str(args.tmod), "--threads", str(args.threads), "--frames", str(args.frames),
                           "--streams", str(args.streams)])
    print(f"\nCPU: {cpu_model()}; memory bandwidth {bandwidth:.1f} GB/s (1 GB float32 sum); {args.threads} threads, "
          f"taskset -c 0,1, OpenMP wait policy {args.omp_wait_policy}, one engine at a time")
    print("| engine / mode | first audio | talker + predictor per frame | codec per frame | total per 80 ms frame |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        total = r["s_per_frame"] + r["codec_s_per_frame"]
        print(f"| {name} | {r['first_audio_s'] * 1e3:.0f} ms | {r['s_per_frame'] * 1e3:.0f} ms | "
              f"{r['codec_s_per_frame'] * 1e3:.0f} ms | {total * 1e3:.0f} ms |")
    if peer is not None:  # vox's own per-stage split (Engine.stats(), averaged over everything it ran)
        ms = peer.get("stats", {}).get("backend", {}).get("ms_per_frame", {})
        lm = ms.get("talker", float("nan")) + ms.get("predictor", float("nan"))
        print(f"| {peer['engine']} | {peer['first_audio_s'] * 1e3:.0f} ms | {lm:.0f} ms (its stats) | "
              f"{ms.get('codec', float('nan')):.0f} ms (its stats) | {peer['s_per_frame'] * 1e3:.0f} ms |")
    print(f"\n{args.streams} concurrent streams, ours auto: {streams['aggregate']:.2f} frames/s in total vs "
          f"{streams['single']:.2f} for one stream ({streams['aggregate'] / streams['single']:.2f}x)")
    if peer is not None:
        print(f"{args.streams} concurrent streams, vox: {peer['aggregate_frames_per_s']:.2f} frames/s in total vs "
              f"{peer['single_frames_per_s']:.2f} for one ({peer['aggregate_frames_per_s'] / peer['single_frames_per_s']:.2f}x)")
    print(json.dumps({"bandwidth_gb_s": bandwidth, "ours": rows, "ours_streams": streams, "vox": peer}))


if __name__ == "__main__":
    main()
