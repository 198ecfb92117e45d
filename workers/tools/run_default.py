"""`make run`: synthesise a sample with the default model, or with the built-in random checkpoint when the
hub cannot be reached (and say plainly that its audio is noise).

    python -m workers.tools.run_default --model Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice --fallback .cache/checkpoints/tiny
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workers.__main__ import main as workers_main
from workers.checkpoint import CheckpointError, load_config, resolve

NOISE_WARNING = """
*** No real weights: {reason}
*** Using the built-in RANDOM-WEIGHT checkpoint at {fallback} -- its audio is noise.
*** For real speech run on a machine that can reach huggingface.co, or download a checkpoint elsewhere
*** (huggingface-cli download Qwen/Qwen3-TTS-12Hz-0.6B-CustomVoice --local-dir DIR) and run: make run MODEL=DIR
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--fallback", required=True, type=Path)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default="out/hello.wav")
    args = p.parse_args(argv)
    model = args.model
    try:
        resolve(model)
    except CheckpointError as e:
        print(NOISE_WARNING.format(reason=e, fallback=args.fallback), file=sys.stderr)
        model = str(args.fallback)
    config = load_config(resolve(model).path)
    speaker = config.speakers[0] if config.speakers else None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cmd = ["synth", "--model", model, "--text", "Hello! This is Qwen3-TTS speaking.", "--language", "english",
           "--seed", "7", "--max-frames", "100", "--out", args.out]
    if speaker:
        cmd += ["--speaker", speaker]
    if config.model_type == "voice_design":
        cmd += ["--instruct", "A clear, friendly voice."]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    return workers_main(cmd)


if __name__ == "__main__":
    sys.exit(main())
