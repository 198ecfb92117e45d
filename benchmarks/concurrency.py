"""Concurrency sweep: our continuous-batching engine vs the official batched `generate`, same checkpoint, same run.

    .venv/bin/python -m benchmarks.concurrency [--sizes 1 2 4 8 16] [--frames 16] [--dtype float32] [--compile]
        [--quantization none|int8|auto] [--codec-batched]

For each concurrency N, N requests (different texts and speakers, sampling on, EOS banned so lengths are
fixed) arrive together. Ours: an engine with N slots (its static step shape), all requests submitted at once;
time to first frame per request (submit -> first frame out of the engine, codec included), and the steady-state
step time once every request decodes. Oracle: `model.generate` on the batch of N prompts (its own batching:
left-padded prefill, then every step runs all rows); per-step time = (t(frames+2 tokens) - t(2 tokens)) /
frames and time to first frame = t(2 tokens) (every row gets its first frame at the same time; no codec).
Aggregate frames/s = N / step time. The oracle's figure has no codec (it decodes audio only after generate());
ours is given with the streaming codec and without it ("model only", the like-for-like ratio).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from benchmarks.engine_speed import DEFAULT_CKPT, ensure_checkpoint
from contract.request import SynthesisRequest
from tts.engine.loader import load_engine

TEXTS = ["The quick brown fox jumps over the lazy dog.", "Streaming speech should start fast and never click.",
         "Batching many requests shares every decode step.", "A slow reader must never stall the others.",
         "今天天气很好，我们去公园散步吧。", "The worker restarts if it ever gets stuck.",
         "Numbers like 42 and 3.14 are spoken too.", "Every request gets its own random stream."]
SPEAKERS = ["ryan", "vivian", "serena", "aiden", "uncle_fu", "ono_anna", "sohee", "eric"]


def requests(n: int, frames: int) -> list[SynthesisRequest]:
    return [SynthesisRequest(text=TEXTS[i % len(TEXTS)], voice=SPEAKERS[i % len(SPEAKERS)], language="auto",
                             seed=i, max_audio_duration_ms=frames * 80) for i in range(n)]


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def run_ours(path, n: int, frames: int, dtype: str, compile_step: bool, quantization: str = "none",
             codec_batched: bool = False) -> dict:
    engine = load_engine(str(path), slots=n, max_context=256, dtype=dtype, prefill_budget=512,
                         quantization=quantization)
    if codec_batched:
        engine.runner.set_codec_batching("all-slots")
    engine.model.suppress_mask[engine.config.talker.codec_eos_id] = True  # fixed lengths
    if compile_step and not engine.runner.compiled:
        engine.runner.compile()
    for req in requests(n, 3):  # warm-up at this shape
        engine.submit(req)
    while engine.has_work:
        engine.step()
    seqs = [engine.submit(r) for r in requests(n, frames)]
    steady, codec = [], []
    while engine.has_work:
        all_decoding = all(s.first_frame_at is not None for s in seqs)
        t0, c0 = time.perf_counter(), engine.runner.seconds["codec"]
        engine.step()
        if all_decoding:
            steady.append(time.perf_counter() - t0)
            codec.append(engine.runner.seconds["codec"] - c0)
    ttff = [s.first_frame_at - s.submitted_at for s in seqs]
    step, codec_s = statistics.median(steady), statistics.median(codec)
    return {"step_s": step, "frames_per_s": n / step, "model_frames_per_s": n / (step - codec_s),
            "ttff_p50": percentile(ttff, 0.5), "ttff_p95": percentile(ttff, 0.95)}


def run_oracle(oracle, n: int, frames: int) -> dict:
    model = oracle.model
    reqs = requests(n, frames)
    inputs = dict(input_ids=oracle._tokenize_texts([oracle._build_assistant_text(r.text) for r in reqs]),
                  instruct_ids=[None] * n, languages=[r.language for r in reqs], speakers=[r.speaker for r in reqs],
                  non_streaming_mode=True)

    def timed(tokens: int) -> float:
        torch.manual_seed(0)
        t0 = time.perf_counter()
        model.generate(**inputs, **oracle._merge_generate_kwargs(max_new_tokens=tokens))
        return time.perf_counter() - t0

    timed(2)
    first = timed(2)
    step = (timed(frames + 2) - first) / frames
    return {"step_s": step, "frames_per_s": n / step, "ttff_p50": first, "ttff_p95": first}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--quantization", default="none", choices=["none", "int8", "auto"], help="ours only")
    ap.add_argument("--no-oracle", action="store_true")
    ap.add_argument("--codec-batched", action="store_true",
                    help="step the codec over every slot together, as on CUDA, instead of per stream (CPU default)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = ensure_checkpoint(DEFAULT_CKPT)
    ours = {n: run_ours(path, n, args.frames, args.dtype, args.compile, args.quantization, args.codec_batched)
            for n in args.sizes}
    theirs = {}
    if not args.no_oracle:
        from tests.oracle import load_oracle

        oracle = load_oracle(path, dtype=getattr(torch, args.dtype), attn_implementation="sdpa")
        oracle.model.talker.generation_config.bad_words_ids = [[oracle.model.config.talker_config.codec_eos_token_id]]
        theirs = {n: run_oracle(oracle, n, args.frames) for n in args.sizes}
    print(f"\nreal-0.6B dims, {args.dtype}{' compiled' if args.compile else ''}, quantization {args.quantization}, "
          f"codec {'batched over all slots' if args.codec_batched else 'per stream'}, {args.threads} threads, "
          f"{args.frames} frames per request, EOS banned")
    print("| N | ours frames/s (with codec) | ours, model only | oracle frames/s (no codec) | ratio model only | "
          "ours TTFF p50 / p95 (s) | oracle TTFF (s) |")
    print("|---|---|---|---|---|---|---|")
    nan = {"frames_per_s": float("nan"), "ttff_p50": float("nan")}
    for n in args.sizes:
        o, t = ours[n], theirs.get(n, nan)
        print(f"| {n} | {o['frames_per_s']:.2f} | {o['model_frames_per_s']:.2f} | {t['frames_per_s']:.2f} | "
              f"{o['model_frames_per_s'] / t['frames_per_s']:.2f}x | {o['ttff_p50']:.2f} / {o['ttff_p95']:.2f} | "
              f"{t['ttff_p50']:.2f} |")
    print(json.dumps({"ours": ours, "oracle": theirs}))


if __name__ == "__main__":
    main()
