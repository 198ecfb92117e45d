"""What the offline CLI's commands do (argument parsing lives in workers/__main__.py).

Each returns an exit code; errors a user can fix raise the library's exceptions, which the CLI prints as one
line naming the field.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from workers.request import Sampling, SynthesisRequest

REFERENCE_VOICE = "reference"  # the in-memory voice `synth --ref-audio` registers
# Context for a clone prompt: up to 30 s of reference (375 frames) plus its transcript.
REFERENCE_CONTEXT = 375 + 1024


def synth(args: argparse.Namespace) -> int:
    import numpy as np
    import soundfile as sf

    from workers.checkpoint import load_config, resolve
    from workers.engine.engine import Engine, RequestError, max_frames_for_text
    from workers.request import validate

    _threads(args.threads)
    voice = REFERENCE_VOICE if args.ref_audio else args.voice
    req = SynthesisRequest(
        text=args.text, language=args.language, speaker=args.speaker, voice=voice, instruct=args.instruct,
        sampling=Sampling.greedy() if args.greedy else Sampling(), seed=args.seed, max_frames=args.max_frames,
    )
    where = resolve(args.model)
    config = load_config(where.path)
    violations = validate(req, config)  # before spending seconds on loading weights
    if violations:
        raise RequestError(violations)
    # Tokens never exceed UTF-8 bytes: bound the prompt and the default frame cap to size the cache.
    text_bytes = len(req.text.encode())
    prompt_bound = text_bytes + len((req.instruct or "").encode()) + 32 + (REFERENCE_CONTEXT if voice else 0)
    max_frames = req.max_frames or max_frames_for_text(text_bytes)
    context = min(config.talker.max_position_embeddings, max_frames + prompt_bound)
    engine = Engine.load(where, device=args.device, dtype=args.dtype, codec_dtype=args.codec_dtype,
                         slots=args.max_batch, max_context=context, voice_store=args.store)
    if args.ref_audio:
        engine.voices.register(REFERENCE_VOICE, args.ref_audio, ref_text=args.ref_text,
                               x_vector_only=args.x_vector_only, persist=False)
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


def synth_batch(args: argparse.Namespace) -> int:
    from workers.batch_job import JobError, read_requests, run
    from workers.checkpoint import load_config, resolve
    from workers.engine.engine import Engine, max_frames_for_text

    if args.max_batch < 1:
        raise JobError("--max-batch must be >= 1")
    if args.arrival_rate is not None and args.arrival_rate <= 0:
        raise JobError("--arrival-rate must be > 0")
    _threads(args.threads)
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


def register_voice(args: argparse.Namespace) -> int:
    from workers.voices import VoiceRegistry

    _threads(args.threads)
    registry = VoiceRegistry.open(args.model, args.store, device=args.device)
    voice = registry.register(args.name, args.ref_audio, ref_text=args.ref_text, x_vector_only=args.x_vector_only)
    print(json.dumps(voice.describe()))
    return 0


def _threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)
