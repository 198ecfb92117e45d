"""The vox peer, timed the way benchmarks/engine_speed.py times us. Runs in the benchmark-only venv that
`make bench-peers` creates (`.cache/peers-venv`, `pip install vox-tts`); it imports nothing of this project and
nothing of this project imports it.

    .cache/peers-venv/bin/python benchmarks/vox_peer.py --checkpoint DIR --tmod model.tmod [--threads 2]

Method (../shared/reference/cpu-peers.md): same checkpoint (converted by vox's own converter, q8 weights with
bf16 activations), same text, speaker ryan, english, seed 0, sampling on; `chunk_frames=1` so audio streams a
frame at a time; per frame = (t(N+1 frames) - t(1 frame)) / N; first audio = the first chunk's time; the
talker/predictor/codec split from the engine's own per-stage seconds (`Engine.stats()`); N concurrent streams
as N threads with a session each. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

TEXT = "The quick brown fox jumps over the lazy dog, and then it runs far away into the forest."


def convert(checkpoint: Path, tmod: Path) -> None:
    if not tmod.is_file():
        subprocess.run([sys.executable, "-m", "vox", "build", "--model", str(checkpoint), "--dtype", "bf16", "--quant",
                        "q8", "--no-hash", "-o", str(tmod)], check=True)


def main() -> None:
    import vox

    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--tmod", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--streams", type=int, default=4)
    args = ap.parse_args()
    convert(args.checkpoint, args.tmod)
    engine = vox.Engine(str(args.tmod), device="cpu", threads=args.threads,
                        resources=vox.Resources(device="cpu", threads=args.threads, max_sessions=args.streams))
    voice = engine.speaker_voice("ryan")
    params = dict(seed=0, language="english", chunk_frames=1)

    def run(frames: int) -> tuple[float, float, int]:
        """(first chunk s, total s, samples) of one utterance capped at `frames` frames."""
        t0 = time.perf_counter()
        first, samples = None, 0
        for chunk in engine.stream(TEXT, voice, max_frames=frames, **params):
            first = first if first is not None else time.perf_counter() - t0
            samples += len(chunk)
        return first or 0.0, time.perf_counter() - t0, samples

    run(3)  # warm-up
    per_frame, firsts = [], []
    for _ in range(args.repeats):
        f1, t1, _ = run(1)
        _, tn, samples = run(args.frames + 1)
        frames_made = samples / (engine.sample_rate * 0.08)
        per_frame.append((tn - t1) / max(frames_made - 1, 1))
        firsts.append(f1)
    stats = engine.stats()

    made: list[float] = []  # frames each concurrent stream produced

    def stream() -> None:
        made.append(run(args.frames)[2] / (engine.sample_rate * 0.08))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=stream) for _ in range(args.streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    print(json.dumps({
        "engine": f"vox {vox.__version__} q8 (bf16 activations)",
        "s_per_frame": statistics.median(per_frame), "first_audio_s": statistics.median(firsts),
        "single_frames_per_s": 1 / statistics.median(per_frame), "stats": stats,
        "streams": args.streams, "aggregate_frames_per_s": sum(made) / wall,
    }))


if __name__ == "__main__":
    main()
