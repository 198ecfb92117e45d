"""Time to first audio against text length: 100, 1,000 and 10,000 characters, through the text front end and an
in-process engine, on the real-0.6B-dimension random checkpoint (float32, one slot, 2 threads by default).

    .venv/bin/python -m benchmarks.long_text [--threads 2] [--checkpoint DIR]

Each text is planned (segmentation + normalization, timed apart) and submitted; time to first audio is submit ->
first frame (prefill of the first segment + one decode step + its codec step). A long text is spoken in
segments, so only its first segment's prefill stands before the first frame: the figure should not grow with
the text. Medians of 3 runs; the CPU model is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import torch

from benchmarks.engine_speed import DEFAULT_CKPT, ensure_checkpoint
from contract.request import SynthesisRequest
from contract.rules import resolve
from server.text.plan import plan
from tts.engine.loader import load_engine, warm_up

PARAGRAPH = ("On March 3rd, 2025, the committee met at 14:30 and approved a budget of $1,250,000 for the new "
             "library, which will open in spring. Dr. Smith said the building, 42 m long, would hold 10,000 books; "
             "others, e.g. the mayor, asked for more (at least 15%). ")


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--checkpoint", type=Path, default=DEFAULT_CKPT)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    engine = load_engine(str(ensure_checkpoint(args.checkpoint)), slots=1, max_context=2048)
    warm_up(engine)
    engine.model.suppress_mask[engine.config.talker.codec_eos_id] = True
    caps = engine.capabilities
    results = []
    for length in (100, 1_000, 10_000):
        text = (PARAGRAPH * (length // len(PARAGRAPH) + 1))[:length]
        plans, ttfas = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            req = plan(resolve(SynthesisRequest(text=text, voice="ryan", language="english", seed=0), caps))
            plans.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            seq = engine.submit(req)
            frames = engine.run([seq])
            next(frames)
            ttfas.append(time.perf_counter() - t0)
            frames.close()
        results.append({"characters": length, "segments": len(req.segments),
                        "first_segment_characters": len(req.segments[0].text),
                        "plan_ms": round(1000 * statistics.median(plans), 1),
                        "time_to_first_audio_ms": round(1000 * statistics.median(ttfas), 1)})
    print(json.dumps({"cpu": cpu_model(), "threads": args.threads, "results": results}, indent=1))


if __name__ == "__main__":
    main()
