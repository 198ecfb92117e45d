"""Offline command line: `python -m workers synth ...` (no server).

Errors a user can fix (bad arguments, unusable checkpoints) print one line naming the problem and exit 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from workers.checkpoint import CheckpointError
from workers.request import Sampling, SynthesisRequest

EXIT_USAGE = 2


def _synth_parser(sub) -> None:
    p = sub.add_parser("synth", help="synthesise one utterance to a WAV file")
    p.add_argument("--model", required=True, help="checkpoint directory or hub id")
    p.add_argument("--text", required=True)
    p.add_argument("--language", default="auto")
    p.add_argument("--speaker", default=None, help="built-in speaker (CustomVoice checkpoints)")
    p.add_argument("--instruct", default=None, help="style instruction (1.7B CustomVoice) or voice description (VoiceDesign)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--greedy", action="store_true", help="deterministic decoding (do_sample=False)")
    mode.add_argument("--seed", type=int, default=None, help="seed of this request's random stream")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many 80 ms frames")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"], help="talker dtype")
    p.add_argument("--codec-dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out", required=True, help="output WAV (24 kHz mono float32)")
    p.add_argument("--codes-out", default=None, help="also write the codes as int64 .npy [frames, 16]")


def _synth(args: argparse.Namespace) -> int:
    import numpy as np
    import soundfile as sf
    import torch

    from workers.checkpoint import load_config, resolve
    from workers.engine.engine import Engine, RequestError, max_frames_for_text
    from workers.request import validate

    if args.threads:
        torch.set_num_threads(args.threads)
    req = SynthesisRequest(
        text=args.text, language=args.language, speaker=args.speaker, instruct=args.instruct,
        sampling=Sampling.greedy() if args.greedy else Sampling(), seed=args.seed, max_frames=args.max_frames,
    )
    where = resolve(args.model)
    config = load_config(where.path)
    violations = validate(req, config)  # before spending seconds on loading weights
    if violations:
        raise RequestError(violations)
    # Tokens never exceed UTF-8 bytes: bound the prompt and the default frame cap to size the cache.
    text_bytes = len(req.text.encode())
    prompt_bound = text_bytes + len((req.instruct or "").encode()) + 32
    max_frames = req.max_frames or max_frames_for_text(text_bytes)
    context = min(config.talker.max_position_embeddings, max_frames + prompt_bound)
    engine = Engine.load(where, device=args.device, dtype=args.dtype, codec_dtype=args.codec_dtype, slots=1,
                         max_context=context)
    t0 = time.perf_counter()
    result = engine.synthesize(req)
    took = time.perf_counter() - t0
    sf.write(args.out, result.pcm, result.sample_rate, subtype="FLOAT")
    if args.codes_out:
        np.save(args.codes_out, result.codes.astype(np.int64))
    audio_s = len(result.pcm) / result.sample_rate
    print(f"wrote {args.out}: {len(result.codes)} frames, {audio_s:.2f} s of audio in {took:.2f} s "
          f"(seed {result.seed}, {result.finish_reason.value})", file=sys.stderr)
    return 0


def _batch_parser(sub) -> None:
    p = sub.add_parser("synth-batch", help="many requests (JSONL) through the continuous batcher")
    p.add_argument("--model", required=True, help="checkpoint directory or hub id")
    p.add_argument("--requests", required=True, help="JSONL: id, text, language, speaker, instruct, seed, greedy, "
                   "max_frames per line")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--max-batch", type=int, default=8, help="concurrent sequences (engine slots)")
    p.add_argument("--arrival-rate", type=float, default=None, help="Poisson arrivals, requests per second")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"], help="talker dtype")
    p.add_argument("--codec-dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")


def _synth_batch(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    import torch

    from workers.batch_job import read_requests, run
    from workers.checkpoint import load_config, resolve
    from workers.engine.engine import Engine, max_frames_for_text

    if args.max_batch < 1:
        raise CheckpointError("--max-batch must be >= 1")
    if args.arrival_rate is not None and args.arrival_rate <= 0:
        raise CheckpointError("--arrival-rate must be > 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    where = resolve(args.model)
    config = load_config(where.path)
    job = read_requests(Path(args.requests), config)
    # Size each slot's cache for the largest request (tokens never exceed UTF-8 bytes).
    context = max(len(r.text.encode()) + len((r.instruct or "").encode()) + 32
                  + (r.max_frames or max_frames_for_text(len(r.text.encode()))) for r in job.requests)
    engine = Engine.load(where, device=args.device, dtype=args.dtype, codec_dtype=args.codec_dtype,
                         slots=args.max_batch, max_context=min(context, config.talker.max_position_embeddings))
    print(json.dumps(run(engine, job, Path(args.out_dir), args.arrival_rate)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _synth_parser(sub)
    _batch_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from workers.batch_job import JobError
    from workers.engine.engine import RequestError

    try:
        return {"synth": _synth, "synth-batch": _synth_batch}[args.command](args)
    except (RequestError, CheckpointError, JobError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
